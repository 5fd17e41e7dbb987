"""The failed-login throttle (the table login_failures): its keys, the
attempt reservations that make it hold under concurrency, and its retention.

Keys. A login name resolves to an account ("user:<id>"), so the username, the
e-mail address and every case of either share one count (issue 22). A name
that resolves to no account is keyed on itself ("name:<name>", normalised by
domain.login_name) and behaves the same, so the throttle does not show which
names are accounts. What it does show, by design: once one name of an account
is locked, its other name is too.

Two budgets per login (issue 31). The first is per account *and source*
("<key>@<source>": the client address the edge saw, an IPv6 address by its
/64): after `free_attempts` failures that source is locked out of that
account, for a time doubling with each further failure. The second is the
account's as a whole ("<key>"), much larger: only a guesser spread over many
addresses reaches it, and only then is the owner locked out from everywhere.
A stranger can therefore lock an account only for their own address, unless
they control `account_free_attempts / free_attempts` addresses.

Concurrency. Every attempt first reserves a slot in one statement per key
(`_RESERVE`): the row counts attempts in flight beside failures, and a slot is
granted only while failures plus attempts in flight stay under the budget
(one at a time once the budget is spent and a lock has run out). The
password is verified only with both slots held, so twelve wrong passwords
sent at once get at most `free_attempts` checks, and the rest a 429. A slot
of a process that died mid-login stops counting after `_STALE_SECONDS`.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection, Rollback
from psycopg_pool import AsyncConnectionPool

from services.shared.observability.logging import get_logger

log = get_logger(__name__)

Conn = AsyncConnection[Any]

# A login takes well under a second (one argon2 verification); a slot older
# than this belongs to a process that died holding it.
_STALE_SECONDS = 60.0
DIRECT_SOURCE = "direct"  # a call that did not come through the edge

# The failures that count, and the attempts in flight, as of now.
_FAILURES = """CASE WHEN f.last_failed_at < now() - make_interval(secs => %(reset)s)
                     AND (f.locked_until IS NULL OR f.locked_until <= now())
                THEN 0 ELSE f.failures END"""
_IN_FLIGHT = f"""CASE WHEN f.reserved_at < now() - make_interval(secs => {_STALE_SECONDS})
                 THEN 0 ELSE f.in_flight END"""

_RESERVE = f"""
INSERT INTO login_failures AS f (login, failures, last_failed_at, in_flight, reserved_at)
VALUES (%(login)s, 0, now(), 1, now())
ON CONFLICT (login) DO UPDATE SET
    failures = {_FAILURES}, in_flight = {_IN_FLIGHT} + 1, reserved_at = now()
WHERE (f.locked_until IS NULL OR f.locked_until <= now())
  AND {_IN_FLIGHT} < greatest(1, %(free)s - {_FAILURES})
RETURNING true
"""  # noqa: S608 - constant fragments

# A failure: the slot is released and the failure counted; reaching the
# budget locks the key, for twice as long with each further failure. (The row
# may have been deleted by a success meanwhile: then it starts again.)
_FAIL = f"""
INSERT INTO login_failures AS f (login, failures, last_failed_at, in_flight, reserved_at)
VALUES (%(login)s, 1, now(), 0, now())
ON CONFLICT (login) DO UPDATE SET
    failures = {_FAILURES} + 1, last_failed_at = now(),
    in_flight = greatest(f.in_flight - 1, 0)
RETURNING failures
"""  # noqa: S608 - constant fragments
_LOCK = """
UPDATE login_failures SET locked_until = now() + make_interval(secs =>
    least(%(max)s, %(base)s * power(2, failures - %(free)s)))
