"""What Graph's webhooks need, built without the rest of the app.

A cold instance's first notification must not pay for importing the whole composition root
(MSAL, the Graph client, every service: about a second): Graph waits for the 202, and counts
slow answers against the subscription. This builds the NotificationInbox from settings alone;
it reads no secret and, for a clientState carrying our MAC, no storage. Once the composition
root has been imported by another request (or by the local host, which sets its clock), its
inbox is used instead, so there is one clock and one set of clients per process.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from shared.settings import load_settings
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.entities import EntityStore, EntityTable
from shared.sync.client_state import ClientStateKeys
from shared.sync.notifications import NotificationInbox
from shared.sync.subscriptions import SubscriptionRepository

_lock = threading.Lock()
_inbox: NotificationInbox | None = None


def webhook_inbox(environ: Mapping[str, str] = os.environ) -> NotificationInbox:
    """The process's inbox; raises SettingsError (naming each problem) if it cannot start."""
    root = sys.modules.get("shared.bootstrap")
    if root is not None:
        return root.services(environ).webhooks  # type: ignore[no-any-return]
    global _inbox
    with _lock:
        if _inbox is None:
            settings = load_settings(environ)
            storage = StorageAccount(settings.storage)
            table = _OnFirstUse(lambda: EntityTable(storage.table(names.SUBSCRIPTIONS_TABLE)))
            _inbox = NotificationInbox(
                SubscriptionRepository(cast(EntityStore, table)),
                ClientStateKeys(settings.webhook_client_state_keys),
                lambda: datetime.now(UTC),
            )
        return _inbox


class _OnFirstUse:
    """The subscriptions table, its SDK (a second to import) loaded only if a notification
    needs it: one whose clientState is not ours, or from before clientStates were signed."""

    def __init__(self, make: Callable[[], EntityStore]) -> None:
        self._make = make
        self._table: EntityStore | None = None

    def __getattr__(self, name: str) -> Any:
        if self._table is None:
            with _lock:
                if self._table is None:
                    self._table = self._make()
        return getattr(self._table, name)
