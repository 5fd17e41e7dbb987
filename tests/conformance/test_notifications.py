"""The notifications contract (twitter/notifications/v1/notifications.proto):
validation, the caller's own notifications only, a read position that never
moves backwards nor past now."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import grpc
import pytest
from twitter.notifications.v1 import notifications_pb2 as pb
from twitter.notifications.v1 import notifications_pb2_grpc

from tests.support.conformance import Channels, NewUser, rejected

if TYPE_CHECKING:
    Stub = notifications_pb2_grpc.NotificationServiceAsyncStub
EPOCH_MS = 1_704_067_200_000  # the id layout's epoch (DESIGN: 64-bit time-ordered ids)


@pytest.fixture(scope="module")
def notifications(channel: Channels) -> Stub:
    return notifications_pb2_grpc.NotificationServiceStub(channel("notifications"))


async def test_requests_are_validated(notifications: Stub, new_user: NewUser) -> None:
    me = await new_user()
    for call in (notifications.ListNotifications(pb.ListNotificationsRequest(page_size=-1),
                                                 metadata=me.auth),
                 notifications.ListNotifications(pb.ListNotificationsRequest(
                     page_token="not-a-token"), metadata=me.auth),
                 notifications.MarkNotificationsRead(pb.MarkNotificationsReadRequest(
                     up_to_notification_id=-1), metadata=me.auth)):
        error = await rejected(call)
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    anonymous = await rejected(notifications.GetUnreadCount(pb.GetUnreadCountRequest()))
    assert anonymous.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_the_read_position_moves_forward_only_and_not_past_now(
        notifications: Stub, new_user: NewUser) -> None:
    me = await new_user()
    now_id = (int(time.time() * 1000) - EPOCH_MS) << 22
    first = await notifications.MarkNotificationsRead(
        pb.MarkNotificationsReadRequest(up_to_notification_id=now_id - (1 << 30)),
        metadata=me.auth)
    assert first.last_read_notification_id == now_id - (1 << 30)
    back = await notifications.MarkNotificationsRead(
        pb.MarkNotificationsReadRequest(up_to_notification_id=now_id - (1 << 40)),
        metadata=me.auth)
    assert back.last_read_notification_id == first.last_read_notification_id
    future = await notifications.MarkNotificationsRead(
        pb.MarkNotificationsReadRequest(up_to_notification_id=now_id + (3600_000 << 22)),
        metadata=me.auth)
    assert now_id <= future.last_read_notification_id < now_id + (60_000 << 22)
    count = await notifications.GetUnreadCount(pb.GetUnreadCountRequest(), metadata=me.auth)
    assert count.last_read_notification_id == future.last_read_notification_id
    assert count.unread_count == 0
