"""A user's write that takes an Idempotency-Key: the first completed answer per
user and key is kept and replayed (services/shared/rpc/idempotency.py). Only
writes (RPCs the edge serves as POST, PATCH, PUT or DELETE) of user methods;
reads and calls without a key never touch the store."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from google.api import annotations_pb2
from google.protobuf import descriptor_pool, message_factory
from google.rpc import code_pb2, status_pb2
from grpc_status import rpc_status

from services.shared import errors
from services.shared.contracts import Access
from services.shared.rpc import idempotency
from services.shared.rpc.interceptors.chain import Ctx, Step, Unary, metadata
from services.shared.rpc.status import code_of, rpc_status_of
from services.shared.security import auth


class IdempotentWrites(Step):
    def __init__(self, access: Callable[[str], Access],
                 store: idempotency.IdempotencyStore) -> None:
        self._access = access
        self._store = store

    def unary(self, method: str, inner: Unary) -> Unary:
        if self._access(method) is not Access.USER or not _is_write(method):
            return inner
        store, response_class = self._store, _response_class(method)

        async def keyed(request: Any, context: Ctx) -> Any:
            given = metadata(context).get(idempotency.METADATA_KEY)
            if given is None:
                return await inner(request, context)
            kept = await store.begin(auth.caller_id(), idempotency.valid_key(given),
                                     idempotency.request_hash(method, request), uuid.uuid4().hex)
            if kept is not None:
                if kept.code == 0:
                    return response_class.FromString(kept.body)
                await context.abort_with_status(rpc_status.to_status(
                    status_pb2.Status.FromString(kept.body)))
            try:
                response = await inner(request, context)
            except errors.DomainError as exc:
                await store.finish(code_of(exc), rpc_status_of(exc).SerializeToString())
                raise
            except BaseException:
                await store.finish(code_pb2.INTERNAL, b"")  # not kept: released
                raise
            await store.finish(0, response.SerializeToString())
            return response
        return keyed


def _method_descriptor(method: str) -> Any:
    return descriptor_pool.Default().FindMethodByName(method.lstrip("/").replace("/", "."))


def _is_write(method: str) -> bool:
    """Whether the edge serves the RPC as a POST, PATCH, PUT or DELETE."""
    try:
        options = _method_descriptor(method).GetOptions()
    except KeyError:
        return False
    if not options.HasExtension(annotations_pb2.http):
        return False
    return options.Extensions[annotations_pb2.http].WhichOneof("pattern") in {
        "post", "patch", "put", "delete"}


def _response_class(method: str) -> Any:
    return message_factory.GetMessageClass(_method_descriptor(method).output_type)
