"""Leased snowflake worker ids: no two processes of a namespace (a service) hold
the same worker id at once, however many replicas run.

A process takes a free worker id (0..1023) from a lease store for `ttl` seconds
and renews it every ttl/3. It trusts the lease only until a LOCAL monotonic
deadline: the start of the last successful take or renewal request plus ttl
minus a safety margin. The store's copy expires no earlier than ttl after that
request started, so a process whose renewals fail (store unreachable, event loop
stalled, network partition) stops issuing ids at least `margin` seconds before
anyone else can take its worker id. A renewal that finds the lease gone or
owned by someone else drops the id at once and takes a new one; the
`IdGenerator` follows, since it asks `grant()` for every id.

The stores (`cql_worker_lease`, `pg_worker_lease`) each answer three atomic
requests and use the database's own clock for expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import socket
import time
from collections.abc import Awaitable
from typing import Protocol, TypeVar

from services.shared.config import WorkerLeaseSettings
from services.shared.errors import Unavailable
from services.shared.observability.logging import get_logger
from services.shared.snowflake.ids import WORKER_IDS, Grant

log = get_logger(__name__)
T = TypeVar("T")

# Store errors in a row after which an acquisition gives up (the store is down,
# not merely contended); the renewal loop tries again later.
_MAX_TAKE_ERRORS = 3


class LeaseStore(Protocol):
    """Worker id leases of one namespace (one id space: a service's name, written
    in its wiring rather than taken from SERVICE_NAME, which deployments may vary);
    each call is one atomic request."""

    namespace: str

    async def take(self, worker_id: int, owner: str, ttl_seconds: int) -> bool:
        """Leases `worker_id` to `owner` if nobody holds it (or its lease expired)."""

    async def renew(self, worker_id: int, owner: str, ttl_seconds: int) -> bool:
        """Extends the lease if `owner` still holds it; False when it is lost."""

    async def release(self, worker_id: int, owner: str) -> None:
        """Frees the worker id if `owner` still holds it."""


def new_owner() -> str:
    """A name no other process uses: host, pid and randomness (pids repeat across pods)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class WorkerLease:
    """One process's worker id lease (a `services.shared.snowflake.ids.WorkerIds`)."""

    def __init__(self, store: LeaseStore, *, ttl_seconds: int = 30,
                 margin_seconds: float = 2.0, owner: str | None = None) -> None:
        # Renewing every ttl/3 must keep the lease valid between renewals.
        if not 0 <= margin_seconds < ttl_seconds * 2 / 3:
            raise ValueError("the safety margin must be below two thirds of the TTL")
        self._store = store
        self._ttl = ttl_seconds
        self._margin = margin_seconds
        self.owner = owner or new_owner()
        self._worker: int | None = None  # the id held in the store, valid or not
        self._grant: Grant | None = None
        self._renewing: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, store: LeaseStore, settings: WorkerLeaseSettings) -> WorkerLease:
        """Takes a worker id (or raises) and keeps renewing it until `stop`."""
        lease = cls(store, ttl_seconds=settings.worker_lease_ttl_seconds,
                    margin_seconds=settings.worker_lease_margin_seconds)
        await lease.acquire()
        lease._renewing = asyncio.create_task(lease._renew_forever(),
                                              name=f"worker-lease-{store.namespace}")
        return lease

    def grant(self) -> Grant | None:
        return self._grant

    def valid(self) -> bool:
        grant = self._grant
        return grant is not None and time.monotonic() < grant.deadline

    @property
    def worker_id(self) -> int | None:
        """The worker id held (None while none is), whether or not still valid."""
        return self._worker

    async def acquire(self) -> int:
        """Takes a free worker id: from a random one upwards, until a take succeeds."""
        first = random.randrange(WORKER_IDS)  # noqa: S311 (spreads probes; not a secret)
        errors = 0
        for step in range(WORKER_IDS):
            worker = (first + step) % WORKER_IDS
            started = time.monotonic()
            try:
                taken = await self._call(self._store.take(worker, self.owner, self._ttl))
            except Exception as exc:
                # Contention (two Paxos rounds on one id) or a timeout: the outcome
                # is unknown, and an id taken unawares just expires. Move on.
                errors += 1
                if errors >= _MAX_TAKE_ERRORS:
                    raise
                log.warning("worker id take failed; trying the next one",
                            namespace=self._store.namespace, worker_id=worker, error=repr(exc))
                continue
            errors = 0
            if taken:
                self._worker = worker
                self._grant = self._grant_from(started)
                log.info("worker id leased", namespace=self._store.namespace,
                         worker_id=worker, owner=self.owner, ttl_seconds=self._ttl)
                return worker
        raise Unavailable(f"every worker id of {self._store.namespace!r} is leased")

    async def renew(self) -> int:
        """One renewal (the background task's step). Returns the worker id held
        afterwards: a new one if the lease was lost, or none was held."""
        worker = self._worker
        if worker is None:
            return await self.acquire()
        started = time.monotonic()
        if await self._call(self._store.renew(worker, self.owner, self._ttl)):
            self._grant = self._grant_from(started)
            return worker
        # Expired (and perhaps taken by another process): never issue under it again.
        self._grant = None
        self._worker = None
        log.warning("worker id lease lost; taking another", namespace=self._store.namespace,
                    worker_id=worker, owner=self.owner)
        return await self.acquire()

    async def stop(self) -> None:
        """Stops renewing and frees the worker id (on a clean shutdown)."""
        if self._renewing is not None:
            self._renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewing
            self._renewing = None
        worker, self._worker, self._grant = self._worker, None, None  # no ids from here on
        if worker is None:
            return
        try:
            await self._call(self._store.release(worker, self.owner))
            log.info("worker id released", namespace=self._store.namespace, worker_id=worker)
        except Exception as exc:
            log.warning("could not release the worker id; it expires by itself",
                        namespace=self._store.namespace, worker_id=worker, error=repr(exc))

    async def _renew_forever(self) -> None:
        interval = self._ttl / 3
        delay = interval
        while True:
            await asyncio.sleep(delay)
            try:
                await self.renew()
                delay = interval
            except Exception as exc:
                # The deadline lapses by itself meanwhile (the generator then refuses
                # ids); retry soon, while the lease may still be saved. No traceback:
                # during a store outage this repeats every second.
                delay = min(interval, 1.0)
                log.warning("worker id renewal failed", namespace=self._store.namespace,
                            worker_id=self._worker, valid=self.valid(), error=repr(exc))

    def _grant_from(self, started: float) -> Grant:
        assert self._worker is not None
        return Grant(self._worker, started + self._ttl - self._margin)

    async def _call(self, request: Awaitable[T]) -> T:
        # A hung request must not hold up the next renewal.
        return await asyncio.wait_for(request, timeout=self._ttl / 3)
