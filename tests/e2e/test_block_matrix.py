"""The authorization matrix of blocks (issues 20 and 31): every public route,
called by a user whom the owner of the resource blocks. The convention
(Mastodon's; docs/SECURITY.md, "Blocks"): to the blocked user the blocker and
everything of theirs do not exist, word for word as a missing user or tweet
answers (404): the blocker's profile, follower lists, tweets, their replies,
likes and edits, likes, retweets, replies, edits and deletes aimed at those
tweets, following the blocker and messaging them. Routes on the caller's own
resources, or on nobody's, answer as they would anyway. A route added without
a row here fails the coverage test."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from edge import render, routes
from tests.support.blocks import relate
from tests.support.edge import tweet
from tests.support.users import User, login, new_user, sign_up, unique_name

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Scene:
    edge: httpx.AsyncClient
    blocker: User
    blocked: User
    tweet_id: str  # the blocker's
    media_id: str  # the blocker's
    list_id: str = "0"  # the blocker's public list

    @property
    def a(self) -> str:
        return str(self.blocker["userId"])

    @property
    def b(self) -> str:
        return str(self.blocked["userId"])

    def get(self, path: str, **params: Any) -> Awaitable[httpx.Response]:
        return self.edge.get(path, params=params, headers=self.blocked["headers"])

    def send(self, method: str, path: str, body: Any = None) -> Awaitable[httpx.Response]:
        return self.edge.request(method, path, json=body, headers=self.blocked["headers"])


Call = Callable[[Scene], Awaitable[httpx.Response]]


async def _refresh(s: Scene) -> httpx.Response:
    tokens = (await login(s.edge, s.blocked["username"])).json()
    return await s.edge.post("/v1/auth/refresh", json={"refreshToken": tokens["refreshToken"]})


async def _logout(s: Scene) -> httpx.Response:
    tokens = (await login(s.edge, s.blocked["username"])).json()  # a session of its own
    return await s.edge.post("/v1/auth/logout", json={"refreshToken": tokens["refreshToken"]})


def _open_stream(path: str) -> Call:
    async def call(s: Scene) -> httpx.Response:
        """A live stream's answer, without reading the stream (it never ends)."""
        async with s.edge.stream("GET", path, headers=s.blocked["headers"]) as response:
            return response
    return call


