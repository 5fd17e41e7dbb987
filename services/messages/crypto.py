"""Encryption at rest of message content: AES-GCM under keys from configuration.

`MESSAGES_KEYS` is `kid:base64,kid:base64,...` (16, 24 or 32-byte keys): the
first key encrypts, every key decrypts, and each message stores the id of the
key that encrypted it, so a new key is rolled out by putting it first and an old
one retired once nothing needs it. The associated data binds a ciphertext to its
conversation, message id and sender: a ciphertext copied into another row does
not decrypt.

Without `MESSAGES_KEYS` (a development machine) a key is created once in a file
(mode 0600) and reused, with a warning in the log; production turns that off
(`MESSAGES_ALLOW_DEV_KEY=false`) so a missing key fails the start.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.messages.domain import Pair

NONCE_BYTES = 12
_KID_RE = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_AAD_PREFIX = b"twitter.dm.v1"
DEV_KEY_ID = "dev"


class KeyConfigError(ValueError):
    pass


class UndecryptableMessage(Exception):
    """A stored ciphertext that no configured key opens (a key was retired too
    early, or the row was tampered with)."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    ciphertext: bytes  # nonce || AES-GCM ciphertext and tag


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    keys: list[tuple[str, bytes]] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        kid, sep, encoded = item.partition(":")
        if not sep or not _KID_RE.fullmatch(kid):
            raise KeyConfigError("MESSAGES_KEYS: each key is kid:base64 (kid: letters, digits,"
                                 " '_', '-', '.')")
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), altchars=b"-_",
                                   validate=False)
        except (binascii.Error, ValueError) as exc:
            raise KeyConfigError(f"MESSAGES_KEYS: key {kid!r} is not base64") from exc
        if len(key) not in (16, 24, 32):
            raise KeyConfigError(f"MESSAGES_KEYS: key {kid!r} must be 16, 24 or 32 bytes")
        if any(kid == k for k, _ in keys):
            raise KeyConfigError(f"MESSAGES_KEYS: key id {kid!r} appears twice")
        keys.append((kid, key))
    if not keys:
        raise KeyConfigError("MESSAGES_KEYS has no keys")
    return keys


def dev_key_spec(path: Path) -> str:
    """The development key in `path`, created (0600) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    spec = f"{DEV_KEY_ID}:{base64.b64encode(secrets.token_bytes(32)).decode()}"
    with os.fdopen(fd, "w") as out:
        out.write(spec + "\n")
    return spec


class MessageCipher:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise KeyConfigError("at least one key is needed")
        self._primary = keys[0][0]
        self._aead = {kid: AESGCM(key) for kid, key in keys}
        # A separate key per kid for the idempotency fingerprint (never reuse the
        # encryption key for another purpose).
        self._mac_keys = {kid: HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                                    info=b"twitter.dm.v1 idempotency").derive(key)
                          for kid, key in keys}

    @classmethod
    def from_spec(cls, spec: str) -> MessageCipher:
        return cls(parse_keys(spec))

    @property
    def key_ids(self) -> list[str]:
        return list(self._aead)

    @property
    def primary_key_id(self) -> str:
        return self._primary

    def seal(self, pair: Pair, message_id: int, sender_id: int, content: str) -> Sealed:
        nonce = secrets.token_bytes(NONCE_BYTES)
        box = self._aead[self._primary].encrypt(
            nonce, content.encode(), _aad(pair, message_id, sender_id))
        return Sealed(self._primary, nonce + box)

    def open(self, pair: Pair, message_id: int, sender_id: int, sealed: Sealed) -> str:
        aead = self._aead.get(sealed.key_id)
        if aead is None:
            raise UndecryptableMessage(f"no key {sealed.key_id!r} is configured")
        nonce, box = sealed.ciphertext[:NONCE_BYTES], sealed.ciphertext[NONCE_BYTES:]
        try:
            return aead.decrypt(nonce, box, _aad(pair, message_id, sender_id)).decode()
        except InvalidTag as exc:
            raise UndecryptableMessage("ciphertext does not authenticate") from exc

    def fingerprint(self, key_id: str, recipient_id: int, content: str) -> bytes | None:
        """A keyed hash of what a send carried, to tell a retry from a reuse of
        its client_message_id without storing the content in the clear. None
        when key_id is no longer configured."""
        key = self._mac_keys.get(key_id)
        if key is None:
            return None
        return hmac.new(key, struct.pack(">q", recipient_id) + content.encode(),
                        hashlib.sha256).digest()


def _aad(pair: Pair, message_id: int, sender_id: int) -> bytes:
    return _AAD_PREFIX + struct.pack(">qqqq", pair.low, pair.high, message_id, sender_id)
