"""The contracts' custom options (protos/twitter/api/v1/options.proto): every
RPC says who may call it and every event where it goes; the lint step, the
services and the edge refuse contracts that break the rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, empty_pb2
from twitter.api.v1 import options_pb2
from twitter.tweets.v1 import events_pb2 as tweet_events
from twitter.users.v1 import events_pb2 as user_events
from twitter.users.v1 import users_pb2

from edge import routes
from services.shared import contracts
from services.shared.contracts import ACCESS_OPTION, EVENT_OPTION, Access, ContractError
from services.shared.rpc.interceptors import access_policy
from stack import contract_rules


def _files() -> descriptor_pb2.FileDescriptorSet:
    return contract_rules.load()


def _method(files: descriptor_pb2.FileDescriptorSet, service: str,
            name: str) -> descriptor_pb2.MethodDescriptorProto:
    return next(m for f in files.file for s in f.service if s.name == service
                for m in s.method if m.name == name)


def test_the_contracts_keep_the_rules() -> None:
    assert contract_rules.problems(_files()) == []


def test_an_rpc_without_access_is_a_lint_error_and_the_edge_refuses_it(tmp_path: Path) -> None:
    files = _files()
    _method(files, "TweetService", "GetTweet").options.ClearExtension(ACCESS_OPTION)
    assert contract_rules.problems(files) == [
        "twitter.tweets.v1.TweetService.GetTweet (twitter/tweets/v1/tweets.proto):"
        " no (twitter.api.v1.access) option"]
    path = tmp_path / "twitter.pb"
    path.write_bytes(files.SerializeToString())
    with pytest.raises(ContractError, match="GetTweet: no"):
        routes.bindings(["tweets"], path)


def test_an_exposed_internal_rpc_is_a_lint_error_and_the_edge_refuses_it(
        tmp_path: Path) -> None:
    files = _files()
    _method(files, "TweetService", "GetTweet").options.Extensions[ACCESS_OPTION] = (
        options_pb2.ACCESS_INTERNAL)
    [problem] = contract_rules.problems(files)
    assert "GetTweet" in problem
    assert "google.api.http" in problem
    path = tmp_path / "twitter.pb"
    path.write_bytes(files.SerializeToString())
    with pytest.raises(ContractError, match="internal RPC"):
        routes.bindings(["tweets"], path)


def test_an_event_without_a_subject_is_a_lint_error() -> None:
    files = _files()
    event = next(m for f in files.file for m in f.message_type if m.name == "TweetLiked")
    event.options.ClearExtension(EVENT_OPTION)
    other = next(m for f in files.file for m in f.message_type if m.name == "TweetUnliked")
    other.options.Extensions[EVENT_OPTION].subject = "twitter.tweet.created"
    assert sorted(contract_rules.problems(files)) == [
        "twitter.tweets.v1.TweetLiked: an event without a (twitter.api.v1.event) option",
        "twitter.tweets.v1.TweetUnliked: subject twitter.tweet.created is"
        " twitter.tweets.v1.TweetCreated's too"]


def test_the_interceptor_reads_access_from_the_options() -> None:
    services = list(users_pb2.DESCRIPTOR.services_by_name.values())
    access = access_policy(services)
    assert access("/twitter.users.v1.UserService/CreateUser") is Access.PUBLIC
    assert access("/twitter.users.v1.AuthService/Login") is Access.PUBLIC
    assert access("/twitter.users.v1.UserService/GetUser") is Access.USER
    assert access("/twitter.users.v1.UserService/ListFollowerIds") is Access.INTERNAL
    assert access("/twitter.users.v1.UserService/NoSuchMethod") is Access.INTERNAL
    assert access("/grpc.health.v1.Health/Check") is Access.PUBLIC
    table = contracts.access_table(services)
    assert sorted(p for p, a in table.items() if a is Access.PUBLIC) == [
        "/twitter.users.v1.AuthService/GetJwks", "/twitter.users.v1.AuthService/Login",
        "/twitter.users.v1.AuthService/Logout", "/twitter.users.v1.AuthService/RefreshToken",
        "/twitter.users.v1.UserService/CreateUser"]


def test_events_carry_their_subject_and_stream() -> None:
    assert contracts.event_route(tweet_events.TweetCreated) == contracts.EventRoute(
        "twitter.tweet.created", "TWITTER")
    assert contracts.subject(user_events.FollowDeleted()) == "twitter.follow.deleted"
    assert sorted(contracts.by_subject(user_events)) == [
        "twitter.follow.created", "twitter.follow.deleted", "twitter.list.member_added",
        "twitter.user.created", "twitter.user.updated"]
    assert len(contracts.by_subject(tweet_events)) == len(
        tweet_events.DESCRIPTOR.message_types_by_name)
    with pytest.raises(ContractError):
        contracts.subject(users_pb2.User)


def test_a_consumer_filter_is_the_narrowest_wildcard() -> None:
    assert contracts.subject_filter(
        ["twitter.tweet.created", "twitter.tweet.deleted"]) == "twitter.tweet.>"
    assert contracts.subject_filter(
        ["twitter.tweet.created", "twitter.follow.created"]) == "twitter.>"
    assert contracts.subject_filter(["twitter.user.updated"]) == "twitter.user.updated"


def test_a_service_without_access_options_does_not_start() -> None:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(empty_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(descriptor_pb2.FileDescriptorProto(
        name="new/v1/new.proto", package="new.v1", syntax="proto3",
        dependency=["google/protobuf/empty.proto"],
        service=[descriptor_pb2.ServiceDescriptorProto(name="NewService", method=[
            descriptor_pb2.MethodDescriptorProto(name="Get", input_type=".google.protobuf.Empty",
                                                 output_type=".google.protobuf.Empty")])]))
    with pytest.raises(ContractError, match=r"/new\.v1\.NewService/Get: no"):
        access_policy([pool.FindServiceByName("new.v1.NewService")])