# RPC -> (the blocked user's call, the status they get). In this order: the
# blocked user's own block and mute of the blocker come last.
MATRIX: dict[str, tuple[Call, int]] = {
    # users and auth
    "CreateUser": (lambda s: sign_up(s.edge), 200),
    "Login": (lambda s: login(s.edge, s.blocked["username"]), 200),
    "RefreshToken": (_refresh, 200),
    "Logout": (_logout, 200),
    "GetJwks": (lambda s: s.edge.get("/.well-known/jwks.json"), 200),
    "GetUser": (lambda s: s.get(f"/v1/users/{s.a}"), 404),
    "GetUserByUsername": (lambda s: s.get(f"/v1/users/by-username/{s.blocker['username']}"),
                          404),
    "UpdateUser": (lambda s: s.send("PATCH", f"/v1/users/{s.a}", {"bio": "x"}), 403),
    "FollowUser": (lambda s: s.send("POST", f"/v1/users/{s.b}/follow",
                                    {"targetUserId": s.a}), 404),
    "UnfollowUser": (lambda s: s.send("DELETE", f"/v1/users/{s.b}/follow/{s.a}"), 200),
    "ListFollowers": (lambda s: s.get(f"/v1/users/{s.a}/followers"), 404),
    "ListFollowing": (lambda s: s.get(f"/v1/users/{s.a}/following"), 404),
    "ListBlocks": (lambda s: s.get("/v1/me/blocks"), 200),
    # pinning the blocker's tweet: as a missing tweet; one's own pin is one's own
    "PinTweet": (lambda s: s.send("PUT", f"/v1/users/{s.b}/pinned-tweet",
                                  {"tweetId": s.tweet_id}), 404),
    "UnpinTweet": (lambda s: s.send("DELETE", f"/v1/users/{s.b}/pinned-tweet"), 200),
    "ListMutes": (lambda s: s.get("/v1/me/mutes"), 200),
    # tweets
    "CreateTweet": (lambda s: s.send("POST", "/v1/tweets",
                                     {"content": "re", "replyToTweetId": s.tweet_id}), 404),
    "GetTweet": (lambda s: s.get(f"/v1/tweets/{s.tweet_id}"), 404),
    "UpdateTweet": (lambda s: s.send("PATCH", f"/v1/tweets/{s.tweet_id}",
                                     {"content": "mine now"}), 404),
    "DeleteTweet": (lambda s: s.send("DELETE", f"/v1/tweets/{s.tweet_id}"), 404),
    # as for a user who does not exist: no tweets
    "ListUserTweets": (lambda s: s.get(f"/v1/users/{s.a}/tweets"), 200),
    "LikeTweet": (lambda s: s.send("POST", f"/v1/tweets/{s.tweet_id}/like", {}), 404),
    "UnlikeTweet": (lambda s: s.send("DELETE", f"/v1/tweets/{s.tweet_id}/like"), 404),
    "Retweet": (lambda s: s.send("POST", f"/v1/tweets/{s.tweet_id}/retweet", {}), 404),
    "Unretweet": (lambda s: s.send("DELETE", f"/v1/tweets/{s.tweet_id}/retweet"), 404),
    "ListReplies": (lambda s: s.get(f"/v1/tweets/{s.tweet_id}/replies"), 404),
    "ListLikingUsers": (lambda s: s.get(f"/v1/tweets/{s.tweet_id}/likes"), 404),
    "ListTweetEdits": (lambda s: s.get(f"/v1/tweets/{s.tweet_id}/edits"), 404),
    # bookmarks are the caller's own; removing one of a tweet not there is a no-op
    "BookmarkTweet": (lambda s: s.send("POST", f"/v1/tweets/{s.tweet_id}/bookmark", {}), 404),
    "UnbookmarkTweet": (lambda s: s.send("DELETE", f"/v1/tweets/{s.tweet_id}/bookmark"), 200),
    "ListBookmarks": (lambda s: s.get("/v1/me/bookmarks"), 200),
    # polls (the blocker's poll itself: test_polls_edge.py)
    "GetPoll": (lambda s: s.get(f"/v1/tweets/{s.tweet_id}/poll"), 404),
    "VotePoll": (lambda s: s.send("POST", f"/v1/tweets/{s.tweet_id}/poll/vote",
                                  {"option": 1}), 404),
    # search (the blocker's tweets and account are left out of the results:
    # test_blocks_edge.py)
    "SearchTweets": (lambda s: s.get("/v1/search/tweets", q="mine"), 200),
    "SearchUsers": (lambda s: s.get("/v1/search/users", q=s.blocker["username"]), 200),
    "GetTrends": (lambda s: s.get("/v1/trends"), 200),
    # timelines are their owner's only, blocked or not
    "GetHomeTimeline": (lambda s: s.get(f"/v1/timeline/{s.a}"), 403),
    "GetMentionsTimeline": (lambda s: s.get(f"/v1/timeline/{s.a}/mentions"), 403),
    "StreamHomeTimeline": (lambda s: s.get(f"/v1/timeline/{s.a}/stream"), 403),
    "StreamHomeTimelineEvents": (lambda s: s.get(f"/v1/timeline/{s.a}/events"), 403),
    # media is its owner's only, blocked or not
    "CreateUpload": (lambda s: s.send("POST", "/v1/media",
                                      {"contentType": "image/png", "sizeBytes": 100}), 200),
    "CompleteUpload": (lambda s: s.send("POST", f"/v1/media/{s.media_id}/complete", {}), 404),
    "GetMedia": (lambda s: s.get(f"/v1/media/{s.media_id}"), 404),
    # messages: no new message either way; the history stays (as on Twitter)
    "SendMessage": (lambda s: s.send("POST", "/v1/messages",
                                     {"recipientUserId": s.a, "content": "hi"}), 404),
    "ListConversations": (lambda s: s.get("/v1/conversations"), 200),
    "ListMessages": (lambda s: s.get(f"/v1/conversations/{s.a}/messages"), 200),
    "MarkConversationRead": (lambda s: s.send("POST", f"/v1/conversations/{s.a}/read", {}),
                             200),
    "GetMessagingSettings": (lambda s: s.get("/v1/messaging/settings"), 200),
    "UpdateMessagingSettings": (lambda s: s.send("PATCH", "/v1/messaging/settings", {}), 200),
    # notifications are the caller's own, blocked or not
    "ListNotifications": (lambda s: s.get("/v1/notifications"), 200),
    "GetUnreadCount": (lambda s: s.get("/v1/notifications/unread-count"), 200),
    "MarkNotificationsRead": (lambda s: s.send("POST", "/v1/notifications/read", {}), 200),
    "StreamNotifications": (_open_stream("/v1/notifications/stream"), 200),
    "StreamNotificationEvents": (_open_stream("/v1/notifications/events"), 200),
    # lists: the blocker's public list does not exist for the blocked user
    "CreateList": (lambda s: s.send("POST", "/v1/lists", {"name": "mine"}), 200),
    "GetList": (lambda s: s.get(f"/v1/lists/{s.list_id}"), 404),
    "UpdateList": (lambda s: s.send("PATCH", f"/v1/lists/{s.list_id}", {"name": "x"}), 404),
    "DeleteList": (lambda s: s.send("DELETE", f"/v1/lists/{s.list_id}"), 404),
    "AddListMember": (lambda s: s.send("POST", f"/v1/lists/{s.list_id}/members",
                                       {"userId": s.b}), 404),
    "RemoveListMember": (lambda s: s.send("DELETE", f"/v1/lists/{s.list_id}/members/{s.a}"),
                         404),
    "ListListMembers": (lambda s: s.get(f"/v1/lists/{s.list_id}/members"), 404),
    "FollowList": (lambda s: s.send("POST", f"/v1/lists/{s.list_id}/follow", {}), 404),
    "UnfollowList": (lambda s: s.send("DELETE", f"/v1/lists/{s.list_id}/follow"), 404),
    "ListOwnedLists": (lambda s: s.get(f"/v1/users/{s.a}/lists"), 404),
    "ListFollowedLists": (lambda s: s.get(f"/v1/users/{s.a}/followed-lists"), 403),
    "GetListTimeline": (lambda s: s.get(f"/v1/lists/{s.list_id}/timeline"), 404),
    # the blocked user may mute and block back
    "MuteUser": (lambda s: s.send("POST", f"/v1/users/{s.blocker['username']}/mute", {}), 200),
    "UnmuteUser": (lambda s: s.send("DELETE", f"/v1/users/{s.blocker['username']}/mute"), 200),
    "BlockUser": (lambda s: s.send("POST", f"/v1/users/{s.blocker['username']}/block", {}),
                  200),
    "UnblockUser": (lambda s: s.send("DELETE", f"/v1/users/{s.blocker['username']}/block"),
                    200),
}


