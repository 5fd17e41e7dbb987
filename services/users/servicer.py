"""gRPC transport of the users service: requests to domain calls, records to protos."""

from __future__ import annotations

from typing import Any

import grpc
from twitter.users.v1 import users_pb2, users_pb2_grpc

from services.shared.fields.timestamps import to_timestamp
from services.shared.security.auth import caller_id
from services.users.accounts import Accounts, TokenPair
from services.users.blocks import BlocksAndMutes
from services.users.domain import FollowRecord, UserRecord
from services.users.pins import Pins
from services.users.relations_repository import Kind
from services.users.social import Social

Ctx = grpc.aio.ServicerContext[Any, Any]

_PROFILE_FIELDS = ("display_name", "bio", "location", "website", "profile_picture_url")


def user_pb(user: UserRecord) -> users_pb2.User:
    return users_pb2.User(
        user_id=user.user_id, username=user.username, display_name=user.display_name,
        bio=user.bio, location=user.location, website=user.website,
        profile_picture_url=user.profile_picture_url, follower_count=user.follower_count,
        following_count=user.following_count, created_at=to_timestamp(user.created_at),
        verified=user.verified, pinned_tweet_id=user.pinned_tweet_id,
    )


def summary_pb(user: UserRecord) -> users_pb2.UserSummary:
    return users_pb2.UserSummary(user_id=user.user_id, username=user.username,
                                 display_name=user.display_name,
                                 profile_picture_url=user.profile_picture_url)


def _related(rows: list[FollowRecord]) -> list[users_pb2.RelationEntry]:
    return [users_pb2.RelationEntry(user=summary_pb(r.user),
                                    created_at=to_timestamp(r.followed_at)) for r in rows]


def _entries(rows: list[FollowRecord]) -> list[users_pb2.FollowEntry]:
    return [users_pb2.FollowEntry(user=summary_pb(r.user), followed_at=to_timestamp(r.followed_at))
            for r in rows]


