"""Configuration of the messages service."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from services.shared.config import (
    AuthSettings,
    PeerAddresses,
    RedisSettings,
    ScyllaSettings,
    ServerSettings,
    WorkerLeaseSettings,
)
from services.shared.ports import SERVICE_PORTS


class MessagesSettings(ServerSettings, ScyllaSettings, AuthSettings, PeerAddresses,
                       WorkerLeaseSettings, RedisSettings):
    service_name: str = "messages"
    grpc_port: int = SERVICE_PORTS["messages"]
    # `kid:base64,kid:base64`: the first key encrypts, all decrypt (see crypto.py).
    messages_keys: SecretStr | None = None
    # Without MESSAGES_KEYS, use (and create) a development key in a file; set
    # false in production so that a missing MESSAGES_KEYS fails the start.
    messages_allow_dev_key: bool = True
    # Default: <AUTH_KEYS_DIR>/../messages-keys/dev.key (.data/messages-keys/dev.key locally).
    messages_dev_key_file: Path | None = None
    auth_keys_dir: Path = Path(".data/keys")

    def dev_key_file(self) -> Path:
        return self.messages_dev_key_file or \
            self.auth_keys_dir.absolute().parent / "messages-keys" / "dev.key"
