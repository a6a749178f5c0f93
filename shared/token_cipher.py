"""Encryption of stored OAuth token caches (AES-256-GCM), with key ids for rotation.

The secret lists keys as `kid:base64key[,kid:base64key...]`; the first encrypts, all decrypt, so
a new key can be put first and old caches still read until they are rewritten with it.
Each ciphertext is bound to the row it belongs to (associated data), so a blob copied to another
user's row does not decrypt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from shared.keyring import parse_keys

_NONCE_BYTES = 12


class TokenCipherError(Exception):
    """The keys are malformed, or a blob cannot be decrypted with them (never says more)."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    blob: bytes  # nonce followed by ciphertext and tag


class TokenCipher:
    def __init__(self, keys: dict[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise TokenCipherError("the active key id has no key")
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self.active_key_id = active_key_id

    @classmethod
    def from_secret(cls, value: str) -> TokenCipher:
        try:
            keys = parse_keys(value)
        except ValueError as error:
            raise TokenCipherError(str(error)) from None
        return cls(dict(keys), keys[0][0])

    def seal(self, plaintext: bytes, bound_to: str) -> Sealed:
        nonce = os.urandom(_NONCE_BYTES)
        aead = self._keys[self.active_key_id]
        return Sealed(self.active_key_id, nonce + aead.encrypt(nonce, plaintext, bound_to.encode()))

    def open(self, sealed: Sealed, bound_to: str) -> bytes:
        aead = self._keys.get(sealed.key_id)
        if aead is None:
            raise TokenCipherError(f"key {sealed.key_id} is no longer configured")
        from cryptography.exceptions import InvalidTag

        nonce, ciphertext = sealed.blob[:_NONCE_BYTES], sealed.blob[_NONCE_BYTES:]
        try:
            return aead.decrypt(nonce, ciphertext, bound_to.encode())
        except InvalidTag:
            raise TokenCipherError("the blob does not decrypt for this row") from None

    def needs_rewrap(self, sealed: Sealed) -> bool:
        return sealed.key_id != self.active_key_id