class UserServicer(users_pb2_grpc.UserServiceServicer):
    def __init__(self, accounts: Accounts, social: Social, blocks: BlocksAndMutes,
                 pins: Pins) -> None:
        self._accounts = accounts
        self._social = social
        self._blocks = blocks
        self._pins = pins

    async def CreateUser(self, request: users_pb2.CreateUserRequest,
                         context: Ctx) -> users_pb2.CreateUserResponse:
        user = await self._accounts.sign_up(request.username, request.email, request.password,
                                            request.display_name)
        return users_pb2.CreateUserResponse(user=user_pb(user))

    async def GetUser(self, request: users_pb2.GetUserRequest,
                      context: Ctx) -> users_pb2.GetUserResponse:
        user = await self._social.get_user(request.user_id, caller_id())
        return users_pb2.GetUserResponse(user=user_pb(await self._pins.shown(user)))

    async def GetUserByUsername(self, request: users_pb2.GetUserByUsernameRequest,
                                context: Ctx) -> users_pb2.GetUserByUsernameResponse:
        user = await self._social.get_user_by_username(request.username, caller_id())
        return users_pb2.GetUserByUsernameResponse(user=user_pb(await self._pins.shown(user)))

    async def PinTweet(self, request: users_pb2.PinTweetRequest,
                       context: Ctx) -> users_pb2.PinTweetResponse:
        user = await self._pins.pin(caller_id(), request.user_id, request.tweet_id)
        return users_pb2.PinTweetResponse(user=user_pb(user))

    async def UnpinTweet(self, request: users_pb2.UnpinTweetRequest,
                         context: Ctx) -> users_pb2.UnpinTweetResponse:
        user = await self._pins.unpin(caller_id(), request.user_id)
        return users_pb2.UnpinTweetResponse(user=user_pb(user))

    async def UpdateUser(self, request: users_pb2.UpdateUserRequest,
                         context: Ctx) -> users_pb2.UpdateUserResponse:
        changes = {f: getattr(request, f) for f in _PROFILE_FIELDS if request.HasField(f)}
        user = await self._social.update_profile(caller_id(), request.user_id, changes)
        return users_pb2.UpdateUserResponse(user=user_pb(user))

    async def FollowUser(self, request: users_pb2.FollowUserRequest,
                         context: Ctx) -> users_pb2.FollowUserResponse:
        user = await self._social.follow(caller_id(), request.user_id, request.target_user_id)
        return users_pb2.FollowUserResponse(user=user_pb(user))

    async def UnfollowUser(self, request: users_pb2.UnfollowUserRequest,
                           context: Ctx) -> users_pb2.UnfollowUserResponse:
        user = await self._social.unfollow(caller_id(), request.user_id, request.target_user_id)
        return users_pb2.UnfollowUserResponse(user=user_pb(user))

    async def ListFollowers(self, request: users_pb2.ListFollowersRequest,
                            context: Ctx) -> users_pb2.ListFollowersResponse:
        rows, token = await self._social.list_follows(
            request.user_id, followers=True, page_size=request.page_size,
            page_token=request.page_token, viewer=caller_id())
        return users_pb2.ListFollowersResponse(followers=_entries(rows), next_page_token=token)

    async def ListFollowing(self, request: users_pb2.ListFollowingRequest,
                            context: Ctx) -> users_pb2.ListFollowingResponse:
        rows, token = await self._social.list_follows(
            request.user_id, followers=False, page_size=request.page_size,
            page_token=request.page_token, viewer=caller_id())
        return users_pb2.ListFollowingResponse(following=_entries(rows), next_page_token=token)

    async def ListFollowerIds(self, request: users_pb2.ListFollowerIdsRequest,
                              context: Ctx) -> users_pb2.ListFollowerIdsResponse:
        count, ids, token = await self._social.follower_ids(
            request.user_id, page_size=request.page_size, page_token=request.page_token,
            max_count=request.max_follower_count)
        return users_pb2.ListFollowerIdsResponse(follower_ids=ids, next_page_token=token,
                                                 follower_count=count)

    async def ListFollowingIds(self, request: users_pb2.ListFollowingIdsRequest,
                               context: Ctx) -> users_pb2.ListFollowingIdsResponse:
        ids, token = await self._social.follow_ids(
            request.user_id, followers=False, page_size=request.page_size,
            page_token=request.page_token)
        return users_pb2.ListFollowingIdsResponse(following_ids=ids, next_page_token=token)

    async def ListUsers(self, request: users_pb2.ListUsersRequest,
                        context: Ctx) -> users_pb2.ListUsersResponse:
        users, token = await self._social.all_users(request.page_size, request.page_token)
        return users_pb2.ListUsersResponse(users=[user_pb(u) for u in users],
                                           next_page_token=token)

    async def BatchGetUserSummaries(self, request: users_pb2.BatchGetUserSummariesRequest,
                                    context: Ctx) -> users_pb2.BatchGetUserSummariesResponse:
        users = await self._social.summaries(list(request.user_ids))
        return users_pb2.BatchGetUserSummariesResponse(users=[summary_pb(u) for u in users])

    async def BatchGetUsersByUsername(self, request: users_pb2.BatchGetUsersByUsernameRequest,
                                      context: Ctx) -> users_pb2.BatchGetUsersByUsernameResponse:
        users = await self._social.by_usernames(list(request.usernames))
        return users_pb2.BatchGetUsersByUsernameResponse(users=[summary_pb(u) for u in users])

    async def GetFollowerCount(self, request: users_pb2.GetFollowerCountRequest,
                               context: Ctx) -> users_pb2.GetFollowerCountResponse:
        count = await self._social.follower_count(request.user_id)
        return users_pb2.GetFollowerCountResponse(follower_count=count)

    async def CheckFollow(self, request: users_pb2.CheckFollowRequest,
                          context: Ctx) -> users_pb2.CheckFollowResponse:
        follows = await self._social.check_follow(request.follower_id, request.followee_id)
        return users_pb2.CheckFollowResponse(follows=follows)

    async def BlockUser(self, request: users_pb2.BlockUserRequest,
                        context: Ctx) -> users_pb2.BlockUserResponse:
        user = await self._blocks.change(caller_id(), request.username, Kind.BLOCK, on=True)
        return users_pb2.BlockUserResponse(user=summary_pb(user))

    async def UnblockUser(self, request: users_pb2.UnblockUserRequest,
                          context: Ctx) -> users_pb2.UnblockUserResponse:
        user = await self._blocks.change(caller_id(), request.username, Kind.BLOCK, on=False)
        return users_pb2.UnblockUserResponse(user=summary_pb(user))

    async def MuteUser(self, request: users_pb2.MuteUserRequest,
                       context: Ctx) -> users_pb2.MuteUserResponse:
        user = await self._blocks.change(caller_id(), request.username, Kind.MUTE, on=True)
        return users_pb2.MuteUserResponse(user=summary_pb(user))

    async def UnmuteUser(self, request: users_pb2.UnmuteUserRequest,
                         context: Ctx) -> users_pb2.UnmuteUserResponse:
        user = await self._blocks.change(caller_id(), request.username, Kind.MUTE, on=False)
        return users_pb2.UnmuteUserResponse(user=summary_pb(user))

    async def ListBlocks(self, request: users_pb2.ListBlocksRequest,
                         context: Ctx) -> users_pb2.ListBlocksResponse:
        rows, token = await self._blocks.listed(caller_id(), Kind.BLOCK, request.page_size,
                                                request.page_token)
        return users_pb2.ListBlocksResponse(blocks=_related(rows), next_page_token=token)

    async def ListMutes(self, request: users_pb2.ListMutesRequest,
                        context: Ctx) -> users_pb2.ListMutesResponse:
        rows, token = await self._blocks.listed(caller_id(), Kind.MUTE, request.page_size,
                                                request.page_token)
        return users_pb2.ListMutesResponse(mutes=_related(rows), next_page_token=token)

    async def GetViewerRelations(self, request: users_pb2.GetViewerRelationsRequest,
                                 context: Ctx) -> users_pb2.GetViewerRelationsResponse:
        relations = await self._blocks.viewer_relations(request.user_id)
        return users_pb2.GetViewerRelationsResponse(relations=relations)

    async def CheckRelations(self, request: users_pb2.CheckRelationsRequest,
                             context: Ctx) -> users_pb2.CheckRelationsResponse:
        return await self._blocks.check(request.viewer_id, list(request.user_ids))

    async def SetUserVerified(self, request: users_pb2.SetUserVerifiedRequest,
                              context: Ctx) -> users_pb2.SetUserVerifiedResponse:
        user = await self._social.set_verified(request.user_id, request.verified)
        return users_pb2.SetUserVerifiedResponse(user=user_pb(user))


