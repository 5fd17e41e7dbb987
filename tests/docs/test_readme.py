"""The README's quickstart runs as written against the running stack (the
block between its quickstart markers, in strict bash), and stays
short."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCK = re.compile(r"<!-- quickstart:start -->\n```sh\n(.*?)```\n<!-- quickstart:end -->",
                   re.DOTALL)


def quickstart() -> str:
    found = BLOCK.search(README.read_text())
    assert found, "README.md has no quickstart block"
    return found.group(1)


def test_quickstart_is_short() -> None:
    assert len(quickstart().splitlines()) <= 20
    assert len(README.read_text().splitlines()) <= 130


def test_quickstart_runs_as_written(edge_url: str, stack_env: dict[str, str]) -> None:
    # Strict bash: any failing line (curl --fail-with-body) fails the test.
    script = "set -euo pipefail\n" + quickstart()
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home()),
           "EDGE_PORT": edge_url.rsplit(":", 1)[1],
           "USERS_PORT": stack_env["USERS_ADDR"].rsplit(":", 1)[1]}
    if "TWITTER_CACHE" in os.environ:
        env["TWITTER_CACHE"] = os.environ["TWITTER_CACHE"]
    run = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    created, posted, timeline, search = json_documents(run.stdout)[:4]
    assert created["user"]["username"].startswith("alice")
    assert posted["tweet"]["content"] == "hello #quickstart"
    assert "entries" in timeline
    assert "tweets" in search
    assert "retry: 3000\n:heartbeat\n\n" in run.stdout  # the live stream opened
    assert "OpenAPI 3.1.0\n" in run.stdout
    over_grpc = json.loads(run.stdout.split("OpenAPI 3.1.0\n", 1)[1])
    assert over_grpc["user"]["user_id"] == created["user"]["userId"]  # grpcurl: proto names


def json_documents(text: str) -> list[dict[str, Any]]:
    """The JSON bodies curl printed back to back (they end without a newline)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text) and text[at] == "{":
        document, at = decoder.raw_decode(text, at)
        found.append(document)
    return found
