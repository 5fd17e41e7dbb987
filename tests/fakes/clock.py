"""An injectable clock for unit tests: wall time and monotonic time that move
only when a test advances them, so TTLs and lags are exact and no test sleeps.

Pass `clock.time` where code takes a wall clock (default `time.time`) and
`clock.monotonic` where it takes a monotonic one (default `time.monotonic`)."""

from __future__ import annotations

from services.shared.snowflake.ids import EPOCH_MS

# 2026-01-01T00:00:00Z: after the id epoch, so ids made from it are valid.
START = 1_767_225_600.0
_TIME_SHIFT = 22  # services/shared/snowflake/ids.py: 10 worker bits, 12 sequence bits


class FakeClock:
    def __init__(self, start: float = START) -> None:
        self._wall = start
        self._mono = 1000.0  # arbitrary: monotonic clocks have no meaningful origin

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def ms(self) -> int:
        return int(self._wall * 1000)

    def advance(self, seconds: float) -> None:
        """Both clocks move forward together (as the real ones do)."""
        if seconds < 0:
            raise ValueError("clocks do not go backwards")
        self._wall += seconds
        self._mono += seconds


def snowflake(ms: int, sequence: int = 0) -> int:
    """An id issued at wall time `ms` (milliseconds), the `sequence`-th of that
    millisecond (worker 0): ids of one millisecond share a timeline score."""
    return ((ms - EPOCH_MS) << _TIME_SHIFT) + sequence
