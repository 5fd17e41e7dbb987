"""Message rules and encryption at rest, without servers."""

from __future__ import annotations

import base64
import secrets
import stat
from pathlib import Path

import pytest

from services.messages.crypto import (
    KeyConfigError,
    MessageCipher,
    UndecryptableMessage,
    dev_key_spec,
    parse_keys,
)
from services.messages.domain import (
    AllowFrom,
    Pair,
    check_may_message,
    validate_send,
)
from services.shared.errors import InvalidArgument, PermissionDenied
from services.shared.snowflake.ids import IdGenerator, write_timestamp


def key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def test_content_rules() -> None:
    assert validate_send(1, 2, "e\u0301", "") == "\u00e9"  # NFC
    assert validate_send(1, 2, "a\nb\tc", "uuid-1") == "a\nb\tc"
    assert len(validate_send(1, 2, "x" * 10_000, "")) == 10_000
    for content in ("", " \n\t", "x" * 10_001, "a\x1bb", "a\rb", "\ufeff"):
        with pytest.raises(InvalidArgument):
            validate_send(1, 2, content, "")
    with pytest.raises(InvalidArgument, match="yourself"):
        validate_send(1, 1, "hi", "")
    with pytest.raises(InvalidArgument, match="client_message_id"):
        validate_send(1, 2, "hi", "has space")


def test_followers_only() -> None:
    check_may_message(AllowFrom.EVERYONE, False)
    check_may_message(AllowFrom.FOLLOWED, True)
    with pytest.raises(PermissionDenied):
        check_may_message(AllowFrom.FOLLOWED, False)


def test_write_timestamps_order_like_ids() -> None:
    ids = IdGenerator.fixed(1)
    first, second = ids.next_id(), ids.next_id()
    assert write_timestamp(first) <= write_timestamp(second)
    assert Pair.of(9, 3) == Pair.of(3, 9) == Pair(3, 9)


def test_rotation_old_keys_decrypt_new_key_encrypts() -> None:
    old_spec = f"k1:{key()}"
    old = MessageCipher.from_spec(old_spec)
    pair = Pair.of(10, 20)
    sealed_old = old.seal(pair, 111, 10, "before rotation")
    rotated = MessageCipher.from_spec(f"k2:{key()},{old_spec}")
    sealed_new = rotated.seal(pair, 112, 20, "after rotation")
    assert sealed_old.key_id == "k1"
    assert sealed_new.key_id == "k2"
    assert rotated.open(pair, 111, 10, sealed_old) == "before rotation"
    assert rotated.open(pair, 112, 20, sealed_new) == "after rotation"
    with pytest.raises(UndecryptableMessage, match="no key"):
        old.open(pair, 112, 20, sealed_new)


def test_associated_data_binds_conversation_message_and_sender() -> None:
    cipher = MessageCipher.from_spec(f"k:{key()}")
    sealed = cipher.seal(Pair.of(1, 2), 50, 1, "hello")
    assert b"hello" not in sealed.ciphertext
    for pair, message_id, sender in ((Pair.of(1, 3), 50, 1), (Pair.of(1, 2), 51, 1),
                                     (Pair.of(1, 2), 50, 2)):
        with pytest.raises(UndecryptableMessage):
            cipher.open(pair, message_id, sender, sealed)
    # Two seals of the same text differ (random nonces).
    assert cipher.seal(Pair.of(1, 2), 50, 1, "hello").ciphertext != sealed.ciphertext


def test_fingerprints_survive_rotation_and_hide_content() -> None:
    k1 = f"k1:{key()}"
    before = MessageCipher.from_spec(k1).fingerprint("k1", 2, "same")
    after = MessageCipher.from_spec(f"k2:{key()},{k1}")
    assert after.fingerprint("k1", 2, "same") == before
    assert after.fingerprint("k1", 3, "same") != before
    assert after.fingerprint("gone", 2, "same") is None


def test_key_configuration() -> None:
    assert [k for k, _ in parse_keys(f"a:{key()}, b:{key()}")] == ["a", "b"]
    for bad in ("", "nokid", f"a:{key()},a:{key()}", "a:c2hvcnQ=", f"bad kid:{key()}"):
        with pytest.raises(KeyConfigError):
            parse_keys(bad)


def test_dev_key_file_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "messages-keys" / "dev.key"
    spec = dev_key_spec(path)
    assert dev_key_spec(path) == spec
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert MessageCipher.from_spec(spec).primary_key_id == "dev"
