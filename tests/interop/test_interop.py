"""Other languages call the services: the Go (tests/interop/go) and TypeScript
(tests/interop/ts) interop tests, with the stubs `make gen` generates, against
the running stack's gRPC addresses. Each signs up, logs in, follows, posts,
reads the home timeline, searches, and decodes a google.rpc.BadRequest."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("users", "tweets", "timeline", "search")
TIMEOUT = 240  # a cold first run compiles the gRPC and protobuf modules


@pytest.fixture(scope="module")
def env(stack_env: dict[str, str]) -> dict[str, str]:
    addrs = {f"{s.upper()}_ADDR": stack_env[f"{s.upper()}_ADDR"] for s in SERVICES}
    return os.environ | addrs


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return output


def test_go_client(env: dict[str, str]) -> None:
    output = _run(["go", "test", "-count=1", "-v", "./..."], REPO / "tests/interop/go", env)
    assert "--- PASS: TestSignUpFollowPostReadSearch" in output
    assert "--- PASS: TestInvalidRequestCarriesBadRequest" in output


def test_typescript_client(env: dict[str, str]) -> None:
    # npm packages as locked (a no-op when node_modules matches the lock file).
    _run(["tools/stub_plugins.sh"], REPO, env)
    _run([str(REPO / "node_modules/.bin/tsc"), "-p", "tests/interop/ts"], REPO, env)
    output = _run(["node", "build/interop-ts/tests/interop/ts/interop.js"], REPO, env)
    assert "ok signUpFollowPostReadSearch" in output
    assert "ok invalidRequestCarriesBadRequest" in output
