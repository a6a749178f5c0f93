"""The queue worker: each queued notification, handled once its mailbox is free."""

from __future__ import annotations

from shared.sync.notifications import NotificationKind, SyncMessage
from shared.sync.service import MailboxSync
from shared.sync.watch import MailboxWatcher


class SyncWorker:
    def __init__(self, *, mailbox_sync: MailboxSync, watcher: MailboxWatcher) -> None:
        self._sync = mailbox_sync
        self._watcher = watcher

    def process(self, text: str) -> str:
        """What became of the message; UnreadableMessage when no retry can help it, and any
        other failure (Graph down) raises, so the queue tries again."""
        message = SyncMessage.parse(text)
        if message.kind is NotificationKind.LIFECYCLE:
            return self._watcher.on_lifecycle(
                message.org_id, message.user_id, message.subscription_id, message.lifecycle_event
            )
        return self._sync.resync(message.org_id, message.user_id, message.received_at)
