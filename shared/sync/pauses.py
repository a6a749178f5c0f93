"""Per-tenant pauses: Graph's Retry-After backs off all of a tenant's background work at once.

Graph throttles per app per tenant (and per mailbox): once it answers 429 or 503 with
Retry-After, every instance's workers leave that organisation's work alone until then, instead
of each item finding out on its own. One organisation is one Microsoft 365 tenant here, so the
pause is kept by organisation, in the schedule table, where every instance reads it:

    PartitionKey = "tenant-paused", RowKey = org, PausedUntil
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from shared.storage.entities import ConcurrencyConflict, EntityStore
from shared.storage.keys import key_parts, table_key

logger = logging.getLogger(__name__)

_PARTITION = "tenant-paused"
LONGEST = timedelta(hours=1)  # a Retry-After beyond this is taken as this (a bad header)


class TenantPauses:
    def __init__(self, table: EntityStore, clock: Callable[[], datetime]) -> None:
        self._table = table
        self._clock = clock

    def pause(self, org_id: str, seconds: float) -> datetime:
        """Pause the organisation's background work for `seconds` (never shortening a pause
        already longer); when it ends."""
        until = self._clock() + min(timedelta(seconds=max(0.0, seconds)), LONGEST)
        current = self.until(org_id)
        if current is not None and current >= until:
            return current
        self._table.upsert(_PARTITION, table_key(org_id), {"PausedUntil": until})
        logger.warning("organisation %s: Graph asked to wait, its work paused until %s",
                       org_id, until.isoformat())  # fmt: skip
        return until

    def until(self, org_id: str) -> datetime | None:
        """When the organisation's pause ends, if it is paused now."""
        row = self._table.get(_PARTITION, table_key(org_id))
        until = row.properties.get("PausedUntil") if row else None
        return until if isinstance(until, datetime) and until > self._clock() else None

    def paused(self) -> dict[str, datetime]:
        """Every organisation paused now (one range read); ended pauses are cleared."""
        now, found = self._clock(), {}
        for row in list(self._table.range(_PARTITION)):
            until = row.properties.get("PausedUntil")
            if isinstance(until, datetime) and until > now:
                found[key_parts(row.row_key)[0]] = until
            else:
                with contextlib.suppress(ConcurrencyConflict):  # paused again meanwhile
                    self._table.delete(_PARTITION, row.row_key, row.etag)
        return found
