"""Each connected mailbox's sync state, one row per user, written under its ETag.

mailboxsync: PartitionKey = org id, RowKey = user id -> the subscription's id (the watcher's),
the delta link and the time the last completed sync started (the sync's), and the lease that
lets one worker at a time read the mailbox.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.storage.entities import ConcurrencyConflict, EntityAlreadyExists, EntityStore
from shared.storage.keys import table_key


@dataclass(frozen=True)
class MailboxState:
    subscription_id: str | None = None
    delta_link: str | None = None  # where the next delta read goes on from
    synced_through: datetime | None = None  # notifications received before this are covered
    locked_until: datetime | None = None  # a worker's lease
    dirty: bool = False  # asked to run again while the lease was held
    window_from: datetime | None = None  # when the delta link's window was set (it slides)


@dataclass(frozen=True)
class StoredMailbox:
    state: MailboxState
    etag: str


class MailboxStates:
    def __init__(self, table: EntityStore) -> None:
        self._table = table

    def get(self, org_id: str, user_id: str) -> StoredMailbox | None:
        stored = self._table.get(table_key(org_id), table_key(user_id))
        if stored is None:
            return None
        p = stored.properties
        state = MailboxState(
            subscription_id=p.get("SubscriptionId"),
            delta_link=p.get("DeltaLink"),
            synced_through=p.get("SyncedThrough"),
            locked_until=p.get("LockedUntil"),
            dirty=bool(p.get("Dirty", False)),
            window_from=p.get("WindowFrom"),
        )
        return StoredMailbox(state, stored.etag)

    def put(self, org_id: str, user_id: str, state: MailboxState, etag: str | None) -> str:
        """Create (etag None) or replace only if unchanged since read: ConcurrencyConflict or
        EntityAlreadyExists when someone else wrote first."""
        keys = table_key(org_id), table_key(user_id)
        if etag is None:
            return self._table.create(*keys, _properties(state))
        return self._table.replace(*keys, _properties(state), etag)

    def set_subscription(
        self, org_id: str, user_id: str, subscription_id: str, *, read_afresh: bool
    ) -> None:
        """The mailbox's new subscription; with `read_afresh`, the next sync reads all its
        events again instead of going on from the delta link (a new connection)."""
        for _ in range(3):
            found = self.get(org_id, user_id)
            state = found.state if found else MailboxState()
            delta_link = None if read_afresh else state.delta_link
            renewed = replace(state, subscription_id=subscription_id, delta_link=delta_link)
            if read_afresh:
                renewed = replace(renewed, window_from=None)
            try:
                self.put(org_id, user_id, renewed, found.etag if found else None)
                return
            except (ConcurrencyConflict, EntityAlreadyExists):
                continue

    def delete(self, org_id: str, user_id: str) -> None:
        self._table.delete(table_key(org_id), table_key(user_id))


def _properties(state: MailboxState) -> dict[str, Any]:
    properties = {
        "SubscriptionId": state.subscription_id,
        "DeltaLink": state.delta_link,
        "SyncedThrough": state.synced_through,
        "LockedUntil": state.locked_until,
        "Dirty": state.dirty or None,
        "WindowFrom": state.window_from,
    }
    return {name: value for name, value in properties.items() if value is not None}
