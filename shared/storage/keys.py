"""Every PartitionKey and RowKey the app writes, built by one function so keys never collide.

A key is one or more parts joined by '|'. Each part is percent-encoded where Azure Tables forbids
the character ('/', '\\', '#', '?', control characters), and where '%' or '|' would make the key
ambiguous: org "o|x" with user "y" and org "o" with user "x|y" are two keys, and `key_parts`
gives back exactly the parts. Parts without those characters are used as they are.
"""

from __future__ import annotations

from urllib.parse import unquote

_ENCODED = frozenset("/\\#?%|")


def _encoded(part: str) -> str:
    return "".join(
        "".join(f"%{byte:02X}" for byte in c.encode())  # UTF-8 bytes: `unquote` reverses it
        if c in _ENCODED or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F
        else c
        for c in part
    )


def table_key(*parts: str) -> str:
    """The PartitionKey or RowKey made of these parts, in this order."""
    if not parts:
        raise ValueError("a key needs at least one part")
    return "|".join(_encoded(part) for part in parts)


def key_parts(key: str) -> list[str]:
    """The parts `table_key` was given."""
    return [unquote(part) for part in key.split("|")]
