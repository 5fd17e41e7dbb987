"""Logs never hold secrets (issue 22, finding 4): an unhandled error whose frames
hold a password, a refresh token, an Authorization header and a DM's text is
logged with its traceback, and none of them is in the output."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
import structlog

from services.shared.observability.logging import REDACTED, configure_logging, get_logger

PASSWORD = "hunter2-correct-horse-battery-staple"
REFRESH = "rt-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
JWT = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJlLWJ5dGVz"
DM_TEXT = "meet me behind the old mill at midnight"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("test", json=True, stream=out)
    yield out
    structlog.reset_defaults()


def _login(username: str, password: str, metadata: dict[str, str]) -> None:
    refresh_token = REFRESH
    message_text = DM_TEXT
    assert refresh_token
    assert message_text
    assert password
    assert metadata
    raise RuntimeError(f"index row size {len(username)} exceeds maximum")


def test_an_unhandled_error_leaks_no_secret(captured: io.StringIO) -> None:
    log = get_logger("test")
    try:
        _login("x" * 9000, PASSWORD, {"authorization": f"Bearer {JWT}"})
    except RuntimeError:
        log.exception("unhandled error", error_type="RuntimeError")
    output = captured.getvalue()
    assert "unhandled error" in output
    assert "_login" in output  # the traceback is there
    for secret in (PASSWORD, REFRESH, JWT, JWT.split(".")[1], DM_TEXT):
        assert secret not in output
    [line] = output.splitlines()
    frames = json.loads(line)["exception"][0]["frames"]
    assert all("locals" not in f for f in frames)


def test_sensitive_fields_and_token_shapes_are_masked(captured: io.StringIO) -> None:
    log = get_logger("test")
    log.info("refresh failed", refresh_token=REFRESH, password=PASSWORD,
             content=DM_TEXT, headers={"Authorization": f"Bearer {JWT}"},
             detail=f"sent {JWT} with Bearer {REFRESH}", tweet_id=42)
    event = json.loads(captured.getvalue())
    assert event["refresh_token"] == event["password"] == event["content"] == REDACTED
    assert event["headers"] == {"Authorization": REDACTED}
    assert JWT not in event["detail"]
    assert REFRESH not in event["detail"]
    assert event["tweet_id"] == 42
    assert event["event"] == "refresh failed"
