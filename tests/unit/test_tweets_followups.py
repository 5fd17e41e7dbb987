"""Follow-up steps and like/retweet redo records (services/tweets/followups.py,
pairs.py): stored as JSON in outbox rows, replayable in any order, each create
step with its undo."""

from __future__ import annotations

import json

import pytest

from services.shared.snowflake.ids import IdGenerator
from services.tweets import followups
from services.tweets.domain import Kind
from services.tweets.followups import Op, Step, undo_step
from services.tweets.pairs import PairOp, retweet_record
from services.tweets.repository import Pair, RowKind, write_time
from tests.fakes.tweets import FakeFollowUps, FakeTweetStore

ALICE, BOB = 1, 2
ids = IdGenerator.fixed(4)


@pytest.mark.parametrize(("step", "undo"), [
    (followups.index(ALICE, 10, Kind.ORIGINAL), followups.unindex(ALICE, 10)),
    (followups.add_reply(10, 11), followups.remove_reply(10, 11)),
    (followups.add_quote(10, 12), followups.remove_quote(10, 12)),
    (followups.schedule_poll_end(10, 5000),
     {"op": int(Op.UNSCHEDULE_POLL_END), "tweet": 10, "ends": 5000}),
])
def test_every_create_step_has_its_undo_and_survives_json(step: Step, undo: Step) -> None:
    assert undo_step(json.loads(json.dumps(step))) == undo


@pytest.mark.parametrize("step", [followups.unindex(ALICE, 10),
                                  followups.remove_reply(10, 11), {"op": 99}])
def test_removals_have_no_undo(step: Step) -> None:
    with pytest.raises(ValueError, match="no undo"):
        undo_step(step)


async def test_a_late_replay_of_a_step_loses_to_its_undo() -> None:
    store = FakeTweetStore()
    runner = FakeFollowUps(store)
    tweet, parent = ids.next_id(), ids.next_id()
    steps = [followups.index(ALICE, tweet, Kind.REPLY), followups.add_reply(parent, tweet)]
    await runner.run([undo_step(s) for s in steps])
    await runner.run(steps)  # the relay's replay arrives after the undo
    assert await store.user_tweets(ALICE, 1 << 62, 0, 10) == []
    assert await store.replies(parent, 1 << 62, 10) == [(tweet, True)]


async def test_steps_replayed_in_order_any_number_of_times_converge() -> None:
    store = FakeTweetStore()
    runner = FakeFollowUps(store)
    tweet, parent = ids.next_id(), ids.next_id()
    steps = [followups.index(ALICE, tweet, Kind.REPLY), followups.add_reply(parent, tweet)]
    for _ in range(3):
        await runner.run(steps)
    rows = await store.user_tweets(ALICE, 1 << 62, 0, 10)
    assert [r["tweet_id"] for r in rows] == [tweet]
    assert await store.replies(parent, 1 << 62, 10) == [(tweet, False)]


async def test_an_unknown_step_is_refused_not_skipped() -> None:
    with pytest.raises(ValueError, match="unknown follow-up step"):
        FakeFollowUps(FakeTweetStore()).statements([{"op": 99}])


def test_a_pair_op_survives_its_outbox_record() -> None:
    op = PairOp(op_id=ids.next_id(), tweet=10, author=BOB, user=ALICE, kind=RowKind.RETWEET,
                ref=ids.next_id(), on=True, at=write_time(ids.next_id()))
    again = PairOp.from_json(op.to_json())
    assert again == op
    assert again.kind is RowKind.RETWEET


def test_a_pair_op_won_only_when_the_recount_saw_its_own_change() -> None:
    op = PairOp(op_id=1, tweet=10, author=BOB, user=ALICE, kind=RowKind.LIKE, ref=77,
                on=True, at=5)
    assert op.won(Pair(ALICE, 77, alive=True, written=5))
    assert not op.won(None)
    assert not op.won(Pair(ALICE, 78, alive=True, written=6))  # a later like overtook it
    assert not op.won(Pair(ALICE, 77, alive=False, written=6))  # an unlike overtook it
    off = PairOp(op_id=2, tweet=10, author=BOB, user=ALICE, kind=RowKind.LIKE, ref=77,
                 on=False, at=6)
    assert off.won(Pair(ALICE, 77, alive=False, written=6))


def test_a_retweet_is_a_tweet_of_its_own_pointing_at_the_original() -> None:
    retweet = ids.next_id()
    record = retweet_record(retweet, ALICE, 10)
    assert (record.tweet_id, record.user_id, record.kind, record.retweet_of) == (
        retweet, ALICE, Kind.RETWEET, 10)
    assert record.current.content == ""
    assert not record.deleted
