"""Who may call a method at all, from the contracts: a public method anyone, a
user method a signed-in user (services/shared/rpc/interceptors/authentication.py),
an internal method only another service, which proves it with the internal
token every service shares."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from services.shared import errors
from services.shared.contracts import Access, access_table
from services.shared.rpc.interceptors.chain import Before, Ctx, metadata

INTERNAL_TOKEN_HEADER = "x-internal-token"  # noqa: S105 - a header name


def access_policy(services: list[Any], *, foreign: bool = False) -> Callable[[str], Access]:
    """Each method's access, from its `twitter.api.v1.access` option (a
    ContractError at startup when one lacks it). `foreign`: services whose
    contract is not ours (Envoy's rate limit API) are internal throughout.
    Health and reflection are public; an unknown method is internal."""
    table = ({f"/{s.full_name}/{m.name}": Access.INTERNAL for s in services for m in s.methods}
             if foreign else access_table(services))

    def lookup(method: str) -> Access:
        if method.startswith(("/grpc.health.v1.", "/grpc.reflection.")):
            return Access.PUBLIC
        return table.get(method, Access.INTERNAL)

    return lookup


class InternalOnly(Before):
    """Internal methods answer only callers holding the internal token."""

    def __init__(self, access: Callable[[str], Access], internal_token: str) -> None:
        self._access = access
        self._token = internal_token.encode()

    def prepare(self, method: str) -> Callable[[Ctx], Awaitable[None]] | None:
        if self._access(method) is not Access.INTERNAL:
            return None
        token = self._token

        async def check(context: Ctx) -> None:
            given = metadata(context).get(INTERNAL_TOKEN_HEADER, "").encode()
            if not hmac.compare_digest(given, token):
                raise errors.PermissionDenied("internal method")
        return check
