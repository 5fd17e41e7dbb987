"""Configuration of the notifications service and its worker."""

from __future__ import annotations

from services.shared.config import (
    AuthSettings,
    NatsSettings,
    PeerAddresses,
    RedisSettings,
    ScyllaSettings,
    ServerSettings,
)
from services.shared.ports import SERVICE_PORTS


class NotificationsSettings(ServerSettings, ScyllaSettings, RedisSettings, NatsSettings,
                            AuthSettings, PeerAddresses):
    service_name: str = "notifications"
    grpc_port: int = SERVICE_PORTS["notifications"]
    # Parts of one kind on one target within one window of this length make
    # one group (domain.py): a day, as in "42 people liked your tweet today".
    group_window_seconds: int = 24 * 3600
    stream_heartbeat_seconds: float = 15.0
    # Live streams: how many one user may have open at once, and how long one
    # lasts before it ends (the client reconnects).
    stream_max_per_user: int = 5
    stream_max_seconds: float = 3600.0
    # Worker: events handled at once (changes to one target retry their
    # conditional batch when they race), and deliveries before the
    # dead-letter subject.
    notify_concurrency: int = 64
    notify_ack_wait_seconds: float = 30.0
    notify_max_deliver: int = 5
