"""Issue 22 (data side) through the edge: secrets stay out of the logs, revoked
sessions end their access tokens, media is private until attached and stored
exactly as validated, live streams are bounded."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import httpx
import pytest

from tests.conftest import unique_name

pytestmark = pytest.mark.e2e


def _log_sizes(logs: Path) -> dict[Path, int]:
    return {p: p.stat().st_size for p in logs.glob("*.log")}


def _new_log_text(before: dict[Path, int], logs: Path) -> str:
    chunks = []
    for path in logs.glob("*.log"):
        with path.open("rb") as f:
            f.seek(before.get(path, 0))
            chunks.append(f.read().decode(errors="replace"))
    return "".join(chunks)


async def test_a_failed_login_leaves_no_password_in_the_logs(
        edge: httpx.AsyncClient, stack_env: dict[str, str]) -> None:
    """Finding 4: a 9,000-character username used to end in a 500 whose
    traceback logged the frame locals, the password among them."""
    logs = Path(stack_env["STACK_DIR"]) / "logs"
    before = _log_sizes(logs)
    password = f"pw-{secrets.token_hex(16)}"
    bearer = f"Bearer not-a-jwt-{secrets.token_hex(16)}"
    # Random, so PostgreSQL cannot compress it under the index row limit.
    username = secrets.token_hex(4500)
    r = await edge.post("/v1/auth/login", json={"username": username, "password": password},
                        headers={"Authorization": bearer})
    assert r.status_code < 600
    await asyncio.sleep(1.0)  # supervisord copies the services' stdout to the files
    text = _new_log_text(before, logs)
    assert password not in text
    assert bearer.split()[1] not in text


def _name() -> str:
    return unique_name("sd")