def test_every_route_has_a_row() -> None:
    bound = {b.method for b in routes.bindings(list(render.grpc_services()), render.DESCRIPTOR)}
    assert bound == set(MATRIX), (bound ^ set(MATRIX))


async def test_what_a_blocked_user_gets_on_every_route(edge: httpx.AsyncClient) -> None:
    blocker, blocked = await new_user(edge), await new_user(edge)
    tweet_id = await tweet(edge, blocker, "mine")
    r = await edge.post("/v1/media", json={"contentType": "image/png", "sizeBytes": 100},
                        headers=blocker["headers"])
    assert r.status_code == 200, r.text
    sent = await edge.post("/v1/messages", json={"recipientUserId": blocked["userId"],
                                                 "content": "before"}, headers=blocker["headers"])
    assert sent.status_code == 200, sent.text  # a conversation with history
    made = await edge.post("/v1/lists", json={"name": "mine"}, headers=blocker["headers"])
    assert made.status_code == 200, made.text
    await relate(edge, blocker, blocked, "block")
    scene = Scene(edge, blocker, blocked, tweet_id, r.json()["mediaId"],
                  made.json()["list"]["listId"])
    got = {}
    for rpc, (call, _) in MATRIX.items():
        got[rpc] = (await call(scene)).status_code
    assert got == {rpc: status for rpc, (_, status) in MATRIX.items()}
    # Nothing the blocked user did reached the blocker's tweet.
    r = await edge.get(f"/v1/tweets/{tweet_id}", headers=blocker["headers"])
    body = r.json()["tweet"]
    assert (body["replyCount"], body["likeCount"], body["retweetCount"]) == ("0", "0", "0")


# The routes that name the blocker or their tweet, to be called once with the
# blocker's and once with an id that does not exist: the answers must match
# word for word, or the blocked user could tell a block from an absence.
NAMING: dict[str, Callable[[Scene], Awaitable[httpx.Response]]] = {
    "GetUser": MATRIX["GetUser"][0],
    "GetUserByUsername": MATRIX["GetUserByUsername"][0],
    "FollowUser": MATRIX["FollowUser"][0],
    "ListFollowers": MATRIX["ListFollowers"][0],
    "ListFollowing": MATRIX["ListFollowing"][0],
    "ListUserTweets": MATRIX["ListUserTweets"][0],
    "SendMessage": MATRIX["SendMessage"][0],
    **{rpc: MATRIX[rpc][0] for rpc in (
        "CreateTweet", "GetTweet", "UpdateTweet", "DeleteTweet", "LikeTweet", "UnlikeTweet",
        "Retweet", "Unretweet", "ListReplies", "ListLikingUsers", "ListTweetEdits",
        "BookmarkTweet", "UnbookmarkTweet", "PinTweet", "GetPoll", "VotePoll",
        "GetList", "UpdateList", "DeleteList", "AddListMember", "RemoveListMember",
        "ListListMembers", "FollowList", "UnfollowList", "ListOwnedLists",
        "GetListTimeline")},
}


async def test_a_block_answers_exactly_as_an_absence(edge: httpx.AsyncClient) -> None:
    blocker, blocked = await new_user(edge), await new_user(edge)
    tweet_id = await tweet(edge, blocker, "mine")
    made = await edge.post("/v1/lists", json={"name": "mine"}, headers=blocker["headers"])
    assert made.status_code == 200, made.text
    await relate(edge, blocker, blocked, "block")
    real = Scene(edge, blocker, blocked, tweet_id, "0", made.json()["list"]["listId"])
    ghost = Scene(edge, {"userId": "9" * 18, "username": unique_name("ghost")},
                  blocked, "8" * 18, "0", "7" * 18)  # ids and a name no one has
    for rpc, call in NAMING.items():
        seen, absent = await call(real), await call(ghost)
        assert (seen.status_code, seen.json()) == (absent.status_code, absent.json()), rpc
