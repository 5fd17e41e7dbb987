"""Signing keys, access tokens (EdDSA JWTs) and refresh-token secrets.

Keys are Ed25519 private keys stored as `<kid>.pem` in a directory (a mounted
Secret in Kubernetes), re-read periodically. Every key present is published in
the JWKS at once, but a key only starts signing once its kid's timestamp
(`kYYYYMMDDTHHMMZ`) is `activation_delay` old, so every verifier (Envoy's
cached JWKS, other services) knows it before the first token it signs arrives.
Rotating is: add a key named for a time at least that far ahead of now (or
accept the delay), wait past the access-token lifetime after it signs, remove
the old one. Nobody is logged out.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import OKPAlgorithm

from services.shared.security.auth import ALGORITHM


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def jwk(self) -> dict[str, str]:
        jwk: dict[str, Any] = OKPAlgorithm.to_jwk(self.public, as_dict=True)
        return {"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"], "kid": self.kid,
                "alg": ALGORITHM, "use": "sig"}


def _activates_at(kid: str) -> datetime:
    """The instant a key may start signing, from a `kYYYYMMDDTHHMMZ` kid; other
    kids may sign at once."""
    try:
        return datetime.strptime(kid, "k%Y%m%dT%H%MZ").replace(tzinfo=UTC)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def _read_keys(directory: Path) -> list[SigningKey]:
    keys = []
    for path in sorted(directory.glob("*.pem")):
        key = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path.name} is not an Ed25519 private key")
        keys.append(SigningKey(path.stem, key))
    return keys


class Keyring:
    def __init__(self, keys: list[SigningKey], *, activation_delay: timedelta = timedelta(0),
                 directory: Path | None = None) -> None:
        self._delay = activation_delay
        self._directory = directory
        self._set(keys)

    def _set(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise ValueError("no signing keys")
        self._keys = sorted(keys, key=lambda k: k.kid, reverse=True)
        self._by_kid = {k.kid: k for k in keys}

    @classmethod
    def load(cls, directory: Path, *, activation_delay: timedelta = timedelta(0)) -> Keyring:
        return cls(_read_keys(directory), activation_delay=activation_delay, directory=directory)

    def reload(self) -> None:
        """Re-reads the key directory (keys added or removed by a rotation)."""
        if self._directory is not None:
            self._set(_read_keys(self._directory))

    @property
    def current(self) -> SigningKey:
        """The newest key that is old enough to sign; the oldest key if none is yet."""
        cutoff = datetime.now(UTC) - self._delay
        for key in self._keys:
            if _activates_at(key.kid) <= cutoff:
                return key
        return self._keys[-1]

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        key = self._by_kid.get(kid)
        return key.public if key else None

    def jwks(self) -> list[dict[str, str]]:
        return [k.jwk() for k in self._keys]


class AccessTokens:
    def __init__(self, keyring: Keyring, *, issuer: str, audience: str, ttl_seconds: int) -> None:
        self._keyring = keyring
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: int, session_id: int, *, tier: str = "regular") -> str:
        """`tier` is the account tier (services/users/domain.py) the edge's rate
        limits key on; it is fixed for the token's life."""
        now = int(time.time())
        key = self._keyring.current
        claims = {"iss": self._issuer, "aud": self._audience, "sub": str(user_id),
                  "sid": str(session_id), "tier": tier, "iat": now, "nbf": now,
                  "exp": now + self.ttl_seconds, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})


def new_refresh_token() -> tuple[str, bytes]:
    """A random opaque token and the SHA-256 digest we store (never the token)."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> bytes:
    # 256 random bits need no slow hash: a digest is enough to make a stolen
    # table useless.
    return hashlib.sha256(token.encode()).digest()
