"""Events the users service publishes (through the outbox)."""

from __future__ import annotations

from twitter.users.v1 import events_pb2

from services.shared.fields.timestamps import to_timestamp
from services.shared.messaging.events import Event, make_event, new_event_id, timestamp_now
from services.users.domain import UserRecord
from services.users.lists.rules import ListRecord


def user_created(user: UserRecord) -> Event:
    return make_event(events_pb2.UserCreated(
        event_id=new_event_id(), occurred_at=timestamp_now(), user_id=user.user_id,
        username=user.username, display_name=user.display_name, bio=user.bio,
        profile_picture_url=user.profile_picture_url, created_at=to_timestamp(user.created_at),
    ))


def user_updated(user: UserRecord) -> Event:
    return make_event(events_pb2.UserUpdated(
        event_id=new_event_id(), occurred_at=timestamp_now(), user_id=user.user_id,
        username=user.username, display_name=user.display_name, bio=user.bio,
        profile_picture_url=user.profile_picture_url,
    ))


def follow_changed(follower: UserRecord, followee: UserRecord, *, created: bool) -> Event:
    message = events_pb2.FollowCreated if created else events_pb2.FollowDeleted
    return make_event(message(
        event_id=new_event_id(), occurred_at=timestamp_now(), follower_id=follower.user_id,
        followee_id=followee.user_id, followee_follower_count=followee.follower_count,
        follower_following_count=follower.following_count,
    ))


def list_member_added(record: ListRecord, member_id: int) -> Event:
    return make_event(events_pb2.ListMemberAdded(
        event_id=new_event_id(), occurred_at=timestamp_now(), list_id=record.list_id,
        owner_id=record.owner_id, member_id=member_id, list_name=record.name,
    ))
