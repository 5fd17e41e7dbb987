"""The messages service layer (services/messages/conversations.py) over an
in-memory store: who may message whom, idempotent sends, conversations and
read positions, all without servers."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest

from services.messages.conversations import Messenger
from services.messages.crypto import MessageCipher, UndecryptableMessage
from services.messages.domain import UNREAD_CAP, AllowFrom, Pair
from services.messages.repository import StoredMessage
from services.shared.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from services.shared.snowflake.ids import IdGenerator
from tests.fakes.messages import FakeMessageStore
from tests.fakes.people import FakePeople
from tests.fakes.relations import FakeRelationsCache

ALICE, BOB, CAROL, DAVE = 11, 22, 33, 44
KEY_A = "a:" + base64.b64encode(b"A" * 32).decode()
KEY_B = "b:" + base64.b64encode(b"B" * 32).decode()


@dataclass
class World:
    messenger: Messenger
    store: FakeMessageStore
    people: FakePeople
    relations: FakeRelationsCache
    cipher: MessageCipher


def world(keys: str = KEY_A, store: FakeMessageStore | None = None) -> World:
    store = store or FakeMessageStore()
    people, relations = FakePeople(ALICE, BOB, CAROL, DAVE), FakeRelationsCache()
    cipher = MessageCipher.from_spec(keys)
    return World(Messenger(store, cipher, people, IdGenerator.fixed(1), relations),
                 store, people, relations, cipher)


@pytest.fixture
def w() -> World:
    return world()


async def test_a_sent_message_is_stored_sealed_and_read_back_by_both(w: World) -> None:
    sent = await w.messenger.send(ALICE, BOB, "hello bob")
    stored = await w.store.get(Pair.of(ALICE, BOB), sent.message_id)
    assert stored is not None
    assert b"hello bob" not in stored.sealed.ciphertext
    for reader, peer in ((ALICE, BOB), (BOB, ALICE)):
        page, token = await w.messenger.list_messages(reader, peer, 10, "")
        assert [(m.sender_id, m.recipient_id, m.content) for m in page] == [
            (ALICE, BOB, "hello bob")]
        assert token == ""


@pytest.mark.parametrize(("recipient", "content", "field"), [
    (0, "hi", "recipient_user_id"),
    (ALICE, "hi", "recipient_user_id"),
    (BOB, "   ", "content"),
    (BOB, "x" * 10_001, "content"),
    (BOB, "bell\x07", "content"),
])
async def test_bad_sends_are_invalid_argument_and_store_nothing(
        w: World, recipient: int, content: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await w.messenger.send(ALICE, recipient, content)
    assert field in {v.field for v in caught.value.violations}
    assert w.store.messages == {}


async def test_a_missing_recipient_is_not_found(w: World) -> None:
    with pytest.raises(NotFound):
        await w.messenger.send(ALICE, 999, "anyone there?")
    assert w.store.messages == {}


async def test_the_blocker_is_told_and_the_blocked_sees_no_one(w: World) -> None:
    w.relations.block(ALICE, BOB)
    with pytest.raises(PermissionDenied, match="unblock"):
        await w.messenger.send(ALICE, BOB, "hi")
    with pytest.raises(NotFound, match="recipient not found"):
        await w.messenger.send(BOB, ALICE, "hi")
    assert w.store.messages == {}


async def test_a_mute_does_not_stop_messages(w: World) -> None:
    w.relations.mute(BOB, ALICE)
    await w.messenger.send(ALICE, BOB, "hi")
    assert len(w.store.messages[Pair.of(ALICE, BOB)]) == 1


async def test_followed_only_accepts_people_the_recipient_follows(w: World) -> None:
    assert await w.messenger.set_allow_from(BOB, AllowFrom.FOLLOWED) is AllowFrom.FOLLOWED
    with pytest.raises(PermissionDenied, match="follow"):
        await w.messenger.send(ALICE, BOB, "hi")
    w.people.follow(ALICE, BOB)  # the sender following is not enough
    with pytest.raises(PermissionDenied):
        await w.messenger.send(ALICE, BOB, "hi")
    w.people.follow(BOB, ALICE)
    await w.messenger.send(ALICE, BOB, "hi")


async def test_allow_from_defaults_to_everyone_and_none_leaves_it(w: World) -> None:
    assert await w.messenger.allow_from(BOB) is AllowFrom.EVERYONE
    await w.messenger.set_allow_from(BOB, AllowFrom.FOLLOWED)
    assert await w.messenger.set_allow_from(BOB, None) is AllowFrom.FOLLOWED
    assert await w.messenger.allow_from(BOB) is AllowFrom.FOLLOWED


async def test_a_retried_send_returns_the_first_message(w: World) -> None:
    first = await w.messenger.send(ALICE, BOB, "once", "key-1")
    again = await w.messenger.send(ALICE, BOB, "once", "key-1")
    assert again.message_id == first.message_id
    assert len(w.store.messages[Pair.of(ALICE, BOB)]) == 1


async def test_a_key_reused_for_another_message_is_already_exists(w: World) -> None:
    await w.messenger.send(ALICE, BOB, "once", "key-1")
    with pytest.raises(AlreadyExists):
        await w.messenger.send(ALICE, BOB, "something else", "key-1")
    with pytest.raises(AlreadyExists):  # same words to someone else
        await w.messenger.send(ALICE, CAROL, "once", "key-1")
    assert Pair.of(ALICE, CAROL) not in w.store.messages


async def test_keys_are_the_senders_own(w: World) -> None:
    mine = await w.messenger.send(ALICE, BOB, "hi", "k")
    theirs = await w.messenger.send(BOB, ALICE, "hi", "k")
    assert mine.message_id != theirs.message_id


async def test_a_send_that_failed_half_way_is_finished_by_its_retry(w: World) -> None:
    w.store.fail_add = True
    with pytest.raises(TimeoutError):
        await w.messenger.send(ALICE, BOB, "retry me", "key-2")
    claimed = w.store.keys[(ALICE, "key-2")].message_id
    done = await w.messenger.send(ALICE, BOB, "retry me", "key-2")
    assert done.message_id == claimed  # the id the first attempt claimed
    page, _ = await w.messenger.list_messages(BOB, ALICE, 10, "")
    assert [m.message_id for m in page] == [claimed]


async def test_a_retry_after_key_rotation_is_still_recognised() -> None:
    store = FakeMessageStore()
    old = world(KEY_A, store)
    first = await old.messenger.send(ALICE, BOB, "rotated", "key-3")
    new = world(f"{KEY_B},{KEY_A}", store)  # a new primary key, the old still decrypts
    again = await new.messenger.send(ALICE, BOB, "rotated", "key-3")
    assert again.message_id == first.message_id
    with pytest.raises(AlreadyExists):
        await new.messenger.send(ALICE, BOB, "not the same", "key-3")


async def test_the_recipient_never_sees_the_senders_key(w: World) -> None:
    await w.messenger.send(ALICE, BOB, "hi", "private-key")
    (mine,), _ = await w.messenger.list_messages(ALICE, BOB, 10, "")
    (theirs,), _ = await w.messenger.list_messages(BOB, ALICE, 10, "")
    assert mine.client_message_id == "private-key"
    assert theirs.client_message_id == ""


async def test_messages_page_newest_first_without_gaps_or_repeats(w: World) -> None:
    sent = [(await w.messenger.send(ALICE if i % 2 else BOB, BOB if i % 2 else ALICE,
                                    f"m{i}")).message_id for i in range(7)]
    seen: list[int] = []
    token = ""
    while True:
        page, token = await w.messenger.list_messages(BOB, ALICE, 3, token)
        assert len(page) <= 3
        seen += [m.message_id for m in page]
        if not token:
            break
    assert seen == sorted(sent, reverse=True)


async def test_a_page_token_serves_both_users_of_the_conversation_only(w: World) -> None:
    for i in range(3):
        await w.messenger.send(ALICE, BOB, f"m{i}")
    await w.messenger.send(ALICE, CAROL, "other")
    _, token = await w.messenger.list_messages(ALICE, BOB, 1, "")
    page, _ = await w.messenger.list_messages(BOB, ALICE, 5, token)
    assert len(page) == 2
    with pytest.raises(InvalidArgument):
        await w.messenger.list_messages(ALICE, CAROL, 5, token)


async def test_no_conversation_is_not_found(w: World) -> None:
    with pytest.raises(NotFound):
        await w.messenger.list_messages(ALICE, BOB, 10, "")
    with pytest.raises(NotFound):
        await w.messenger.mark_read(ALICE, BOB, 0)
    with pytest.raises(NotFound):
        await w.messenger.list_messages(ALICE, -1, 10, "")


async def test_conversations_list_newest_first_with_last_message_and_unread(w: World) -> None:
    await w.messenger.send(BOB, ALICE, "from bob 1")
    await w.messenger.send(CAROL, ALICE, "from carol")
    await w.messenger.send(BOB, ALICE, "from bob 2")
    await w.messenger.send(ALICE, DAVE, "to dave")
    conversations, token = await w.messenger.list_conversations(ALICE, 10, "")
    assert token == ""
    assert [(c.peer.user_id, c.last_message.content, c.unread_count)
            for c in conversations] == [
        (DAVE, "to dave", 0), (BOB, "from bob 2", 2), (CAROL, "from carol", 1)]
    assert conversations[0].peer.username == f"user{DAVE}"


async def test_conversations_page_without_repeats(w: World) -> None:
    for peer in (BOB, CAROL, DAVE):
        await w.messenger.send(peer, ALICE, "hi")
        await w.messenger.send(ALICE, peer, "hi back")
    first, token = await w.messenger.list_conversations(ALICE, 2, "")
    rest, last = await w.messenger.list_conversations(ALICE, 2, token)
    assert [c.peer.user_id for c in first + rest] == [DAVE, CAROL, BOB]
    assert last == ""
    with pytest.raises(InvalidArgument):  # another user's token
        await w.messenger.list_conversations(BOB, 2, token)


async def test_stale_inbox_rows_are_skipped_and_removed(w: World) -> None:
    first = await w.messenger.send(BOB, ALICE, "one")
    second = await w.messenger.send(BOB, ALICE, "two")
    # A concurrent send left the older row behind (its removal lost the race).
    w.store.inboxes[ALICE][first.message_id] = BOB
    conversations, _ = await w.messenger.list_conversations(ALICE, 10, "")
    assert [c.last_message.message_id for c in conversations] == [second.message_id]
    assert first.message_id not in w.store.inboxes[ALICE]


async def test_an_older_message_landing_late_does_not_move_the_conversation_back(
        w: World) -> None:
    ids = IdGenerator.fixed(2)
    early, late = ids.next_id(), ids.next_id()
    cipher = w.cipher
    pair = Pair.of(ALICE, BOB)
    await w.store.add(StoredMessage(pair, late, ALICE, cipher.seal(pair, late, ALICE, "new"),
                                    ""))
    await w.store.add(StoredMessage(pair, early, ALICE,
                                    cipher.seal(pair, early, ALICE, "old"), ""))
    state = await w.store.state(BOB, ALICE)
    assert state is not None
    assert state.last_message_id == late
    conversations, _ = await w.messenger.list_conversations(BOB, 10, "")
    assert [c.last_message.content for c in conversations] == ["new"]


async def test_mark_read_moves_forward_only(w: World) -> None:
    ids = [(await w.messenger.send(BOB, ALICE, f"m{i}")).message_id for i in range(3)]
    assert await w.messenger.mark_read(ALICE, BOB, ids[1]) == (1, ids[1])
    assert await w.messenger.mark_read(ALICE, BOB, ids[0]) == (1, ids[1])  # not back
    assert await w.messenger.mark_read(ALICE, BOB, 0) == (0, ids[2])  # 0: everything
    conversations, _ = await w.messenger.list_conversations(ALICE, 10, "")
    assert conversations[0].last_read_message_id == ids[2]
    assert conversations[0].unread_count == 0


async def test_mark_read_of_a_message_outside_the_conversation_is_not_found(
        w: World) -> None:
    await w.messenger.send(BOB, ALICE, "hi")
    other = await w.messenger.send(CAROL, ALICE, "hi")
    with pytest.raises(NotFound):
        await w.messenger.mark_read(ALICE, BOB, other.message_id)
    with pytest.raises(NotFound):
        await w.messenger.mark_read(ALICE, BOB, -5)


async def test_own_messages_are_never_unread(w: World) -> None:
    for _ in range(3):
        await w.messenger.send(ALICE, BOB, "mine")
    conversations, _ = await w.messenger.list_conversations(ALICE, 10, "")
    assert conversations[0].unread_count == 0


async def test_unread_counts_stop_at_the_cap(w: World) -> None:
    pair = Pair.of(ALICE, BOB)
    assert await w.store.unread(pair, BOB, 0) == 0
    ids = IdGenerator.fixed(3)
    for _ in range(UNREAD_CAP + 5):
        mid = ids.next_id()
        w.store.messages.setdefault(pair, {})[mid] = StoredMessage(
            pair, mid, BOB, w.cipher.seal(pair, mid, BOB, "x"), "")
    assert await w.store.unread(pair, BOB, 0) == UNREAD_CAP


async def test_a_message_sealed_for_another_row_does_not_open(w: World) -> None:
    sent = await w.messenger.send(ALICE, BOB, "bound")
    pair = Pair.of(ALICE, BOB)
    stored = w.store.messages[pair][sent.message_id]
    with pytest.raises(UndecryptableMessage):
        w.cipher.open(pair, sent.message_id + 1, ALICE, stored.sealed)
    with pytest.raises(UndecryptableMessage):
        w.cipher.open(pair, sent.message_id, BOB, stored.sealed)
    retired = MessageCipher.from_spec(KEY_B)
    with pytest.raises(UndecryptableMessage, match="no key"):
        retired.open(pair, sent.message_id, ALICE, stored.sealed)
