"""The short chaos run in `make test`: Redis and one tweets process are
SIGKILLed under traffic; no answer is a 500 and no acknowledged write is lost.
`make chaos` runs every fault."""

from __future__ import annotations

import pytest

from tests.chaos import faults
from tests.chaos.run import chaos

pytestmark = pytest.mark.e2e


async def test_short_chaos_run_loses_nothing(stack_env: dict[str, str]) -> None:
    report = await chaos(stack_env, faults.SHORT, rate=10, users=12, lead=2, tail=6, settle=60)
    print(report.table())
    assert report.writes > 50  # the traffic really wrote
    for phase in report.phases:
        assert not phase.bad(), report.table()
        assert phase.recovery() <= 30, report.table()
    assert not report.lost, report.table()
    assert report.dead_letters == 0, report.table()
