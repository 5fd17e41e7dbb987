"""Records the call's deadline (services/shared/resilience/deadline.py), so peer
calls and store queries take no longer than what is left of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from services.shared.resilience import deadline
from services.shared.rpc.interceptors.chain import Before, Ctx, metadata


class Deadlines(Before):
    def prepare(self, method: str) -> Callable[[Ctx], Awaitable[None]]:
        return _begin


async def _begin(context: Ctx) -> None:
    deadline.begin(context.time_remaining(), metadata(context))
