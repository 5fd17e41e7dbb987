"""Password hashing with argon2id, off the event loop (hashing is CPU- and
memory-hard on purpose)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int,
                 threads: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                      parallelism=parallelism)
        # Bounds concurrent hashes so a burst of logins cannot exhaust memory.
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")
        # Verified against when the account does not exist, so an unknown user
        # costs the same time as a wrong password (no account enumeration).
        self._dummy_hash = self._hasher.hash("not-a-real-password")

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._verify,
                                          password_hash or self._dummy_hash,
                                          password, password_hash is not None)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str, password: str, real: bool) -> bool:
        try:
            ok = self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return ok and real

    def close(self) -> None:
        self._pool.shutdown(wait=False)
