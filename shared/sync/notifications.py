"""Graph's change and lifecycle notifications, accepted in milliseconds and queued.

The webhook needs no storage and no secret from Key Vault: a notification is queued when its
clientState carries our MAC (shared/sync/client_state.py), checked with keys from the app's
settings, and dropped when it does not. The queue worker then finds the subscription's mailbox
in storage and checks that the clientState is that subscription's (its hash is stored). Only a
subscription made before clientStates were signed is looked up here, a bounded number per POST.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeGuard

from shared import correlation, limits
from shared.errors import ErrorCode, InvalidRequest, TooLarge, UnreadableMessage
from shared.sync.client_state import ClientStateKeys, Verdict, client_state_hash
from shared.sync.subscriptions import SubscriptionRepository, client_state_matches, is_text

logger = logging.getLogger(__name__)


class NotificationKind(StrEnum):
    CHANGE = "change"  # something in the mailbox's events changed
    LIFECYCLE = "lifecycle"  # the subscription needs attention (reauthorize, removed, missed)


@dataclass(frozen=True)
class SyncMessage:
    """A queued notification: which subscription (and mailbox), and what Graph said about it.

    Without org and user, the mailbox is the subscription's, once the worker has checked that
    `client_state_hash` is the one stored with it."""

    kind: NotificationKind
    org_id: str | None
    user_id: str | None
    subscription_id: str
    received_at: datetime
    lifecycle_event: str | None = None
    change_type: str | None = None
    client_state_hash: str | None = None
    correlation_id: str | None = None  # the webhook's, for the worker's log lines

    def to_json(self) -> str:
        work: dict[str, Any] = {
            "kind": self.kind.value,
            "subscriptionId": self.subscription_id,
            "lifecycleEvent": self.lifecycle_event,
            "changeType": self.change_type,
            "receivedAt": self.received_at.isoformat(),
        }
        if self.org_id is not None and self.user_id is not None:
            work |= {"orgId": self.org_id, "userId": self.user_id}
        if self.client_state_hash is not None:
            work["clientStateHash"] = self.client_state_hash
        if self.correlation_id is not None:
            work["correlationId"] = self.correlation_id
        return json.dumps(work)

    @classmethod
    def parse(cls, text: str) -> SyncMessage:
        """The message, or UnreadableMessage (no retry can help it)."""
        try:
            work = json.loads(text)
            lifecycle = work.get("kind") == NotificationKind.LIFECYCLE
            proven = work.get("clientStateHash")
            mailbox = (None, None) if proven else (str(work["orgId"]), str(work["userId"]))
            return cls(
                kind=NotificationKind.LIFECYCLE if lifecycle else NotificationKind.CHANGE,
                org_id=mailbox[0],
                user_id=mailbox[1],
                subscription_id=str(
                    work["subscriptionId"]
                    if lifecycle or proven
                    else work.get("subscriptionId", "")
                ),
                received_at=datetime.fromisoformat(work["receivedAt"]),
                lifecycle_event=work.get("lifecycleEvent"),
                change_type=work.get("changeType"),
                client_state_hash=str(proven) if proven else None,
                correlation_id=correlation.usable(work.get("correlationId")),
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
            raise UnreadableMessage(f"not a sync message: {error!r}") from error


def correlation_of(text: str) -> str | None:
    """The correlation id a queued message carries, if it can be read at all."""
    try:
        work = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return correlation.usable(work.get("correlationId")) if isinstance(work, dict) else None


class NotificationInbox:
    def __init__(
        self,
        subscriptions: SubscriptionRepository,
        keys: ClientStateKeys,
        clock: Callable[[], datetime],
    ) -> None:
        self._subscriptions = subscriptions
        self._keys = keys
        self._clock = clock

    def accept(self, body: bytes, kind: NotificationKind) -> list[str]:
        """Queue a message for each notification that proves it comes from our subscriptions
        (the worker reads a mailbox once for many), each carrying the POST's correlation id. One
        log line per POST, with counts."""
        with correlation.correlated(correlation.new_id()):
            return self._accept(body, kind)

    def _accept(self, body: bytes, kind: NotificationKind) -> list[str]:
        items = _notifications(body)
        received = self._clock()
        lookups = _Lookups(limits.MAX_LEGACY_LOOKUPS_PER_POST)
        queued: list[SyncMessage] = []
        dropped: Counter[str] = Counter()
        first_dropped: Any = None
        for item in items:
            message = self._message_for(item, kind, received, lookups)
            if isinstance(message, SyncMessage):
                queued.append(message)
            else:
                dropped[message] += 1
                first_dropped = first_dropped or item.get("subscriptionId")
        if dropped:
            reasons = ", ".join(f"{count} {reason}" for reason, count in dropped.items())
            logger.warning("notifications dropped: %s (first: subscription %r)",
                           reasons, first_dropped)  # fmt: skip
        if queued:
            logger.info("%s notifications: %d queued", kind.value, len(queued))
        tag = correlation.current()
        return [replace(message, correlation_id=tag).to_json() for message in queued]

    def _message_for(
        self, item: dict[str, Any], kind: NotificationKind, received: datetime, lookups: _Lookups
    ) -> SyncMessage | str:
        """The message to queue, or why the notification is dropped."""
        subscription_id, client_state = item.get("subscriptionId"), item.get("clientState")
        if not _usable(subscription_id, limits.MAX_SUBSCRIPTION_ID) or not _usable(
            client_state, limits.MAX_CLIENT_STATE
        ):
            return "without a usable subscription id or clientState"
        event, change = _short_text(item.get("lifecycleEvent")), _short_text(item.get("changeType"))
        checked = self._keys.check(client_state)
        if checked.verdict is Verdict.SIGNED:
            proof = client_state_hash(client_state)
            return SyncMessage(kind, None, None, subscription_id, received, event, change, proof)
        if checked.verdict is Verdict.FORGED:
            return "with a clientState we did not sign"
        subscription = self._subscriptions.cached(subscription_id)
        if subscription is None:
            if not lookups.take():
                return "of unknown subscriptions past this POST's storage lookups"
            subscription = self._subscriptions.get(subscription_id)
        if subscription is None:
            return "for an unknown subscription"
        if not client_state_matches(subscription, client_state):
            return "with a wrong clientState"
        return SyncMessage(
            kind,
            subscription.org_id,
            subscription.user_id,
            subscription.id,
            received,
            event,
            change,
        )


class _Lookups:
    """How many storage reads one POST may still cost."""

    def __init__(self, allowed: int) -> None:
        self._left = allowed

    def take(self) -> bool:
        if self._left <= 0:
            return False
        self._left -= 1
        return True


def _usable(value: Any, longest: int) -> TypeGuard[str]:
    return is_text(value) and 0 < len(value) <= longest


def _short_text(value: Any) -> str | None:
    return value if _usable(value, 64) else None


def _notifications(body: bytes) -> list[dict[str, Any]]:
    if len(body or b"") > limits.MAX_WEBHOOK_BODY_BYTES:
        raise TooLarge(f"A notification body is at most {limits.MAX_WEBHOOK_BODY_BYTES} bytes.")
    try:
        payload = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        raise InvalidRequest("The notification body is not JSON.", ErrorCode.INVALID_JSON) from None
    items = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidRequest(
            'A notification body is {"value": [...]}.', ErrorCode.INVALID_NOTIFICATION
        )
    if len(items) > limits.MAX_NOTIFICATIONS_PER_POST:
        raise TooLarge(
            f"A notification body carries at most {limits.MAX_NOTIFICATIONS_PER_POST} "
            "notifications."
        )
    return items
