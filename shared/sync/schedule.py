"""Due-time ordered work for the maintenance timer: every run reads only what is due, by range.

schedule: PartitionKey = kind of work, RowKey = due time (UTC, sortable)|key
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.storage.entities import EntityTable
from shared.storage.keys import table_key

_TIME = "%Y%m%dT%H%M%SZ"

RENEW_SUBSCRIPTION = "renew-subscription"
CREATE_SUBSCRIPTION = "create-subscription"
PUSH_CONVERSATION = "push-conversation"
WARN_RECONNECT = "warn-reconnect"
EXPIRE_CONNECTION = "expire-connection"
RESYNC_MAILBOX = "resync-mailbox"  # read a mailbox from Outlook after a gap in notifications
RESUME_ORGANISATION = "resume-organisation"  # switched back on: resubscribe its connections


@dataclass(frozen=True)
class WorkItem:
    kind: str
    due: datetime
    key: str
    properties: dict[str, Any]


class WorkSchedule:
    def __init__(self, table: EntityTable) -> None:
        self._table = table

    def add(self, kind: str, due: datetime, key: str, **properties: Any) -> None:
        self._table.upsert(kind, _row(due, key), {"Key": key, **properties})

    def remove(self, kind: str, due: datetime, key: str) -> None:
        self._table.delete(kind, _row(due, key))

    def due(self, kind: str, now: datetime, limit: int) -> list[WorkItem]:
        upper = now.astimezone(UTC).strftime(_TIME) + "~"  # every key due at or before now
        return [
            WorkItem(
                kind,
                datetime.strptime(row.row_key.split("|", 1)[0], _TIME).replace(tzinfo=UTC),
                str(row.properties["Key"]),
                {k: v for k, v in row.properties.items() if k != "Key"},
            )
            for row in self._table.range(kind, "", upper, limit=limit)
        ]


def _row(due: datetime, key: str) -> str:
    return f"{table_key(due.astimezone(UTC).strftime(_TIME))}|{key}"  # key: a table_key already
