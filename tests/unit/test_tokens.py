"""Access-token verification against forged, expired and downgraded tokens."""

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.shared.errors import Unauthenticated
from services.shared.security.auth import TokenVerifier
from services.users.tokens import AccessTokens, Keyring, SigningKey

ISS = AUD = "twitter-mesh"


@pytest.fixture
def keyring() -> Keyring:
    return Keyring([SigningKey("k2", Ed25519PrivateKey.generate()),
                    SigningKey("k1", Ed25519PrivateKey.generate())])


@pytest.fixture
def verifier(keyring: Keyring) -> TokenVerifier:
    async def lookup(kid: str) -> object | None:
        return keyring.public_key(kid)
    return TokenVerifier(lookup, issuer=ISS, audience=AUD, leeway_seconds=0)


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    return {"iss": ISS, "aud": AUD, "sub": "42", "iat": now, "exp": now + 60} | overrides


async def test_issued_token_verifies(keyring: Keyring, verifier: TokenVerifier) -> None:
    token = AccessTokens(keyring, issuer=ISS, audience=AUD, ttl_seconds=60).issue(42, 1)
    assert jwt.get_unverified_header(token)["kid"] == "k2"  # newest key signs
    assert await verifier.verify(token) == 42


async def test_older_key_still_verifies(keyring: Keyring, verifier: TokenVerifier) -> None:
    old = keyring._by_kid["k1"]
    token = jwt.encode(claims(), old.private, algorithm="EdDSA", headers={"kid": "k1"})
    assert await verifier.verify(token) == 42


async def test_expired(keyring: Keyring, verifier: TokenVerifier) -> None:
    token = jwt.encode(claims(exp=int(time.time()) - 5), keyring.current.private,
                       algorithm="EdDSA", headers={"kid": "k2"})
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier.verify(token)


async def test_forged_with_other_key(verifier: TokenVerifier) -> None:
    token = jwt.encode(claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA",
                       headers={"kid": "k2"})
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def test_alg_none(verifier: TokenVerifier) -> None:
    token = f"{_b64({'alg': 'none', 'kid': 'k2'})}.{_b64(claims())}."
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


async def test_hmac_with_public_key_as_secret(keyring: Keyring, verifier: TokenVerifier) -> None:
    public = keyring.jwks()[0]["x"].encode()
    token = jwt.encode(claims(), public, algorithm="HS256", headers={"kid": "k2"})
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


@pytest.mark.parametrize("bad", [{"aud": "someone-else"}, {"iss": "evil"}, {"sub": "abc"}])
async def test_wrong_claims(keyring: Keyring, verifier: TokenVerifier,
                            bad: dict[str, object]) -> None:
    token = jwt.encode(claims(**bad), keyring.current.private, algorithm="EdDSA",
                       headers={"kid": "k2"})
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


async def test_garbage(verifier: TokenVerifier) -> None:
    with pytest.raises(Unauthenticated):
        await verifier.verify("not.a.jwt")


def test_a_new_key_signs_only_after_its_activation_delay() -> None:
    now = datetime.now(UTC)
    old_kid = (now - timedelta(hours=1)).strftime("k%Y%m%dT%H%MZ")
    new_kid = now.strftime("k%Y%m%dT%H%MZ")
    ring = Keyring([SigningKey(old_kid, Ed25519PrivateKey.generate()),
                    SigningKey(new_kid, Ed25519PrivateKey.generate())],
                   activation_delay=timedelta(minutes=5))
    assert ring.current.kid == old_kid  # the new key is published but does not sign yet
    assert {k["kid"] for k in ring.jwks()} == {old_kid, new_kid}
    assert Keyring(ring._keys, activation_delay=timedelta(0)).current.kid == new_kid


def test_keyring_reload_picks_up_added_keys(tmp_path: Path) -> None:
    def write(kid: str) -> None:
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        (tmp_path / f"{kid}.pem").write_bytes(pem)

    write("k20260101T0000Z")
    ring = Keyring.load(tmp_path)
    write("k20260102T0000Z")
    ring.reload()
    assert ring.current.kid == "k20260102T0000Z"
    assert len(ring.jwks()) == 2
