"""Graph's change and lifecycle notifications, accepted in milliseconds and queued.

The webhook checks each notification against its subscription (known id, matching clientState)
and queues one small message per notification; the queue worker does the rest. Accepting reads
only the subscriptions table (cached in process): no Key Vault secret, no MSAL client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.errors import ErrorCode, InvalidRequest, UnreadableMessage
from shared.sync.subscriptions import SubscriptionRepository, client_state_matches, is_text

logger = logging.getLogger(__name__)


class NotificationKind(StrEnum):
    CHANGE = "change"  # something in the mailbox's events changed
    LIFECYCLE = "lifecycle"  # the subscription needs attention (reauthorize, removed, missed)


@dataclass(frozen=True)
class SyncMessage:
    """A queued notification: which mailbox, and what Graph said about it."""

    kind: NotificationKind
    org_id: str
    user_id: str
    subscription_id: str
    received_at: datetime
    lifecycle_event: str | None = None
    change_type: str | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "kind": self.kind.value,
                "orgId": self.org_id,
                "userId": self.user_id,
                "subscriptionId": self.subscription_id,
                "lifecycleEvent": self.lifecycle_event,
                "changeType": self.change_type,
                "receivedAt": self.received_at.isoformat(),
            }
        )

    @classmethod
    def parse(cls, text: str) -> SyncMessage:
        """The message, or UnreadableMessage (no retry can help it)."""
        try:
            work = json.loads(text)
            lifecycle = work.get("kind") == NotificationKind.LIFECYCLE
            return cls(
                kind=NotificationKind.LIFECYCLE if lifecycle else NotificationKind.CHANGE,
                org_id=str(work["orgId"]),
                user_id=str(work["userId"]),
                subscription_id=str(
                    work["subscriptionId"] if lifecycle else work.get("subscriptionId", "")
                ),
                received_at=datetime.fromisoformat(work["receivedAt"]),
                lifecycle_event=work.get("lifecycleEvent"),
                change_type=work.get("changeType"),
            )
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
            raise UnreadableMessage(f"not a sync message: {error!r}") from error


class NotificationInbox:
    def __init__(
        self, subscriptions: SubscriptionRepository, clock: Callable[[], datetime]
    ) -> None:
        self._subscriptions = subscriptions
        self._clock = clock

    def accept(self, body: bytes, kind: NotificationKind) -> list[str]:
        """Queue messages for the notifications that prove they come from our subscriptions."""
        items = _notifications(body)
        received = self._clock()
        messages = []
        for item in items:
            subscription_id = item.get("subscriptionId")
            subscription = (
                self._subscriptions.get(subscription_id) if is_text(subscription_id) else None
            )
            if subscription is None:
                logger.warning("notification for unknown subscription %r dropped", subscription_id)
                continue
            if not client_state_matches(subscription, item.get("clientState")):
                logger.warning(
                    "notification for subscription %s with a wrong clientState dropped",
                    subscription_id,
                )
                continue
            message = SyncMessage(
                kind=kind,
                org_id=subscription.org_id,
                user_id=subscription.user_id,
                subscription_id=subscription.id,
                received_at=received,
                lifecycle_event=item.get("lifecycleEvent"),
                change_type=item.get("changeType"),
            )
            messages.append(message.to_json())
        return messages


def _notifications(body: bytes) -> list[dict[str, Any]]:
    try:
        payload = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
        raise InvalidRequest("The notification body is not JSON.", ErrorCode.INVALID_JSON) from None
    items = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidRequest(
            'A notification body is {"value": [...]}.', ErrorCode.INVALID_NOTIFICATION
        )
    return items
