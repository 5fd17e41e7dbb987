"""Configuration of the tweets service."""

from __future__ import annotations

from services.shared.config import (
    AuthSettings,
    NatsSettings,
    PeerAddresses,
    RedisSettings,
    ScyllaSettings,
    ServerSettings,
    WorkerLeaseSettings,
)
from services.shared.ports import SERVICE_PORTS


class TweetsSettings(ServerSettings, ScyllaSettings, NatsSettings, AuthSettings, PeerAddresses,
                     RedisSettings, WorkerLeaseSettings):
    service_name: str = "tweets"
    grpc_port: int = SERVICE_PORTS["tweets"]
    edit_window_minutes: float = 30.0
    # Queries in flight per process; more queue in the process, not in Scylla.
    cql_concurrency: int = 512
    cql_request_timeout_seconds: float = 10.0
    # Outbox: shards may grow but never shrink; see services/shared/messaging/cql_outbox.py.
    outbox_shards: int = 16
    outbox_slot_seconds: int = 60
    outbox_grace_seconds: float = 30.0
    outbox_poll_seconds: float = 5.0
    event_ttl_days: int = 30
    author_cache_seconds: float = 300.0
    # Tweet cache: entries in each process's hot tier, how long they stay there,
    # and how long an unread entry stays in Redis (hits extend it).
    tweet_cache_hot_size: int = 50_000
    tweet_cache_hot_seconds: float = 30.0
    tweet_cache_warm_seconds: int = 600
    # First pages of users' tweets kept per process (user_pages.py), and for how
    # long at most. Every use is checked against the epoch each change resets;
    # the TTL only bounds a reset Redis lost (a failover), as the warm tier's
    # TTL bounds a lost invalidation. Longer keeps more of the profiles' long
    # tail: a 30 s copy missed 43% of a Zipf mix's pages, 300 s 21%.
    user_pages_size: int = 10_000
    user_pages_seconds: float = 300.0
    # Polls (docs/POLLS.md). The shortest duration is Twitter's 5 minutes; the
    # local stack lowers it so tests can watch a poll end. The end index is read
    # per slot once the slot is `grace` old (longer than a vote may take).
    poll_min_duration_seconds: float = 300.0
    poll_end_shards: int = 16  # may grow, never shrink (as the outbox's)
    poll_end_slot_seconds: int = 60
    poll_end_grace_seconds: float = 15.0
    poll_end_poll_seconds: float = 5.0
    poll_end_page_size: int = 100
