"""The outbound feed for the host app: what changed from Outlook, and connection events.

changes: PartitionKey = org|user, RowKey = time (UTC, sortable, microseconds)|random id
The host app reads it with GET /api/me/changes?since=<cursor> to email people and show cues.
Entries are recorded as the API shows them (each area's views build them). Each has an `id`:
an entry recorded twice (outbox.py: at least once) keeps it, so the host app drops duplicates.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.changes.outbox import Pending
from shared.errors import ErrorCode, InvalidRequest
from shared.storage.entities import EntityStore
from shared.storage.keys import table_key

_TIME = "%Y%m%dT%H%M%S.%fZ"
_CURSOR = re.compile(r"(\d{8}T\d{6}\.\d{6}Z)\|[0-9a-f]{8}")
MAX_PAGE = 200
_TICK = timedelta(microseconds=1)  # the cursor's resolution


@dataclass(frozen=True)
class FeedEntry:
    cursor: str
    change: dict[str, Any]  # {"kind", "at", "id", ...}


@dataclass(frozen=True)
class FeedPage:
    entries: list[FeedEntry]
    cursor: str | None  # where the next read goes on from (the last entry's, or the one given)


class ChangeFeed:
    def __init__(self, table: EntityStore, clock: Callable[[], datetime]) -> None:
        self._table = table
        self._clock = clock
        self._last = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def record(self, org_id: str, user_id: str, change: Mapping[str, Any]) -> None:
        """Add a change ({"kind": ..., ...}) to the user's feed, stamped with the time. Changes
        recorded one after another come back in that order, even within one clock tick. Its
        `id` is kept if it has one (an entry recorded again from an outbox), else made."""
        with self._lock:
            now = max(self._clock().astimezone(UTC), self._last + _TICK)
            self._last = now
        entry = {"kind": change["kind"], "at": now.isoformat(), "id": str(uuid.uuid4())}
        entry |= change
        cursor = table_key(now.strftime(_TIME), uuid.uuid4().hex[:8])
        self._table.create(table_key(org_id, user_id), cursor, {"Json": json.dumps(entry)})

    def publish(self, org_id: str, outbox: Iterable[Pending]) -> None:
        """Record each waiting entry in the feed of each of its users (outbox.py)."""
        for waiting in outbox:
            for user in waiting.users:
                self.record(org_id, user, waiting.entry)

    def since(self, org_id: str, user_id: str, cursor: str | None) -> FeedPage:
        """The user's changes after `cursor` (from the start without one), oldest first."""
        if cursor is not None and not _handed_out(cursor):
            raise InvalidRequest(
                "since must be a cursor returned by this feed.", ErrorCode.INVALID_CURSOR
            )
        start = (cursor + "~") if cursor else ""
        rows = self._table.range(table_key(org_id, user_id), start, limit=MAX_PAGE)
        entries = [FeedEntry(row.row_key, json.loads(row.properties["Json"])) for row in rows]
        return FeedPage(entries, entries[-1].cursor if entries else cursor)


def _handed_out(cursor: str) -> bool:
    """Whether it has the shape of the cursors this feed hands out, with a real timestamp."""
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        return False
    try:
        datetime.strptime(match[1], _TIME)
    except ValueError:
        return False
    return True