WHERE login = %(login)s AND failures >= %(free)s
"""
_RELEASE = """UPDATE login_failures SET in_flight = greatest(in_flight - 1, 0)
              WHERE login = %(login)s"""
_LOCKED_UNTIL = """SELECT max(locked_until) FROM login_failures
                   WHERE login = ANY(%(logins)s) AND locked_until > now()"""

# Rows no longer count once their failures are older than the reset window
# (a reservation starts again from 0) and any lock has run out.
_PURGE = """
DELETE FROM login_failures WHERE login IN (
    SELECT login FROM login_failures
    WHERE last_failed_at < now() - make_interval(secs => %(reset)s)
      AND (locked_until IS NULL OR locked_until < now())
    LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
"""


def throttle_key(name: str, user_id: int | None) -> str:
    """The account-wide login_failures key of a normalised login name."""
    return f"user:{user_id}" if user_id is not None else f"name:{name}"


def source_of(address: str | None) -> str:
    """The source a per-source budget is kept for: an IPv4 address, an IPv6
    address's /64 (one subscriber's usual allocation, so walking through it
    gains nothing), or DIRECT_SOURCE."""
    if not address:
        return DIRECT_SOURCE
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return DIRECT_SOURCE
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped or ip) if isinstance(ip, ipaddress.IPv6Address) else str(ip)


@dataclass(frozen=True)
class ThrottlePolicy:
    free_attempts: int  # per account and source
    account_free_attempts: int  # per account, from all sources together
    lock_base_seconds: float
    lock_max_seconds: float
    failure_reset_seconds: float


@dataclass(frozen=True)
class Slots:
    """The keys one login attempt holds a slot of: (key, its budget)."""

    keys: tuple[tuple[str, int], ...]

    @classmethod
    def of(cls, account_key: str, source: str, policy: ThrottlePolicy) -> Slots:
        return cls(((f"{account_key}@{source}", policy.free_attempts),
                    (account_key, policy.account_free_attempts)))

    @property
    def source_key(self) -> str:
        return self.keys[0][0]


class Refused(Exception):
    """No slot: the key is locked, or its budget is taken by attempts in flight."""

    def __init__(self, locked_until: datetime | None) -> None:
        super().__init__("login throttled")
        self.locked_until = locked_until


async def reserve(pool: AsyncConnectionPool, slots: Slots, policy: ThrottlePolicy) -> None:
    """Takes a slot of every key, all or none (one transaction); Refused
    when any key has none free."""
    granted = False
    async with pool.connection() as conn:
        async with conn.transaction():
            for login, free in slots.keys:
                cur = await conn.execute(_RESERVE, {"login": login, "free": free,
                                                    "reset": policy.failure_reset_seconds})
                if await cur.fetchone() is None:
                    raise Rollback  # no slot of the other key is kept either
            granted = True
        if granted:
            return
        cur = await conn.execute(_LOCKED_UNTIL, {"logins": [k for k, _ in slots.keys]})
        row = await cur.fetchone()
    raise Refused(row[0] if row else None)


async def record_failure(conn: Conn, slots: Slots, policy: ThrottlePolicy) -> None:
    """Releases the attempt's slots and counts its failure under both keys."""
    for login, free in slots.keys:
        await conn.execute(_FAIL, {"login": login, "reset": policy.failure_reset_seconds})
        await conn.execute(_LOCK, {"login": login, "free": free,
                                   "base": policy.lock_base_seconds,
                                   "max": policy.lock_max_seconds})


async def record_success(conn: Conn, slots: Slots) -> None:
    """The source's count starts again; the account-wide count only runs out
    with time, so a guesser spread over many addresses gains no fresh budget
    whenever the owner logs in."""
    await conn.execute("DELETE FROM login_failures WHERE login = %s", (slots.source_key,))
    for login, _ in slots.keys[1:]:
        await conn.execute(_RELEASE, {"login": login})


class FailurePurge:
    """Deletes login_failures rows that no longer count, in small batches so a
    pass never holds many row locks. Every users process runs it: concurrent
    passes skip each other's rows."""

    def __init__(self, pool: AsyncConnectionPool, *, reset_seconds: float,
                 batch: int = 1000) -> None:
        self._pool = pool
        self._reset = reset_seconds
        self._batch = batch

    async def purge_once(self) -> int:
        """One pass; returns how many rows it deleted."""
        deleted = 0
        while True:
            async with self._pool.connection() as conn, conn.transaction():
                cur = await conn.execute(_PURGE, {"reset": self._reset, "batch": self._batch})
            deleted += cur.rowcount
            if cur.rowcount < self._batch:
                return deleted

    async def run(self, every_seconds: float) -> None:
        while True:
            try:
                deleted = await self.purge_once()
                if deleted:
                    log.info("purged stale login failures", deleted=deleted)
            except Exception:
                log.exception("login failure purge failed; retrying next time")
            await asyncio.sleep(every_seconds)
