"""Access-token verification against forged, expired and downgraded tokens."""

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.shared.auth import TokenVerifier
from services.shared.errors import Unauthenticated
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
