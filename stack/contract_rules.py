"""Rules of protos/twitter/api/v1/options.proto that protoc cannot enforce,
checked on the descriptor set (`make lint`, tools/check_contracts.py):

- every RPC of ours sets `(twitter.api.v1.access)`; an ACCESS_INTERNAL one has
  no google.api.http rule (the edge would expose it);
- every message of an events.proto file sets `(twitter.api.v1.event)` with a
  subject and a stream; subjects are unique, under `twitter.`, and the stream is
  the one services/shared/messaging/events.py creates.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from google.protobuf import descriptor_pb2

from services.shared.contracts import EVENT_OPTION, ContractError, options_access
from services.shared.messaging.events import STREAM

REPO = Path(__file__).resolve().parent.parent
DESCRIPTOR = REPO / "generated" / "descriptors" / "twitter.pb"
OURS = "twitter/"


def load(path: Path = DESCRIPTOR) -> descriptor_pb2.FileDescriptorSet:
    return descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())


def problems(files: descriptor_pb2.FileDescriptorSet) -> list[str]:
    """Every broken rule, one line each ("" when the contracts are fine)."""
    ours = [f for f in files.file if f.name.startswith(OURS)]
    return [*_access_problems(ours), *_event_problems(ours)]


def _access_problems(files: list[descriptor_pb2.FileDescriptorProto]) -> Iterator[str]:
    for f in files:
        for service in f.service:
            for method in service.method:
                rpc = f"{f.package}.{service.name}.{method.name} ({f.name})"
                try:
                    options_access(rpc, method.options)
                except ContractError as exc:
                    yield str(exc)


def _event_problems(files: list[descriptor_pb2.FileDescriptorProto]) -> Iterator[str]:
    seen: dict[str, str] = {}
    for f in files:
        for message in f.message_type:
            name = f"{f.package}.{message.name}"
            has = message.options.HasExtension(EVENT_OPTION)
            if not has:
                if f.name.endswith("/events.proto"):
                    yield f"{name}: an event without a (twitter.api.v1.event) option"
                continue
            event = message.options.Extensions[EVENT_OPTION]
            if not event.subject.startswith("twitter.") or event.stream != STREAM:
                yield (f"{name}: subject {event.subject!r} / stream {event.stream!r}: want"
                       f" twitter.<entity>.<event> in stream {STREAM}")
            if event.subject in seen:
                yield f"{name}: subject {event.subject} is {seen[event.subject]}'s too"
            seen[event.subject] = name
