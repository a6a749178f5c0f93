"""Key lists in settings and secrets: `kid:base64key[,kid:base64key...]`, the first one in use.

Used for the token encryption keys and the webhook clientState keys: a new key is put first, the
old ones stay listed (and keep verifying or decrypting) until nothing made with them is left.
"""

from __future__ import annotations

import base64
import binascii
import re

KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


def parse_keys(value: str) -> list[tuple[str, bytes]]:
    """The (kid, key) pairs in order, or ValueError saying which item is wrong (never a key)."""
    keys: list[tuple[str, bytes]] = []
    for index, item in enumerate(part.strip() for part in value.split(",") if part.strip()):
        kid, sep, encoded = item.partition(":")
        if not sep or not _KEY_ID.match(kid):
            raise ValueError(f"key {index + 1}: expected kid:base64key")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"key {kid}: not base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(f"key {kid}: must be {KEY_BYTES} bytes, got {len(key)}")
        if any(kid == known for known, _ in keys):
            raise ValueError(f"key {kid}: listed twice")
        keys.append((kid, key))
    if not keys:
        raise ValueError("no keys")
    return keys
