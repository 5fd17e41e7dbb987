"""What checking revoked sessions costs a call (issue 22): the identity step's
check on the edge path without the check (as before) and with it, against
10,000 revocations held in memory as the real feed loads them from Redis."""

from __future__ import annotations

import asyncio
import statistics
import time
import timeit

from services.shared.contracts import Access
from services.shared.rpc.interceptors.authentication import Authenticate
from services.shared.security import auth
from services.shared.stores import redis_client
from services.users.client.revocations import Revocation, RevokedSessions, announce

HELD = 10_000
CALLS = 200_000


class _Context:
    def __init__(self, metadata: dict[str, str]) -> None:
        self._metadata = tuple(metadata.items())

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata


async def _per_call_us(step: Authenticate, metadata: dict[str, str]) -> float:
    check, context = step.prepare("/bench"), _Context(metadata)
    started = time.perf_counter()
    for _ in range(CALLS):
        await check(context)  # type: ignore[arg-type]  # only the metadata is read
    return (time.perf_counter() - started) / CALLS * 1e6


async def _measure(env: dict[str, str]) -> list[str]:
    token, url = env["INTERNAL_TOKEN"], env["REDIS_URL"]
    redis = redis_client.connect(url)
    now = time.time()
    # Ids no session has; they expire from the stream with the token lifetime.
    await announce(redis, [Revocation((1 << 62) + i, now + 60) for i in range(HELD)],
                   window_seconds=60)
    revoked = await RevokedSessions.open(url)
    metadata = {auth.EDGE_TOKEN_HEADER: auth.edge_token(token),
                auth.USER_ID_HEADER: "384237371453906944", "x-request-id": "bench"}
    before = Authenticate(lambda _: Access.USER, verifier=None, internal_token=token)
    after = Authenticate(lambda _: Access.USER, verifier=None, internal_token=token,
                         revoked=revoked)
    with_sid = metadata | {auth.SESSION_ID_HEADER: "384237372519768064"}
    lines = []
    for label, interceptor, md in (("before: no sid, no check", before, metadata),
                                   ("after: sid parsed and checked", after, with_sid)):
        runs = [await _per_call_us(interceptor, md) for _ in range(5)]
        lines.append(f"  {label:32s} median {statistics.median(runs):.2f} us/call"
                     f" (runs {', '.join(f'{r:.2f}' for r in runs)})")
    n = 1_000_000
    lookup = timeit.timeit(lambda: revoked.is_revoked(384237372519768064), number=n) / n
    parse = timeit.timeit(lambda: auth.edge_session_id("384237372519768064"), number=n) / n
    lines.append(f"  lookup {lookup * 1e9:.0f} ns, header parse {parse * 1e9:.0f} ns;"
                 f" {len(revoked._until)} revoked sessions held; Redis round trips per call: 0")
    await revoked.close()
    await redis.aclose()
    return lines


def run(env: dict[str, str]) -> list[str]:
    return asyncio.run(_measure(env))
