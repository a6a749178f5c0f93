import base64

import pytest

from shared.token_cipher import Sealed, TokenCipher, TokenCipherError

OLD = base64.b64encode(b"o" * 32).decode()
NEW = base64.b64encode(b"n" * 32).decode()


def test_sealed_tokens_open_only_for_the_row_they_were_sealed_for():
    cipher = TokenCipher.from_secret(f"k1:{OLD}")
    sealed = cipher.seal(b'{"RefreshToken": {"secret": "rt-123"}}', bound_to="org-1/user-1")
    assert b"rt-123" not in sealed.blob
    assert cipher.open(sealed, "org-1/user-1") == b'{"RefreshToken": {"secret": "rt-123"}}'
    with pytest.raises(TokenCipherError, match="does not decrypt"):
        cipher.open(sealed, "org-1/user-2")


def test_a_rotated_key_still_opens_blobs_sealed_with_the_previous_key():
    before = TokenCipher.from_secret(f"k1:{OLD}")
    sealed = before.seal(b"cache", "org/user")
    after = TokenCipher.from_secret(f"k2:{NEW},k1:{OLD}")
    assert after.open(sealed, "org/user") == b"cache"
    assert after.needs_rewrap(sealed)
    resealed = after.seal(b"cache", "org/user")
    assert resealed.key_id == "k2"
    assert not after.needs_rewrap(resealed)


def test_a_retired_key_is_named_when_a_blob_needs_it():
    sealed = TokenCipher.from_secret(f"k1:{OLD}").seal(b"cache", "org/user")
    with pytest.raises(TokenCipherError, match="key k1 is no longer configured"):
        TokenCipher.from_secret(f"k2:{NEW}").open(sealed, "org/user")


def test_tampered_blobs_are_refused():
    cipher = TokenCipher.from_secret(f"k1:{OLD}")
    sealed = cipher.seal(b"cache", "org/user")
    flipped = bytes([sealed.blob[-1] ^ 1])
    with pytest.raises(TokenCipherError):
        cipher.open(Sealed("k1", sealed.blob[:-1] + flipped), "org/user")


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "no keys"),
        ("k1", "expected kid:base64key"),
        ("k1:not base64!", "not base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
        (f"k1:{OLD},k1:{NEW}", "listed twice"),
    ],
)
def test_malformed_key_lists_are_refused_without_echoing_keys(secret, message):
    with pytest.raises(TokenCipherError, match=message) as raised:
        TokenCipher.from_secret(secret)
    assert OLD not in str(raised.value)
