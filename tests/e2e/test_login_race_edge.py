"""The login lock through the edge under concurrency, and per source (issue 31,
findings 1 and 6). Deterministic whatever the machine's load: the budget is
taken by reservations in PostgreSQL, so however the guesses interleave,
exactly `free_attempts` of them are checked (serialised, the fifth failure
locks; all at once, the slots run out). The account-wide budget, spent only
by guessers on many addresses, is tested on the throttle itself
(tests/integration/test_login_throttle.py)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.support.edge import FromIp, assert_error, other_ip
from tests.support.users import MakeAccount, login

pytestmark = pytest.mark.e2e

FREE_ATTEMPTS = 5  # services/users/settings.py: login_free_attempts
WRONG = "not the password"


async def guesses(edge: httpx.AsyncClient, name: str, n: int,
                  headers: dict[str, str] | None = None) -> Counter[int]:
    """`n` wrong passwords sent at once; how many got each status."""
    replies = await asyncio.gather(*(
        edge.post("/v1/auth/login", json={"username": name, "password": WRONG},
                  headers=headers) for _ in range(n)))
    assert {r.status_code for r in replies} <= {401, 429}, [r.text for r in replies]
    return Counter(r.status_code for r in replies)


@pytest.mark.parametrize("n", [12, 40])
async def test_concurrent_guesses_get_only_the_free_attempts_checked(
        edge: httpx.AsyncClient, make_account: MakeAccount, n: int) -> None:
    alice = await make_account()
    assert await guesses(edge, alice.username, n) == {401: FREE_ATTEMPTS,
                                                      429: n - FREE_ATTEMPTS}
    # the right password just after them is refused too: the lock holds
    body = assert_error(await login(edge, alice.username), 429, 8)
    assert body["details"][0]["@type"].endswith("google.rpc.RetryInfo")


async def test_a_stranger_locks_the_account_for_their_own_address_only(
        edge: httpx.AsyncClient, from_ip: FromIp, make_account: MakeAccount) -> None:
    alice = await make_account()
    stranger = from_ip(other_ip())
    # claiming to be the owner's address changes nothing: the edge sets it
    spoofed = {"x-client-address": "127.0.0.1", "x-forwarded-for": "127.0.0.1"}
    assert await guesses(stranger, alice.email, FREE_ATTEMPTS + 2, spoofed) == {
        401: FREE_ATTEMPTS, 429: 2}
    # locked for the stranger, even with the right password ...
    assert_error(await login(stranger, alice.username), 429, 8)
    # ... while the owner, elsewhere, logs in
    assert (await login(edge, alice.username)).status_code == 200
