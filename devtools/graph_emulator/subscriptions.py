"""Change-notification subscriptions: the model, the store, expiry rules and the URL handshake.

A subscription belongs to the app and the signed-in user whose token created it; it watches that
user's mailbox (`me/events` or `users/{own id}/events`). It is live until its expirationDateTime
(emulator clock) or until it is deleted or removed; after that every operation on it answers 404.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from devtools.graph_emulator.clock import EmulatorClock
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.persistence import PersistedFields

MAX_LIFETIME = timedelta(minutes=10_080)  # Outlook message, event, contact (under 7 days)
CLIENT_STATE_MAX = 128
TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")
HANDSHAKE_TIMEOUT = 10.0  # seconds the endpoint has to answer the validation request
LOOPBACK_HOSTS = {"localhost"}


def graph_instant(moment: datetime) -> str:
    """`2016-11-20T18:23:45.9356913Z`: Graph's DateTimeOffset with seven fraction digits."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with up to seven fraction digits; no offset means UTC."""
    head, dot, rest = text.strip().replace("Z", "+00:00").replace("z", "+00:00").partition(".")
    if dot:
        digits = ""
        for char in rest:
            if not char.isdigit():
                break
            digits += char
        head = f"{head}.{(digits + '000000')[:6]}{rest[len(digits) :]}"
    moment = datetime.fromisoformat(head)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Subscription:
    id: str
    app_id: str
    creator_id: str  # the signed-in user's object id
    tenant_id: str
    mailbox: str  # object id of the mailbox watched (the creator's own)
    resource: str  # as the client wrote it
    change_types: tuple[str, ...]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires: datetime
    tls_version: str = "v1_2"
    immutable_ids: bool = False
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    # reauthorizationRequired: sent at `reauthorize_requested`; change notifications are lost
    # from `paused_from` on until the app reauthorizes (or renews).
    reauthorize_requested: datetime | None = None
    paused_from: datetime | None = None
    drop_next: int = 0  # control API: lose this many of the next change notifications

    def as_graph(self) -> dict[str, Any]:
        """The subscription as Graph answers it."""
        return {
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.app_id,
            "changeType": ",".join(self.change_types),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": graph_instant(self.expires),
            "creatorId": self.creator_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": self.tls_version,
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }

    def as_control(self, now: datetime) -> dict[str, Any]:
        """The Graph view plus what the emulator tracks, for the control API."""
        return {
            **self.as_graph(),
            "mailbox": self.mailbox,
            "tenantId": self.tenant_id,
            "immutableIds": self.immutable_ids,
            "reauthorizationRequired": self.reauthorize_requested is not None,
            "paused": self.paused(now),
            "dropNext": self.drop_next,
        }

    def paused(self, now: datetime) -> bool:
        return self.paused_from is not None and now >= self.paused_from

    def covers(self, change_type: str) -> bool:
        return change_type in self.change_types


class SubscriptionStore(PersistedFields):
    """Live subscriptions by id; expired ones are forgotten when next looked at."""

    persisted = ("_items",)

    def __init__(self, clock: EmulatorClock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, Subscription] = {}

    def reset(self) -> None:
        with self._lock:
            self._items.clear()

    def add(self, subscription: Subscription) -> None:
        with self._lock:
            self._items[subscription.id] = subscription

    def live(self, subscription_id: str) -> Subscription | None:
        now = self._clock.now_utc()
        with self._lock:
            found = self._items.get(subscription_id)
            if found is not None and found.expires <= now:
                del self._items[subscription_id]
                return None
            return replace(found) if found else None

    def all_live(self) -> list[Subscription]:
        now = self._clock.now_utc()
        with self._lock:
            for gone in [k for k, s in self._items.items() if s.expires <= now]:
                del self._items[gone]
            return [replace(s) for s in self._items.values()]

    def for_mailbox(self, mailbox: str) -> list[Subscription]:
        return [s for s in self.all_live() if s.mailbox == mailbox]

    def update(self, subscription_id: str, **changes: Any) -> Subscription | None:
        """Change a live subscription; None when it is gone."""
        if self.live(subscription_id) is None:
            return None
        with self._lock:
            current = self._items.get(subscription_id)
            if current is None:
                return None
            updated = replace(current, **changes)
            self._items[subscription_id] = updated
            return replace(updated)

    def take_drop(self, subscription_id: str) -> bool:
        """Count down `drop_next`; True when this notification is to be lost."""
        with self._lock:
            current = self._items.get(subscription_id)
            if current is None or current.drop_next <= 0:
                return False
            current.drop_next -= 1
            return True

    def remove(self, subscription_id: str) -> Subscription | None:
        with self._lock:
            return self._items.pop(subscription_id, None)


