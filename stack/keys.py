"""Secrets of the local stack, generated once under its data directory: the token
signing key (one Ed25519 private key, named by its key id) and the internal token."""

from __future__ import annotations

import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger("stack")


def ensure_signing_key(keys_dir: Path) -> Path:
    """Generate a key unless the directory already holds one; return the newest."""
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    existing = sorted(keys_dir.glob("*.pem"))
    if existing:
        return existing[-1]
    kid = datetime.now(UTC).strftime("k%Y%m%dT%H%MZ")
    path = keys_dir / f"{kid}.pem"
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # O_EXCL and 0600 from the start: the key is never briefly world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    log.info("generated signing key %s", path)
    return path


INTERNAL_TOKEN_FILE = "internal_token"  # noqa: S105 - a file name


def ensure_internal_token(stack_dir: Path) -> str:
    """The stack's internal token, generated on first use (services refuse to
    start without a real one, so the local stack makes its own)."""
    stack_dir.mkdir(parents=True, exist_ok=True)
    path = stack_dir / INTERNAL_TOKEN_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    log.info("generated the internal token in %s", path)
    return token


def read_internal_token(stack_dir: Path) -> str | None:
    try:
        return (stack_dir / INTERNAL_TOKEN_FILE).read_text().strip() or None
    except FileNotFoundError:
        return None
