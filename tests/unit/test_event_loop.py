"""The loop every service process runs on (services/shared/concurrency/event_loop.py)."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from services.shared.concurrency import event_loop


async def _loop_type() -> type[asyncio.AbstractEventLoop]:
    return type(asyncio.get_running_loop())


def test_processes_run_on_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENT_LOOP", raising=False)
    assert issubclass(event_loop.run(_loop_type), uvloop.Loop)


def test_event_loop_asyncio_selects_the_standard_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_LOOP", "asyncio")
    loop_type = event_loop.run(_loop_type)
    assert not issubclass(loop_type, uvloop.Loop)
    assert issubclass(loop_type, asyncio.BaseEventLoop)


def test_an_unknown_loop_is_refused_before_anything_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_LOOP", "trio")
    started = []

    async def main() -> None:
        started.append(True)

    with pytest.raises(SystemExit, match="EVENT_LOOP must be one of uvloop, asyncio"):
        event_loop.run(main)
    assert not started
