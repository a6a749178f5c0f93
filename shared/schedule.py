"""Due-time ordered work for the maintenance timer: every run reads only what is due, by range.

schedule: PartitionKey = kind of work, RowKey = due time (UTC, sortable)|item key
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.storage.entities import EntityStore

_TIME = "%Y%m%dT%H%M%SZ"


class WorkKind(StrEnum):
    RENEW_SUBSCRIPTION = "renew-subscription"
    CREATE_SUBSCRIPTION = "create-subscription"
    PUSH_CONVERSATION = "push-conversation"
    WARN_RECONNECT = "warn-reconnect"
    EXPIRE_CONNECTION = "expire-connection"
    RESYNC_MAILBOX = "resync-mailbox"  # read a mailbox from Outlook after a gap in notifications
    RESUME_ORGANISATION = "resume-organisation"  # switched back on: resubscribe its connections


@dataclass(frozen=True)
class WorkItem:
    kind: WorkKind
    due: datetime
    key: str  # a table_key: what the item is about (a subscription, org|user, org|conversation)
    properties: dict[str, Any]


class WorkSchedule:
    def __init__(self, table: EntityStore) -> None:
        self._table = table

    def add(self, kind: WorkKind, due: datetime, key: str, **properties: Any) -> None:
        """Add (or keep) the item; `key` is a table_key, the same for every item of one thing."""
        self._table.upsert(kind, _row(due, key), {"Key": key, **properties})

    def remove(self, kind: WorkKind, due: datetime, key: str) -> None:
        self._table.delete(kind, _row(due, key))

    def due(self, kind: WorkKind, now: datetime, limit: int) -> list[WorkItem]:
        """Up to `limit` items due at or before `now`, the most overdue first."""
        upper = _time(now) + "~"  # every key due at or before now
        return [
            WorkItem(
                kind,
                datetime.strptime(row.row_key.split("|", 1)[0], _TIME).replace(tzinfo=UTC),
                str(row.properties["Key"]),
                {k: v for k, v in row.properties.items() if k != "Key"},
            )
            for row in self._table.range(kind, "", upper, limit=limit)
        ]


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME)


def _row(due: datetime, key: str) -> str:
    return f"{_time(due)}|{key}"  # key is a table_key already
