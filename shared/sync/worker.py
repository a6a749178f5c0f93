"""The queue worker: each queued notification, handled once its mailbox is free."""

from __future__ import annotations

import hmac
import logging
from dataclasses import replace

from shared.sync.notifications import NotificationKind, SyncMessage
from shared.sync.service import MailboxSync
from shared.sync.subscriptions import SubscriptionRepository
from shared.sync.watch import MailboxWatcher

logger = logging.getLogger(__name__)


class SyncWorker:
    def __init__(
        self,
        *,
        mailbox_sync: MailboxSync,
        watcher: MailboxWatcher,
        subscriptions: SubscriptionRepository,
    ) -> None:
        self._sync = mailbox_sync
        self._watcher = watcher
        self._subscriptions = subscriptions

    def process(self, text: str) -> str:
        """What became of the message; UnreadableMessage when no retry can help it, and any
        other failure (Graph down) raises, so the queue tries again."""
        message = self._mailbox_of(SyncMessage.parse(text))
        if message is None:
            return "dropped: not the clientState of a subscription of ours"
        assert message.org_id is not None
        assert message.user_id is not None
        if message.kind is NotificationKind.LIFECYCLE:
            return self._watcher.on_lifecycle(
                message.org_id, message.user_id, message.subscription_id, message.lifecycle_event
            )
        return self._sync.resync(message.org_id, message.user_id, message.received_at)

    def _mailbox_of(self, message: SyncMessage) -> SyncMessage | None:
        """A message the webhook accepted on its clientState's MAC names no mailbox: it is the
        subscription's, if the clientState is the one stored with it."""
        if message.org_id is not None:
            return message
        subscription = self._subscriptions.get(message.subscription_id)
        if subscription is None or not hmac.compare_digest(
            subscription.client_state_hash, message.client_state_hash or ""
        ):
            logger.warning(
                "notification for subscription %s dropped: unknown, or not its clientState",
                message.subscription_id,
            )
            return None
        return replace(message, org_id=subscription.org_id, user_id=subscription.user_id)
