"""Configuration of the timeline service and its fanout workers."""

from __future__ import annotations

from pydantic import Field

from services.shared.config import (
    AuthSettings,
    NatsSettings,
    PeerAddresses,
    RedisSettings,
    ServerSettings,
)
from services.shared.ports import SERVICE_PORTS


class TimelineSettings(ServerSettings, RedisSettings, NatsSettings, AuthSettings, PeerAddresses):
    service_name: str = "timeline"
    grpc_port: int = SERVICE_PORTS["timeline"]
    # Authors with more followers than this are not fanned out on write but
    # merged in at read time. Low on the local stack, so tests exercise both
    # paths with COPY-loaded followers; in production on the order of 10^5.
    celebrity_threshold: int = 20_000
    # The server's copy of the celebrity set (celebrities.py): how often it
    # checks the set's version, and how old a copy may answer before reads
    # ask Redis instead.
    celebrity_refresh_seconds: float = Field(default=1.0, gt=0)
    celebrity_max_age_seconds: float = Field(default=5.0, gt=0)
    # How long a server reuses an author's newest recent entries, read for the
    # pages that merge them (recent_pages.py); 0 reads them for every page.
    recent_pages_seconds: float = Field(default=0.5, ge=0, le=5)
    timeline_capacity: int = 800
    # Readers idle longer than this are skipped by fanout; their timeline is
    # rebuilt when they come back.
    inactive_after_seconds: int = 14 * 24 * 3600
    stream_heartbeat_seconds: float = 15.0
    # Live streams: how many one user may have open at once, and how long one
    # lasts before it ends (the client reconnects).
    stream_max_per_user: int = 5
    stream_max_seconds: float = 3600.0
    # Fanout consumer: how long a delivery may go unacknowledged (fanout sends
    # progress signals while it works) and how many deliveries before the
    # dead-letter subject.
    fanout_ack_wait_seconds: float = 15.0
    fanout_max_deliver: int = 5
    fanout_concurrency: int = 8
