"""No service runs on a guessable internal token (issue 22, finding 10): the
settings have no default, and a missing, short or published token stops a
service (and the edge's renderer) before it serves anything."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.shared.config import AuthSettings

REPO = Path(__file__).resolve().parents[2]
SERVICES = ["users", "tweets", "timeline", "search", "media", "messages", "ratelimit",
            "notifications"]


@pytest.mark.parametrize("token", [None, "", "local-internal-token", "short-token"])
def test_settings_refuse_a_missing_or_weak_token(monkeypatch: pytest.MonkeyPatch,
                                                 token: str | None) -> None:
    if token is None:
        monkeypatch.delenv("INTERNAL_TOKEN", raising=False)
    else:
        monkeypatch.setenv("INTERNAL_TOKEN", token)
    with pytest.raises(ValidationError):
        AuthSettings()


def test_a_random_token_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    token = secrets.token_urlsafe(32)
    monkeypatch.setenv("INTERNAL_TOKEN", token)
    assert AuthSettings().internal_token.get_secret_value() == token


# A start imports a whole service: seconds on a quiet machine, over a minute
# on one loaded with other stacks (the bound only stops a hung process).
START_TIMEOUT_SECONDS = 240


def _start(module: list[str], token: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "INTERNAL_TOKEN"}
    if token is not None:
        env["INTERNAL_TOKEN"] = token
    # Ports nobody listens on: a service that got past its settings would hang
    # connecting, not exit at once.
    env |= {"PG_DSN": "postgresql://x:y@127.0.0.1:1/none", "REDIS_URL": "redis://127.0.0.1:1/0",
            "NATS_URL": "nats://127.0.0.1:1", "SCYLLA_PORT": "1", "GRPC_PORT": "0"}
    return subprocess.Popen([sys.executable, *module], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        _, stderr = process.communicate(timeout=START_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return process.returncode, stderr


def _run(module: list[str], token: str | None) -> tuple[int, str]:
    return _finish(_start(module, token))


@pytest.mark.parametrize("service", SERVICES)
def test_services_refuse_to_start_without_a_real_token(service: str) -> None:
    started = [_start(["-m", f"services.{service}"], token)  # side by side
               for token in (None, "local-internal-token")]
    for process in started:
        code, stderr = _finish(process)
        assert code != 0
        assert "INTERNAL_TOKEN" in stderr or "internal_token" in stderr


def test_the_edge_renderer_refuses_a_missing_token(tmp_path: Path) -> None:
    code, _ = _run(["-m", "edge.render", str(tmp_path / "envoy.yaml")], None)
    assert code != 0
    assert not (tmp_path / "envoy.yaml").exists()
