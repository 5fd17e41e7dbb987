"""gRPC transport of lists (twitter.users.v1.ListService): requests to the
service layer (services/users/lists/service.py), records to protos."""

from __future__ import annotations

from typing import Any

import grpc
from twitter.users.v1 import lists_pb2, lists_pb2_grpc

from services.shared.fields.timestamps import to_timestamp
from services.shared.security.auth import caller_id
from services.users.lists.rules import ListRecord, MemberRecord
from services.users.lists.service import Lists
from services.users.servicer import summary_pb

Ctx = grpc.aio.ServicerContext[Any, Any]


def list_pb(record: ListRecord) -> lists_pb2.UserList:
    return lists_pb2.UserList(
        list_id=record.list_id, owner=summary_pb(record.owner), name=record.name,
        description=record.description, private=record.private,
        member_count=record.member_count, follower_count=record.follower_count,
        created_at=to_timestamp(record.created_at), following=record.following)


def _members(rows: list[MemberRecord]) -> list[lists_pb2.ListMember]:
    return [lists_pb2.ListMember(user=summary_pb(r.user), added_at=to_timestamp(r.added_at))
            for r in rows]


class ListServicer(lists_pb2_grpc.ListServiceServicer):
    def __init__(self, lists: Lists) -> None:
        self._lists = lists

    async def CreateList(self, request: lists_pb2.CreateListRequest,
                         context: Ctx) -> lists_pb2.CreateListResponse:
        created = await self._lists.create(caller_id(), request.name, request.description,
                                           request.private)
        return lists_pb2.CreateListResponse(list=list_pb(created))

    async def GetList(self, request: lists_pb2.GetListRequest,
                      context: Ctx) -> lists_pb2.GetListResponse:
        return lists_pb2.GetListResponse(
            list=list_pb(await self._lists.get(caller_id(), request.list_id)))

    async def UpdateList(self, request: lists_pb2.UpdateListRequest,
                         context: Ctx) -> lists_pb2.UpdateListResponse:
        updated = await self._lists.update(
            caller_id(), request.list_id,
            name=request.name if request.HasField("name") else None,
            description=request.description if request.HasField("description") else None,
            private=request.private if request.HasField("private") else None)
        return lists_pb2.UpdateListResponse(list=list_pb(updated))

    async def DeleteList(self, request: lists_pb2.DeleteListRequest,
                         context: Ctx) -> lists_pb2.DeleteListResponse:
        await self._lists.delete(caller_id(), request.list_id)
        return lists_pb2.DeleteListResponse()

    async def AddListMember(self, request: lists_pb2.AddListMemberRequest,
                            context: Ctx) -> lists_pb2.AddListMemberResponse:
        record = await self._lists.add_member(caller_id(), request.list_id, request.user_id)
        return lists_pb2.AddListMemberResponse(list=list_pb(record))

    async def RemoveListMember(self, request: lists_pb2.RemoveListMemberRequest,
                               context: Ctx) -> lists_pb2.RemoveListMemberResponse:
        record = await self._lists.remove_member(caller_id(), request.list_id, request.user_id)
        return lists_pb2.RemoveListMemberResponse(list=list_pb(record))

    async def ListListMembers(self, request: lists_pb2.ListListMembersRequest,
                              context: Ctx) -> lists_pb2.ListListMembersResponse:
        rows, token = await self._lists.members(caller_id(), request.list_id,
                                                request.page_size, request.page_token)
        return lists_pb2.ListListMembersResponse(members=_members(rows), next_page_token=token)

    async def FollowList(self, request: lists_pb2.FollowListRequest,
                         context: Ctx) -> lists_pb2.FollowListResponse:
        return lists_pb2.FollowListResponse(
            list=list_pb(await self._lists.follow(caller_id(), request.list_id)))

    async def UnfollowList(self, request: lists_pb2.UnfollowListRequest,
                           context: Ctx) -> lists_pb2.UnfollowListResponse:
        await self._lists.unfollow(caller_id(), request.list_id)
        return lists_pb2.UnfollowListResponse()

    async def ListOwnedLists(self, request: lists_pb2.ListOwnedListsRequest,
                             context: Ctx) -> lists_pb2.ListOwnedListsResponse:
        rows, token = await self._lists.owned(caller_id(), request.user_id, request.page_size,
                                              request.page_token)
        return lists_pb2.ListOwnedListsResponse(lists=[list_pb(r) for r in rows],
                                                next_page_token=token)

    async def ListFollowedLists(self, request: lists_pb2.ListFollowedListsRequest,
                                context: Ctx) -> lists_pb2.ListFollowedListsResponse:
        rows, token = await self._lists.followed(caller_id(), request.user_id,
                                                 request.page_size, request.page_token)
        return lists_pb2.ListFollowedListsResponse(lists=[list_pb(r) for r in rows],
                                                   next_page_token=token)

    async def GetListAudience(self, request: lists_pb2.GetListAudienceRequest,
                              context: Ctx) -> lists_pb2.GetListAudienceResponse:
        return lists_pb2.GetListAudienceResponse(
            audience=await self._lists.audience(request.list_id))