def _tokens(pair: TokenPair) -> dict[str, Any]:
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token,
            "expires_in": pair.expires_in, "token_type": "Bearer", "user_id": pair.user_id}


class AuthServicer(users_pb2_grpc.AuthServiceServicer):
    def __init__(self, accounts: Accounts) -> None:
        self._accounts = accounts

    async def Login(self, request: users_pb2.LoginRequest,
                    context: Ctx) -> users_pb2.LoginResponse:
        pair = await self._accounts.login(request.username, request.password)
        return users_pb2.LoginResponse(**_tokens(pair))

    async def RefreshToken(self, request: users_pb2.RefreshTokenRequest,
                           context: Ctx) -> users_pb2.RefreshTokenResponse:
        pair = await self._accounts.refresh(request.refresh_token)
        return users_pb2.RefreshTokenResponse(**_tokens(pair))

    async def Logout(self, request: users_pb2.LogoutRequest,
                     context: Ctx) -> users_pb2.LogoutResponse:
        await self._accounts.logout(request.refresh_token)
        return users_pb2.LogoutResponse()

    async def GetJwks(self, request: users_pb2.GetJwksRequest,
                      context: Ctx) -> users_pb2.GetJwksResponse:
        return users_pb2.GetJwksResponse(keys=[users_pb2.Jwk(**k) for k in self._accounts.jwks()])
