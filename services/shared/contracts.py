"""What the contracts say beyond types, read from their descriptors: who may
call each RPC (the `twitter.api.v1.access` method option) and where each event
is published (the `twitter.api.v1.event` message option,
protos/twitter/api/v1/options.proto). No other module lists either."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from types import ModuleType
from typing import Any

from google.api import annotations_pb2
from google.protobuf.descriptor import Descriptor, MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from twitter.api.v1 import options_pb2

# The two extensions. protoc's .pyi types them as plain FieldDescriptors, which
# the typed Extensions API refuses: typed loosely here, once.
ACCESS_OPTION: Any = options_pb2.access
EVENT_OPTION: Any = options_pb2.event


class Access(Enum):
    PUBLIC = "public"  # anyone, e.g. sign-up and login
    USER = "user"  # a valid access token
    INTERNAL = "internal"  # other services only (shared internal token)


_ACCESS: dict[int, Access] = {
    options_pb2.ACCESS_PUBLIC: Access.PUBLIC, options_pb2.ACCESS_USER: Access.USER,
    options_pb2.ACCESS_INTERNAL: Access.INTERNAL}


class ContractError(ValueError):
    """A contract breaks a rule of options.proto (an RPC without access, an
    exposed internal RPC, an event without a subject)."""


def rpc_path(service: ServiceDescriptor, method: MethodDescriptor) -> str:
    return f"/{service.full_name}/{method.name}"


def access_value(options: Any) -> int:
    """The raw access of a MethodOptions (0 when it is not set)."""
    return int(options.Extensions[ACCESS_OPTION])


def exposed(options: Any) -> bool:
    """Whether a MethodOptions has an HTTP binding (the edge serves it)."""
    return bool(options.HasExtension(annotations_pb2.http))


def options_access(rpc: str, options: Any) -> Access:
    """The access a MethodOptions (of a runtime descriptor or a descriptor set)
    grants; ContractError when it is missing or contradicts an HTTP binding."""
    access = _ACCESS.get(access_value(options))
    if access is None:
        raise ContractError(f"{rpc}: no (twitter.api.v1.access) option")
    if access is Access.INTERNAL and exposed(options):
        raise ContractError(f"{rpc}: an internal RPC must not have a google.api.http rule")
    return access


def method_access(service: ServiceDescriptor, method: MethodDescriptor) -> Access:
    return options_access(rpc_path(service, method), method.GetOptions())


def access_table(services: Iterable[ServiceDescriptor]) -> dict[str, Access]:
    """gRPC path ("/pkg.Service/Method") to its access."""
    return {rpc_path(s, m): method_access(s, m) for s in services for m in s.methods}


@dataclass(frozen=True)
class EventRoute:
    """Where an event message is published."""

    subject: str
    stream: str


def event_route(message: type[Message] | Message | Descriptor) -> EventRoute:
    """The subject and stream of an event message (class, instance or descriptor)."""
    return _route(message if isinstance(message, Descriptor) else message.DESCRIPTOR)


@functools.cache
def _route(descriptor: Descriptor) -> EventRoute:
    # Read once per message type: every publish asks (services/shared/messaging/events.py).
    options = descriptor.GetOptions()
    if not options.HasExtension(EVENT_OPTION):
        raise ContractError(f"{descriptor.full_name}: no (twitter.api.v1.event) option")
    event = options.Extensions[EVENT_OPTION]
    if not event.subject or not event.stream:
        raise ContractError(f"{descriptor.full_name}: the event option needs subject and stream")
    return EventRoute(event.subject, event.stream)


def subject(message: type[Message] | Message) -> str:
    return event_route(message).subject


def events_of(module: ModuleType) -> Iterator[type[Message]]:
    """The event message classes of a generated *_pb2 module."""
    for name in module.DESCRIPTOR.message_types_by_name:
        cls: type[Message] = getattr(module, name)
        if cls.DESCRIPTOR.GetOptions().HasExtension(EVENT_OPTION):
            yield cls


def by_subject(*modules: ModuleType) -> dict[str, type[Message]]:
    """Subject to event class, for every event of the given *_pb2 modules."""
    return {subject(cls): cls for module in modules for cls in events_of(module)}


def subject_filter(subjects: Iterable[str]) -> str:
    """The narrowest `a.b.>` wildcard covering the subjects (the filter of a
    durable consumer of just those events)."""
    tokens = [s.split(".") for s in subjects]
    common: list[str] = []
    for column in zip(*tokens, strict=False):
        if len(set(column)) > 1:
            break
        common.append(column[0])
    if len(common) == min(map(len, tokens)):  # one subject: no wildcard needed
        return ".".join(common)
    return ".".join([*common, ">"])
