"""Idempotency keys for writes: a retried request is answered, not redone.

A client (through the edge: the `Idempotency-Key` HTTP header, which the
transcoder forwards as gRPC metadata `idempotency-key`; a gRPC caller sets the
metadata itself) names a write with a key of its choosing. Per authenticated
user and key, Redis keeps one record (`idem:{<user id>}:<key>`, a hash,
hash-tagged by the user so every command stays in one cluster slot):

- `h`: a hash of the method and the serialized request. A repeat with another
  body is refused (INVALID_ARGUMENT, HTTP 422): the key names one request.
- `s`: `running` while an attempt holds it, `done` once an answer is kept.
- `until`: the running attempt's lease (Redis server time, ms). A repeat while
  it holds is ABORTED (HTTP 409) at once rather than waiting: waiting would
  hold a connection and a handler slot per impatient retry for as long as the
  first attempt takes, and the first may never finish (its process killed).
  Once the lease lapses (the attempt's process died) the next repeat takes the
  record over and runs again.
- `op`: an operation id the handler noted before its first side effect
  (`note_op`), handed to whoever takes the record over (`previous_op`), so a
  retry can finish the same operation instead of starting a second one (the
  tweets service re-creates the same tweet id: services/tweets/tweets.py).
- `code`, `r`: the kept answer: the serialized response (code 0), or the
  serialized google.rpc.Status of a definite error (NOT_FOUND, INVALID_ARGUMENT
  and the like). An outcome that may change on retry (UNAVAILABLE,
  DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, a cancelled call) is not
  kept: the record is released (lease ended, `op` kept) for the retry.

A kept answer lives 24 h (`TTL_SECONDS`), then the key may be used afresh.

Redis down: the keyed request fails closed (UNAVAILABLE, refused before any
side effect, so the edge may try another process). A client that sent a key
asked for at-most-once; running the write unguarded could post twice, which is
worse than a 503 the client retries. Requests without a key do not touch Redis.
"""

from __future__ import annotations

import contextvars
import hashlib
from dataclasses import dataclass
from typing import Any

from services.shared import errors
from services.shared.stores import redis_client

METADATA_KEY = "idempotency-key"
TTL_SECONDS = 24 * 3600
# Longer than any attempt may run (the edge gives up on a write after 15 s).
LEASE_MS = 30_000
MAX_KEY_LENGTH = 255

# Answers worth keeping: the same request would get the same answer again.
KEPT_CODES = frozenset({0, 3, 5, 6, 7, 9})  # OK, INVALID_ARGUMENT, NOT_FOUND,
# ALREADY_EXISTS, PERMISSION_DENIED, FAILED_PRECONDITION


def record_key(user_id: int, key: str) -> str:
    return f"idem:{{{user_id}}}:{key}"


_BEGIN = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local cur = redis.call('HMGET', KEYS[1], 'h', 's', 'until', 'op', 'code', 'r')
if not cur[1] then
  redis.call('HSET', KEYS[1], 'h', ARGV[1], 's', 'running', 'until', ms + tonumber(ARGV[2]),
             'tok', ARGV[4])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return {'new', '', ''}
end
if cur[1] ~= ARGV[1] then return {'mismatch', '', ''} end
if cur[2] == 'done' then return {'done', cur[5], cur[6]} end
if tonumber(cur[3]) > ms then return {'running', '', ''} end
redis.call('HSET', KEYS[1], 'until', ms + tonumber(ARGV[2]), 'tok', ARGV[4])
return {'takeover', cur[4] or '', ''}
"""

_FINISH = """
if redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 's', 'done', 'code', ARGV[2], 'r', ARGV[3])
redis.call('HDEL', KEYS[1], 'tok', 'until')
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

_RELEASE = """
if redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'until', 0)
return 1
"""

_NOTE_OP = """
if redis.call('HGET', KEYS[1], 'tok') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'op', ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Kept:
    """An answer kept for a key: code 0 with a serialized response, or a
    serialized google.rpc.Status."""

    code: int
    body: bytes


@dataclass
class Claim:
    """The record an attempt holds (its token proves it still does)."""

    key: str
    token: str
    previous_op: int | None


_CLAIM: contextvars.ContextVar[Claim | None] = contextvars.ContextVar("idempotency_claim",
                                                                     default=None)
_STORE: contextvars.ContextVar[IdempotencyStore | None] = contextvars.ContextVar(
    "idempotency_store", default=None)


def request_hash(method: str, request: Any) -> str:
    body: bytes = request.SerializeToString(deterministic=True)
    return hashlib.sha256(method.encode() + b"\0" + body).hexdigest()


def valid_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise errors.InvalidArgument.field(
            "Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} printable characters")
    return key


class IdempotencyStore:
    """The records in Redis, and the claim of the call in progress."""

    def __init__(self, redis: redis_client.RedisClient) -> None:
        self._redis = redis

    async def begin(self, user_id: int, key: str, digest: str, token: str) -> Kept | None:
        """Claims the key for this attempt (None: go ahead), or the kept answer;
        InvalidArgument for another body, Aborted while another attempt holds it."""
        name = record_key(user_id, key)
        try:
            state, a, b = await self._redis_call(_BEGIN, [name],
                                                 [digest, LEASE_MS, TTL_SECONDS, token])
        except redis_client.REDIS_ERRORS as exc:
            raise errors.Unavailable("idempotency keys are unavailable; try again shortly",
                                     refused=True) from exc
        state = _text(state)
        if state == "mismatch":
            raise errors.UnprocessableContent(
                "this Idempotency-Key was used with a different request")
        if state == "running":
            raise errors.Aborted("a request with this Idempotency-Key is still in progress; "
                                 "try again shortly")
        if state == "done":
            return Kept(int(_text(a)), bytes(b))
        op = _text(a)
        _CLAIM.set(Claim(name, token, int(op) if op else None))
        _STORE.set(self)
        return None

    async def finish(self, code: int, body: bytes) -> None:
        """Keeps the answer (when worth keeping) or releases the claim."""
        claim = _CLAIM.get()
        if claim is None:
            return
        _CLAIM.set(None)
        try:
            if code in KEPT_CODES:
                await self._redis_call(_FINISH, [claim.key],
                                       [claim.token, code, body, TTL_SECONDS])
            else:
                await self._redis_call(_RELEASE, [claim.key], [claim.token])
        except redis_client.REDIS_ERRORS:
            # The answer is not kept: a retry after the lease runs again, and
            # finds the noted operation, as after a crash.
            pass

    async def note(self, op_id: int) -> None:
        claim = _CLAIM.get()
        if claim is None:
            return
        try:
            await self._redis_call(_NOTE_OP, [claim.key], [claim.token, op_id])
        except redis_client.REDIS_ERRORS as exc:
            raise errors.Unavailable("idempotency keys are unavailable; try again shortly",
                                     refused=True) from exc

    async def _redis_call(self, script: str, keys: list[str], args: list[Any]) -> Any:
        # Replicated: a record lost with a failed-over primary would let a
        # retry run the operation a second time.
        async with redis_client.replicated_pipeline(self._redis) as pipe:
            pipe.eval(script, len(keys), *keys, *args)
            (result,) = await pipe.execute()
        return result


def previous_op() -> int | None:
    """The operation id an earlier attempt with this call's key noted, if any."""
    claim = _CLAIM.get()
    return claim.previous_op if claim else None


async def note_op(op_id: int) -> None:
    """Records, before the operation's first side effect, which operation this
    keyed call runs, so a retry after a crash can finish it. No-op unkeyed."""
    store = _STORE.get()
    if store is not None and _CLAIM.get() is not None:
        await store.note(op_id)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