def new_subscription_id() -> str:
    return str(uuid.uuid4())


# --- expiry -----------------------------------------------------------------------------------


def checked_expiry(value: Any, now: datetime, *, creating: bool) -> datetime:
    """The requested expirationDateTime, refused as Graph refuses it (400)."""
    if value is None or value == "":
        raise GraphError(
            400,
            "InvalidRequest",
            "expirationDateTime is a required property for subscription creation."
            if creating
            else "Subscription must contain either the 'expirationDateTime' or "
            "'notificationUrl' property and its value.",
        )
    try:
        expires = parse_instant(str(value))
    except ValueError:
        raise GraphError(
            400,
            "InvalidRequest",
            "Could not process subscription creation payload. Are all property names spelled "
            "and camelCased properly?",
        ) from None
    if expires <= now:
        raise GraphError(
            400, "ExtensionError", "Subscription expiration can only be in the future."
        )
    if expires > now + MAX_LIFETIME:
        minutes = int(MAX_LIFETIME.total_seconds() // 60)
        raise GraphError(
            400,
            "ExtensionError",
            f"Subscription expiration can only be {minutes} minutes in the future.",
        )
    return expires.astimezone(UTC)


# --- the validation handshake -------------------------------------------------------------------


def checked_url(url: Any, name: str) -> str:
    """A notification URL the emulator may call: https, or http on a loopback host."""
    if not isinstance(url, str) or not url:
        raise GraphError(400, "InvalidRequest", f"{name} is a required property.")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise GraphError(400, "InvalidRequest", f"The {name} '{url}' is not a valid URL.")
    if not _loopback(host):
        # Real Graph calls any public HTTPS endpoint; the emulator stays on this machine.
        raise GraphError(
            400,
            "InvalidRequest",
            f"The {name} must be an https URL; the emulator only calls loopback hosts.",
        )
    return url


def _loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class HandshakeResult:
    ok: bool
    reason: str  # "" when ok
    status: int | None = None


def validation_token() -> str:
    """Opaque; shaped like Graph's, with spaces and colons so URL-decoding matters."""
    return (
        "Validation: Testing client application reachability for subscription Request-Id: "
        f"{uuid.uuid4()} {secrets.token_hex(4)}"
    )


def handshake(session: requests.Session, url: str, timeout: float) -> HandshakeResult:
    """POST `url?validationToken=...`; the endpoint must answer 200, text/plain, the token."""
    token = validation_token()
    separator = "&" if urlsplit(url).query else "?"
    try:
        answer = session.post(
            f"{url}{separator}validationToken={quote(token, safe='')}",
            headers={"Content-Type": "text/plain; charset=utf-8"},
            timeout=timeout,
        )
    except requests.Timeout:
        return HandshakeResult(False, "timeout")
    except requests.RequestException:
        return HandshakeResult(False, "unreachable")
    if answer.status_code != 200:
        return HandshakeResult(False, "status", answer.status_code)
    if not answer.headers.get("Content-Type", "").lower().startswith("text/plain"):
        return HandshakeResult(False, "content-type", answer.status_code)
    if answer.text != token:
        return HandshakeResult(False, "token", answer.status_code)
    return HandshakeResult(True, "", answer.status_code)


def handshake_failed(result: HandshakeResult) -> GraphError:
    detail = {
        "timeout": "Subscription validation request failed. The notification endpoint did not "
        "answer within 10 seconds.",
        "unreachable": "Subscription validation request failed. Notification endpoint must "
        "respond with 200 OK to validation request.",
        "status": "Subscription validation request failed. Notification endpoint must respond "
        "with 200 OK to validation request.",
        "content-type": "Subscription validation request failed. Response must be of content "
        "type text/plain.",
        "token": "Subscription validation request failed. Response must exactly match "
        "validationToken query parameter.",
    }[result.reason]
    return GraphError(400, "ValidationError", detail)
