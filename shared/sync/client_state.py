"""The clientState of our Graph subscriptions: a MAC, so the webhook can tell a notification of
ours from anyone's POST with no storage read and no Key Vault call.

Graph echoes a subscription's clientState in every notification, and it cannot be changed
after the subscription is created (at most 128 characters). Ours is

    v1.<kid>.<nonce>.<tag>      tag = HMAC-SHA256(key[kid], "v1.<kid>.<nonce>"), 128 bits

base64url throughout, 80 characters at most. The keys are an app setting
(WEBHOOK_CLIENT_STATE_KEYS, in Azure a Key Vault reference the platform resolves): the first
signs, every listed one verifies, so a new key is put first and an old one removed once no
subscription signed with it is left (renewing such a subscription recreates it).

The tag proves that we minted the clientState; the queue worker then checks, against storage,
that it is the one of that subscription (its hash is stored with the subscription's mailbox).
Subscriptions created before this scheme carry a random clientState ("legacy"), known only by
its stored hash: they are accepted that way until they are recreated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

VERSION = "v1"
_NONCE_BYTES = 16
_TAG_BYTES = 16


class Verdict(StrEnum):
    SIGNED = "signed"  # minted by us, with a key we hold
    FORGED = "forged"  # our format, but no key of ours made it: never ours
    LEGACY = "legacy"  # not our format: possibly a subscription made before the MAC


@dataclass(frozen=True)
class Checked:
    verdict: Verdict
    key_id: str | None = None


class ClientStateKeys:
    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("no clientState keys")
        self._keys = dict(keys)
        self.signing_key_id = keys[0][0]

    def mint(self) -> str:
        """A new subscription's clientState, signed with the first key."""
        nonce = _b64(secrets.token_bytes(_NONCE_BYTES))
        kid = self.signing_key_id
        return f"{VERSION}.{kid}.{nonce}.{_tag(self._keys[kid], kid, nonce)}"

    def check(self, presented: str) -> Checked:
        """Whether `presented` is a clientState we minted (text the caller made sure of)."""
        head, _, rest = presented.partition(".")
        if head != VERSION:
            return Checked(Verdict.LEGACY)
        kid, nonce, tag = _split(rest)
        key = self._keys.get(kid)
        if key is None or not nonce or not hmac.compare_digest(tag, _tag(key, kid, nonce)):
            return Checked(Verdict.FORGED)
        return Checked(Verdict.SIGNED, kid)


def client_state_hash(client_state: str) -> str:
    """What is stored of a clientState: its SHA-256, hex."""
    return hashlib.sha256(client_state.encode()).hexdigest()


def _split(rest: str) -> tuple[str, str, str]:
    parts = rest.rsplit(".", 2)  # a key id may hold dots; nonce and tag never do
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", "", "")


def _tag(key: bytes, kid: str, nonce: str) -> str:
    message = f"{VERSION}.{kid}.{nonce}".encode()
    return _b64(hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES])


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
