"""The chaos run: traffic through the edge, each fault in turn, then a check
that nothing acknowledged was lost. `make chaos` runs every fault; the test
suite runs a short version (tests/chaos/test_chaos_short.py)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from tests.chaos import verify
from tests.chaos.faults import Fault
from tests.chaos.load import Answer, Ledger, Traffic, population

# What a client may see while a dependency is down: "try again".
OUTAGE_STATUSES = {503, 504}
RECOVERY_LIMIT_SECONDS = 30.0


@dataclass
class Phase:
    fault: Fault
    started: float
    program: str = ""  # the program faulted (a node fault picks one when it starts)
    back: float = 0.0  # when the faulted program served again
    ended: float = 0.0
    answers: list[Answer] = field(default_factory=list)
    lost: int = 0

    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)

    def bad(self) -> list[Answer]:
        """Answers no client should ever get: 5xx other than 503/504, no answer
        at all, and client errors (the traffic sends only valid requests)."""
        return [a for a in self.answers
                if not (200 <= a.status < 300 or a.status in OUTAGE_STATUSES)]

    def window(self) -> float:
        """Seconds from the first non-2xx answer's request to the last one's answer."""
        failed = [a for a in self.answers if not 200 <= a.status < 300]
        if not failed:
            return 0.0
        return max(a.sent + a.seconds for a in failed) - min(a.sent for a in failed)

    def within_goal(self) -> bool:
        """No answer outside 2xx/503/504, recovered in time, and under
        TOPOLOGY=ha no more non-2xx answers than the fault's window allows."""
        limit = self.fault.window_limit
        if limit is not None and self.window() > limit:
            return False
        if limit == 0 and any(not 200 <= a.status < 300 for a in self.answers):
            return False
        return not self.bad() and self.recovery() <= RECOVERY_LIMIT_SECONDS

    def recovery(self) -> float:
        """Seconds from the program being back to the last failed answer."""
        failed = [a.sent + a.seconds for a in self.answers
                  if a.status >= 300 and a.sent >= self.back]
        return max(0.0, max(failed, default=self.back) - self.back)


@dataclass
class Report:
    phases: list[Phase]
    lost: list[tuple[verify.Write, str]]
    dead_letters: int
    writes: int

    @property
    def passed(self) -> bool:
        return (not self.lost and self.dead_letters == 0
                and all(p.within_goal() for p in self.phases))

    def table(self) -> str:
        head = ("fault", "node", "requests", "2xx", "503", "504", "other errors", "recovery s",
                "non-2xx window s", "goal", "lost writes")
        rows = [head]
        for p in self.phases:
            s = p.statuses()
            ok = sum(n for code, n in s.items() if 200 <= code < 300)
            other = ", ".join(f"{code or 'no answer'}: {n}" for code, n in sorted(s.items())
                              if not (200 <= code < 300 or code in OUTAGE_STATUSES)) or "0"
            goal = "any 503/504" if p.fault.window_limit is None else (
                "no non-2xx" if p.fault.window_limit == 0 else
                f"<= {p.fault.window_limit:.0f} s")
            rows.append((p.fault.name, p.program, str(len(p.answers)), str(ok), str(s[503]),
                         str(s[504]), other, f"{p.recovery():.1f}", f"{p.window():.1f}",
                         f"{goal}: {'met' if p.within_goal() else 'MISSED'}", str(p.lost)))
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        lines.insert(1, "-+-".join("-" * w for w in widths))
        lines.append(f"writes acknowledged: {self.writes}; lost: {len(self.lost)}; "
                     f"dead-lettered events: {self.dead_letters}")
        where = Counter(place.split(" of ")[0] for _, place in self.lost)
        if where:
            lines.append("  missing from: " + ", ".join(f"{p} {n}" for p, n in where.items()))
        lines += [f"  lost: {type(w).__name__} {w} missing from {where}"
                  for w, where in self.lost[:20]]
        return "\n".join(lines)


async def chaos(env: dict[str, str], faults: list[Fault], *, rate: float = 20.0,
                users: int = 30, lead: float = 5.0, hold: float = 10.0, tail: float = 15.0,
                settle: float = 60.0, seed: int = 7) -> Report:
    """Runs `faults` one after another under traffic at `rate` requests a
    second: `lead` seconds of calm, the fault (a stop held for `hold` seconds),
    the program back, `tail` seconds to show the system serves normally."""
    rng = random.Random(seed)
    ledger = Ledger()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    async with httpx.AsyncClient(base_url=env["EDGE_URL"], timeout=30, limits=limits) as edge:
        people = await population(edge, ledger, users, follows_each=4, rng=rng)
        dead_before = await verify.dead_letters(env["NATS_URL"])
        stop = asyncio.Event()
        traffic = asyncio.create_task(Traffic(edge, people, ledger, rate, rng).run(stop))
        phases: list[Phase] = []
        try:
            for fault in faults:
                # Each fault starts on a system that serves (the last one's
                # rejoining node may still be warming up), so its figures are its own.
                await _calm(ledger)
                phase = Phase(fault, time.monotonic())
                phases.append(phase)
                # lead, hold and tail are phases of the run, not waits for an effect
                await asyncio.sleep(lead)
                phase.program = await asyncio.to_thread(fault.target)
                await fault.inject(phase.program)
                if fault.kind in {"stop", "kill-hold"}:
                    await asyncio.sleep(hold)
                await fault.restore(phase.program, env)
                phase.back = time.monotonic()
                await asyncio.sleep(tail)
                phase.ended = time.monotonic()
                print(f"chaos: {fault.name} ({phase.program}): back after "
                      f"{phase.back - phase.started - lead:.1f} s", flush=True)
        finally:
            stop.set()
            await traffic
        _assign(phases, ledger)
        checker = verify.Checker(edge, people, ledger)

        async def progress(line: str) -> None:
            print(f"chaos: {line}", flush=True)

        lost = await verify.lost_writes(checker, ledger, settle, progress)
        dead = await verify.dead_letters(env["NATS_URL"]) - dead_before
    for write, _ in lost:
        _phase_of(phases, write.sent).lost += 1
    return Report(phases, lost, dead, len(ledger.posts) + len(ledger.likes)
                  + len(ledger.follows))


CALM_SECONDS = 5.0
CALM_WITHIN_SECONDS = 180.0


async def _calm(ledger: Ledger) -> None:
    """Until every answer of the last CALM_SECONDS was a 2xx (at most
    CALM_WITHIN_SECONDS; after that the fault starts anyway)."""
    started = time.monotonic()
    while time.monotonic() - started < CALM_WITHIN_SECONDS:
        now = time.monotonic()
        recent = [a for a in ledger.answers if a.sent + a.seconds >= now - CALM_SECONDS]
        if now - started >= CALM_SECONDS and recent and \
                all(200 <= a.status < 300 for a in recent):
            return
        await asyncio.sleep(0.5)


def _assign(phases: list[Phase], ledger: Ledger) -> None:
    for answer in ledger.answers:
        _phase_of(phases, answer.sent).answers.append(answer)


def _phase_of(phases: list[Phase], at: float) -> Phase:
    return next((p for p in reversed(phases) if p.started <= at), phases[0])
