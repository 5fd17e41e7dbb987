"""gRPC server reflection that can describe a method, not only its service.

grpcurl (and other reflection clients) ask for the file containing a method
symbol, e.g. `twitter.tweets.v1.TweetService.GetTweet`. Python protobuf's
default (upb) pool answers KeyError for method symbols, so reflection said
"Symbol not found". This pool resolves them through their service.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf import descriptor, descriptor_pool
from grpc_reflection.v1alpha import reflection


class MethodResolvingPool:
    """A DescriptorPool whose FindFileContainingSymbol also knows methods;
    every other lookup goes to the wrapped pool."""

    def __init__(self, pool: descriptor_pool.DescriptorPool) -> None:
        self._pool = pool

    def FindFileContainingSymbol(self, name: str) -> descriptor.FileDescriptor:
        try:
            found: descriptor.FileDescriptor = self._pool.FindFileContainingSymbol(name)
        except KeyError:
            service, _, method = name.rpartition(".")
            try:
                owner = self._pool.FindServiceByName(service)
            except KeyError:
                raise KeyError(name) from None
            if method not in owner.methods_by_name:
                raise KeyError(name) from None
            found = owner.file
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def enable(service_names: Iterable[str], server: grpc.aio.Server) -> None:
    """Reflection over the default pool, method symbols included."""
    reflection.enable_server_reflection(
        list(service_names), server, pool=MethodResolvingPool(descriptor_pool.Default()))
