"""The outbound feed for the host app: what changed from Outlook, and connection events.

changes: PartitionKey = org|user, RowKey = time (UTC, sortable, microseconds)|id
The host app reads it with GET /api/me/changes?since=<cursor> to email people and show cues.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.errors import BadRequest
from shared.storage.entities import EntityTable
from shared.storage.keys import table_key

_TIME = "%Y%m%dT%H%M%S.%fZ"
_CURSOR = re.compile(r"(\d{8}T\d{6}\.\d{6}Z)\|[0-9a-f]{8}")
MAX_PAGE = 200


class ChangeFeed:
    def __init__(self, table: EntityTable, clock: Callable[[], datetime]) -> None:
        self._table = table
        self._clock = clock

    def record(self, org_id: str, user_id: str, kind: str, **details: Any) -> None:
        now = self._clock().astimezone(UTC)
        cursor = table_key(now.strftime(_TIME), uuid.uuid4().hex[:8])
        change = {"kind": kind, "at": now.isoformat(), **details}
        self._table.create(table_key(org_id, user_id), cursor, {"Json": json.dumps(change)})

    def since(self, org_id: str, user_id: str, cursor: str | None) -> dict[str, Any]:
        if cursor is not None and not _handed_out(cursor):
            raise BadRequest("since must be a cursor returned by this feed.", code="invalid_cursor")
        start = (cursor + "~") if cursor else ""
        rows = list(self._table.range(table_key(org_id, user_id), start, limit=MAX_PAGE))
        return {
            "value": [json.loads(r.properties["Json"]) | {"cursor": r.row_key} for r in rows],
            "cursor": rows[-1].row_key if rows else cursor,
        }


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
