"""Posting, reading, editing and deleting tweets, and the lists of them
(service layer). The caller's id comes in explicitly.

Replying to a deleted or missing tweet is NOT_FOUND (HTTP 404), as for every
other read of a deleted tweet: to a client the parent simply does not exist,
and FAILED_PRECONDITION would leak that it once did. A reply stays when its
parent is deleted later (reply_to_tweet_id keeps the id).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.shared.errors import InvalidArgument, Validator
from services.shared.fields.places import normalize_place
from services.shared.paging.cursor import LastId
from services.shared.rpc import idempotency
from services.shared.snowflake.ids import IdGenerator, id_time, min_id_at
from services.tweets import events, followups
from services.tweets.domain import (
    EDIT_WINDOW,
    Kind,
    Revision,
    TweetRecord,
    check_author,
    check_editable,
    validate_content,
    validate_media_ids,
)
from services.tweets.engagement import Engagement
from services.tweets.entities import extract
from services.tweets.media import MediaClient
from services.tweets.outbox import Change, Outbox
from services.tweets.polls.rules import PollDefinition, PollInput
from services.tweets.polls.service import Polls
from services.tweets.reads import (
    EDITS,
    RECENT_IDS,
    REPLIES,
    USER_TWEETS,
    CachedReads,
    Reader,
    page_bound,
)
from services.tweets.repository import TweetStore
from services.tweets.users import UsersClient

MAX_BATCH = 100


@dataclass(frozen=True)
class Posted:
    tweet_id: int
    record: TweetRecord | None


@dataclass(frozen=True)
class TweetRef:
    tweet_id: int
    created_at: datetime
    kind: Kind
    retweet_of: int


class Tweets:
    def __init__(self, store: TweetStore, outbox: Outbox, reader: Reader, reads: CachedReads,
                 users: UsersClient,
                 engagement: Engagement, ids: IdGenerator, media: MediaClient, *,
                 polls: Polls, edit_window: timedelta = EDIT_WINDOW) -> None:
        self._store = store
        self._outbox = outbox
        self._reader = reader
        self._reads = reads
        self._users = users
        self._engagement = engagement
        self._ids = ids
        self._edit_window = edit_window
        self._media = media
        self._polls = polls

    async def create(self, caller: int, content: str, media_ids: list[int],
                     reply_to: int, place: str = "", quoted: int = 0,
                     poll: PollInput | None = None) -> int:
        """Posts a tweet (a quote tweet when `quoted` is set), with a poll when
        asked; returns its id."""
        return (await self.post(caller, content, media_ids, reply_to, place, quoted,
                                poll)).tweet_id

    async def post(self, caller: int, content: str, media_ids: list[int],
                   reply_to: int, place: str = "", quoted: int = 0,
                   poll: PollInput | None = None) -> Posted:
        """`create`, with the record written (None when an earlier attempt under
        the same Idempotency-Key is the answer), which its answer can show."""
        media, place, text = self._valid_input(content, media_ids, reply_to, place, quoted,
                                               poll)

        async def parent() -> int:
            # A reply to a retweet answers its original.
            return (await self._reads.target(reply_to))[0] if reply_to else 0

        async def quoting() -> tuple[int, int]:
            # A quote of a retweet quotes its original: (tweet, its author).
            return await self._reads.target(quoted) if quoted else (0, 0)

        # Independent checks, so one round trip's worth of waiting rather than four:
        # only the author's own READY media may be attached; the parent and the
        # quoted tweet must exist; mentions resolve to users.
        _, reply_to, (quoted, quoted_author), revision = await asyncio.gather(
            self._media.check_attachable(caller, media), parent(), quoting(),
            self._revision(1, text, created_at=None))
        kind = Kind.REPLY if reply_to else Kind.ORIGINAL

        def poll_of(tweet_id: int) -> PollDefinition | None:
            """The poll as the tweet with this id carries it (it ends by the id's time)."""
            return self._polls.define(poll, id_time(tweet_id), has_media=False) if poll else None

        def steps_of(tweet_id: int) -> list[followups.Step]:
            steps = [followups.index(caller, tweet_id, kind)]
            if reply_to:
                steps.append(followups.add_reply(reply_to, tweet_id))
            if quoted:
                steps.append(followups.add_quote(quoted, tweet_id))
            if (defined := poll_of(tweet_id)) is not None:
                steps.append(self._polls.schedule_end(tweet_id, defined))
            return steps

        # A retry under an Idempotency-Key whose earlier attempt began a create
        # (and died, or answered "unconfirmed") settles that one first: if it
        # landed, it is the answer; if not, it is fenced and a new id goes out.
        earlier = idempotency.previous_op()
        if earlier is not None and await self._outbox.settle_create(earlier, steps_of(earlier)):
            return Posted(earlier, None)
        tweet_id = self._ids.next_id()
        await idempotency.note_op(tweet_id)
        created = id_time(tweet_id)
        record = TweetRecord(
            tweet_id=tweet_id, user_id=caller, kind=kind,
            current=Revision(1, revision.content, revision.hashtags, revision.mentions,
                             revision.urls, created),
            media_ids=media, created_at=created, edited_at=None, like_count=0,
            retweet_count=0, reply_count=0, reply_to=reply_to, retweet_of=0, deleted=False,
            place=place, quoted_tweet_id=quoted,
            poll=poll_of(tweet_id),
        )
        steps = steps_of(tweet_id)
        writes = [self._store.insert_tweet(record)]
        if record.poll is not None:
            writes.append(self._polls.write(record))
        # Once begun, a create finishes even if its caller goes away.
        await asyncio.shield(self._outbox.create(record, Change(
            writes, [events.created(record, quoted_author=quoted_author)], steps)))
        return Posted(tweet_id, record)

    def _valid_input(self, content: str, media_ids: list[int], reply_to: int, place: str,
                     quoted: int, poll: PollInput | None) -> tuple[list[int], str, str]:
        """A create's own fields checked: its media ids, place and text."""
        media = validate_media_ids(media_ids, datetime.now(UTC))
        if poll is not None:  # validated now (its end is fixed once the id is known)
            self._polls.define(poll, datetime.now(UTC), has_media=bool(media))
        place = normalize_place(place)
        text = validate_content(content, has_media=bool(media))
        v = Validator()
        v.check(reply_to >= 0, "reply_to_tweet_id", "must be a tweet id")
        v.check(quoted >= 0, "quoted_tweet_id", "must be a tweet id")
        v.raise_if_any()
        return media, place, text

    async def edit(self, caller: int, tweet_id: int, content: str) -> None:
        now = datetime.now(UTC)
        tweet = await self._reader.alive(tweet_id)
        check_editable(tweet, caller, now, self._edit_window)
        text = validate_content(content, has_media=bool(tweet.media_ids))
        draft = await self._revision(0, text, created_at=now)

        async def plan(fresh: bool) -> Change:
            current = await self._reader.alive(tweet_id, serial=fresh)
            number = current.current.revision + 1
            new = Revision(number, draft.content, draft.hashtags, draft.mentions, draft.urls, now)
            store = self._store
            return Change(
                [store.statement("set_revision", (number, now, tweet_id, number - 1)),
                 store.statement("insert_revision", store.revision_values(tweet_id, new))],
                [events.edited(current, new, now)])

        await self._outbox.apply(tweet_id, plan)

    async def delete(self, caller: int, tweet_id: int) -> None:
        tweet = await self._reader.alive(tweet_id)
        check_author(tweet, caller, "delete")
        if tweet.kind is Kind.RETWEET:
            await self._engagement.unretweet(caller, tweet.retweet_of)
            return

        async def plan(fresh: bool) -> Change:
            current = await self._reader.alive(tweet_id, serial=fresh)
            steps = [followups.unindex(current.user_id, tweet_id)]
            if current.reply_to:
                steps.append(followups.remove_reply(current.reply_to, tweet_id))
            if current.quoted_tweet_id:
                steps.append(followups.remove_quote(current.quoted_tweet_id, tweet_id))
            return Change([self._store.statement("mark_deleted", (tweet_id,))],
                          [events.deleted(current)], steps)

        await self._outbox.apply(tweet_id, plan)

    async def list_user_tweets(self, user_id: int, page_size: int,
                               page_token: str) -> tuple[list[int], str]:
        """Ids of a user's tweets and retweets, newest first, and the next token."""
        req = USER_TWEETS.request(user_id, page_size, page_token)
        rows = await self._store.user_tweets(user_id, page_bound(req), 0, req.fetch_size)
        page, token = req.page(rows, lambda r: LastId(r["tweet_id"]))
        return [r["tweet_id"] for r in page], token

    async def recent_ids(self, user_id: int, since: datetime | None, page_size: int,
                         page_token: str, before_id: int = 0) -> tuple[list[TweetRef], str]:
        req = RECENT_IDS.request(user_id, page_size, page_token, default=100, maximum=1000)
        if before_id < 0:
            raise InvalidArgument.field("before_tweet_id", "must be a tweet id")
        bound = min(page_bound(req), before_id) if before_id else page_bound(req)
        # Strictly after `since`: ids carry milliseconds, as created_at does.
        floor = min_id_at(since + timedelta(milliseconds=1)) if since else 0
        rows = await self._store.user_tweets(user_id, bound, floor, req.fetch_size)
        page, token = req.page(rows, lambda r: LastId(r["tweet_id"]))
        return [TweetRef(r["tweet_id"], id_time(r["tweet_id"]), Kind(r["kind"]),
                         r["retweet_of"] or 0) for r in page], token

    async def list_replies(self, tweet_id: int, page_size: int,
                           page_token: str) -> tuple[list[int], str]:
        """Ids of the replies to a tweet (its original, for a retweet), newest first."""
        req = REPLIES.request(tweet_id, page_size, page_token)
        parent, _ = await self._reads.target(tweet_id)
        rows = await self._store.replies(parent, page_bound(req), req.fetch_size)
        page, token = req.page(rows, lambda r: LastId(r[0]))
        return [r for r, removed in page if not removed], token

    async def list_edits(self, tweet_id: int, page_size: int,
                         page_token: str) -> tuple[list[Revision], str]:
        req = EDITS.request(tweet_id, page_size, page_token)
        await self._reader.alive(tweet_id)
        rows = await self._store.revisions(tweet_id, page_bound(req), req.fetch_size)
        return req.page(rows, lambda r: LastId(r.revision))

    async def _revision(self, number: int, text: str, *,
                        created_at: datetime | None) -> Revision:
        found = extract(text)
        mentions = await self._users.resolve_mentions(found.mention_names)
        return Revision(number, text, found.hashtags, mentions, found.urls,
                        created_at or datetime.now(UTC))

