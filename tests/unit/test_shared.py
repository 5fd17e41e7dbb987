import math
import time
from datetime import UTC, datetime, timedelta

import pytest
from google.rpc import error_details_pb2, status_pb2

from services.shared.errors import InvalidArgument, NotFound, ResourceExhausted, Unavailable
from services.shared.paging.pagination import clamp_page_size
from services.shared.rpc.status import to_status
from services.shared.snowflake.ids import Grant, IdGenerator, id_time, min_id_at, worker_of


def test_ids_are_unique_and_increasing() -> None:
    gen = IdGenerator.fixed(7)
    ids = [gen.next_id() for _ in range(50_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(0 < i < 2**63 for i in ids)


def test_id_time_round_trip() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=2)
    new_id = IdGenerator.fixed(1).next_id()
    assert before <= id_time(new_id) <= datetime.now(UTC) + timedelta(milliseconds=2)
    assert min_id_at(id_time(new_id)) <= new_id


def test_page_size_clamped() -> None:
    assert clamp_page_size(0) == 20
    assert clamp_page_size(500) == 100
    assert clamp_page_size(7) == 7
    with pytest.raises(InvalidArgument):
        clamp_page_size(-1)


def test_invalid_argument_carries_bad_request_details() -> None:
    grpc_status = to_status(InvalidArgument.field("email", "must be a valid email address"))
    assert grpc_status.code.name == "INVALID_ARGUMENT"
    details = dict(grpc_status.trailing_metadata)["grpc-status-details-bin"]
    proto = status_pb2.Status.FromString(details)
    bad_request = error_details_pb2.BadRequest()
    assert proto.details[0].Unpack(bad_request)
    assert bad_request.field_violations[0].field == "email"


def test_status_codes() -> None:
    assert to_status(NotFound("x")).code.name == "NOT_FOUND"
    assert to_status(ResourceExhausted("slow down", retry_after_seconds=3)).code.name \
        == "RESOURCE_EXHAUSTED"


class SwitchableWorker:
    """A worker id source whose grant the test swaps (as a lease renews or loses it)."""

    def __init__(self, grant: Grant | None) -> None:
        self.current = grant

    def grant(self) -> Grant | None:
        return self.current


def test_ids_are_refused_without_a_valid_lease() -> None:
    source = SwitchableWorker(None)
    gen = IdGenerator(source)
    with pytest.raises(Unavailable, match="no valid worker id lease"):
        gen.next_id()
    source.current = Grant(5, time.monotonic() - 0.001)  # past its deadline
    with pytest.raises(Unavailable):
        gen.next_id()
    source.current = Grant(5, time.monotonic() + 60)
    assert worker_of(gen.next_id()) == 5


def test_ids_keep_growing_when_the_worker_id_changes() -> None:
    source = SwitchableWorker(Grant(900, math.inf))
    gen = IdGenerator(source)
    ids = [gen.next_id() for _ in range(1000)]
    source.current = Grant(3, math.inf)  # a smaller id: must not issue smaller ids
    ids += [gen.next_id() for _ in range(1000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert [worker_of(i) for i in ids] == [900] * 1000 + [3] * 1000
    with pytest.raises(ValueError, match="worker_id must be within"):
        Grant(1024, math.inf)
