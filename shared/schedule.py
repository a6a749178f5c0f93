"""Due-time ordered work for the maintenance timer: every run reads only what is due, by range.

Items are idempotent and keyed by what they are about (`key`, a table_key), so writing one twice,
or running one twice, does no harm. A kind of work can be split into lanes (one per organisation
for pushes): a run then takes items from every lane in turn, so no organisation's backlog holds
up another's. Work that cannot proceed until something else happens (an organiser reconnects, an
organisation switches Outlook back on) is parked: out of the due list, found again by its lane
and holder when that happens.

schedule: PartitionKey = kind,               RowKey = due time (UTC, sortable)|key
          PartitionKey = kind|lane,          RowKey = due|key   (a laned kind's items)
          PartitionKey = kind-lanes,         RowKey = lane      (lanes that may hold items)
          PartitionKey = kind-parked|lane,   RowKey = holder|key  (parked items)

The timer does not run items: it claims each due one (`Queued`, an ETag-guarded write, so one
already gone is never brought back) and hands it to a queue worker, which reads it again by its
keys (`get`) and runs it only if it is still there. A claimed item is skipped by the runs that
follow for CLAIM, then enqueued again (its message lost, or its worker died for good).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.storage.entities import (
    ConcurrencyConflict,
    EntityNotFound,
    EntityStore,
    StoredEntity,
)
from shared.storage.keys import key_parts, table_key

_TIME = "%Y%m%dT%H%M%SZ"
_AFTER_PARTS = "}"  # sorts right after "|": the end of a key prefix
CLAIM = timedelta(minutes=15)  # an enqueued item is left alone this long (queue retries fit)
_QUEUED = "Queued"
_RUNNER = "Runner"  # the queue message whose worker runs the item


class WorkKind(StrEnum):
    RENEW_SUBSCRIPTION = "renew-subscription"
    CREATE_SUBSCRIPTION = "create-subscription"
    RESUME_PUSHES = "resume-pushes"  # an organiser's parked pushes back to due (reconnected)
    PUSH_CONVERSATION = "push-conversation"  # laned by organisation
    WARN_RECONNECT = "warn-reconnect"
    EXPIRE_CONNECTION = "expire-connection"
    RESYNC_MAILBOX = "resync-mailbox"  # read a mailbox from Outlook: a gap, a failure, a death
    RESUME_ORGANISATION = "resume-organisation"  # switched back on: resubscribe its connections
    FETCH_JOIN_URL = "fetch-join-url"  # a Teams link Graph's answer lacked: read the event later


@dataclass(frozen=True)
class WorkItem:
    kind: WorkKind
    due: datetime
    key: str  # a table_key: what the item is about (a subscription, org|user, org|conversation)
    properties: dict[str, Any]
    lane: str | None = None
    etag: str | None = None  # as read: a claim writes only what is still this

    @property
    def queued_at(self) -> datetime | None:
        value = self.properties.get(_QUEUED)
        return value if isinstance(value, datetime) else None


class WorkSchedule:
    def __init__(self, table: EntityStore) -> None:
        self._table = table

    def add(
        self, kind: WorkKind, due: datetime, key: str, *, lane: str | None = None, **properties: Any
    ) -> None:
        """Add (or keep) the item; `key` is a table_key, the same for every item of one thing."""
        self._table.upsert(_items(kind, lane), _row(due, key), {"Key": key, **properties})
        if lane is not None:  # after the item: a lane found empty is never one just written to
            self._table.upsert(_lanes(kind), table_key(lane), {})

    def remove(self, kind: WorkKind, due: datetime, key: str, *, lane: str | None = None) -> None:
        self._table.delete(_items(kind, lane), _row(due, key))

    def get(
        self, kind: str, due: datetime, key: str, *, lane: str | None = None
    ) -> WorkItem | None:
        """The item as stored now, or None: done, moved, or never there."""
        row = self._table.get(_items(kind, lane), _row(due, key))
        return None if row is None else _item(kind, lane, row)

    def release(self, item: WorkItem) -> None:
        """Keep the item due, and no longer claimed: the next run enqueues it again."""
        properties = {k: v for k, v in item.properties.items() if k not in (_QUEUED, _RUNNER)}
        self._table.upsert(_items(item.kind, item.lane), _row(item.due, item.key),
                           {"Key": item.key, **properties})  # fmt: skip

    def take(self, item: WorkItem, runner: str, now: datetime) -> bool:
        """The worker handling message `runner` takes the item to run it (ETag-guarded); False
        if another message's worker took it within CLAIM, or took it first just now. The same
        message retried takes it again."""
        holder, since = item.properties.get(_RUNNER), item.queued_at
        if holder not in (None, "", runner) and since is not None and now - since < CLAIM:
            return False
        return self._mark(item, {_QUEUED: now, _RUNNER: runner})

    def hand_back(self, item: WorkItem, runner: str) -> None:
        """The item goes back to the queue in another message: the next one may take it (it
        stays claimed, so the timer leaves it alone meanwhile)."""
        now = self.get(item.kind, item.due, item.key, lane=item.lane)
        if now is not None and now.properties.get(_RUNNER) == runner:
            self._mark(now, {_RUNNER: ""})

    def claim(self, item: WorkItem, now: datetime) -> bool:
        """Mark a due item as handed to a worker; False if it changed or went since it was read
        (then it is not enqueued: whoever changed it decides)."""
        return self._mark(item, {_QUEUED: now})

    def _mark(self, item: WorkItem, marks: dict[str, Any]) -> bool:
        if item.etag is None:
            return False
        properties = {"Key": item.key, **item.properties, **marks}
        try:
            self._table.replace(
                _items(item.kind, item.lane), _row(item.due, item.key), properties, item.etag
            )
        except (ConcurrencyConflict, EntityNotFound):
            return False
        return True

    def due(self, kind: WorkKind, now: datetime, limit: int) -> list[WorkItem]:
        """Up to `limit` items due at or before `now`: the most overdue first, and for a laned
        kind one from each lane in turn (up to `limit` lanes a run, starting further on each
        minute), so every lane with due work gets some of every run."""
        upper = _time(now) + "~"  # every key due at or before now
        lanes: list[str | None] = [None, *self._lanes_from(kind, now, limit)]
        sources = [(lane, self._due_in(kind, lane, upper, limit)) for lane in lanes]
        taken: list[WorkItem] = []
        while sources and len(taken) < limit:
            still = []
            for lane, rows in sources:
                row = next(rows, None)
                if row is None:
                    if lane is not None:
                        self._drop_lane_if_empty(kind, lane)
                    continue
                taken.append(_item(kind, lane, row))
                still.append((lane, rows))
                if len(taken) == limit:
                    break
            sources = still
        return taken

    # --- parked work ------------------------------------------------------------------------

    def park(self, kind: WorkKind, key: str, *, lane: str, holder: str, **properties: Any) -> None:
        """Keep the item out of the due list until `resume` for its lane (and holder)."""
        self._table.upsert(_parked(kind, lane), _held(holder, key), {"Key": key, **properties})

    def unpark(self, kind: WorkKind, key: str, *, lane: str, holder: str) -> None:
        """Forget a parked item (done another way)."""
        self._table.delete(_parked(kind, lane), _held(holder, key))

    def resume(
        self, kind: WorkKind, due: datetime, *, lane: str, holder: str | None, limit: int
    ) -> int:
        """Move up to `limit` parked items of the lane (of one holder, or all) back to the due
        list, due at `due`; how many moved (`limit`: there may be more)."""
        low = "" if holder is None else table_key(holder) + "|"
        high = None if holder is None else table_key(holder) + _AFTER_PARTS
        moved = 0
        for row in list(self._table.range(_parked(kind, lane), low, high, limit=limit)):
            properties = {k: v for k, v in row.properties.items() if k != "Key"}
            self.add(kind, due, str(row.properties["Key"]), lane=lane, **properties)
            self._table.delete(_parked(kind, lane), row.row_key)
            moved += 1
        return moved

    # --- lanes ------------------------------------------------------------------------------

    def _lanes_from(self, kind: WorkKind, now: datetime, limit: int) -> list[str]:
        lanes = [key_parts(row.row_key)[0] for row in self._table.range(_lanes(kind))]
        if len(lanes) <= limit:
            return lanes
        start = int(now.timestamp() // 60) % len(lanes)  # each minute's run starts further on
        return (lanes[start:] + lanes[:start])[:limit]

    def _due_in(
        self, kind: WorkKind, lane: str | None, upper: str, limit: int
    ) -> Iterator[StoredEntity]:
        return iter(self._table.range(_items(kind, lane), "", upper, limit=limit))

    def _drop_lane_if_empty(self, kind: WorkKind, lane: str) -> None:
        """A lane without any item (due or not) leaves the lanes list; an item written meanwhile
        puts it back (`add` writes the item, then the lane)."""
        if self._has_items(kind, lane):
            return
        self._table.delete(_lanes(kind), table_key(lane))
        if self._has_items(kind, lane):
            self._table.upsert(_lanes(kind), table_key(lane), {})

    def _has_items(self, kind: WorkKind, lane: str) -> bool:
        return next(iter(self._table.range(_items(kind, lane), limit=1)), None) is not None


def _items(kind: str, lane: str | None) -> str:
    return str(kind) if lane is None else table_key(str(kind), lane)


def _lanes(kind: str) -> str:
    return f"{kind}-lanes"


def _parked(kind: str, lane: str) -> str:
    return table_key(f"{kind}-parked", lane)


def _held(holder: str, key: str) -> str:
    return f"{table_key(holder)}|{key}"  # key is a table_key already


def _item(kind: str, lane: str | None, row: StoredEntity) -> WorkItem:
    return WorkItem(
        WorkKind(kind),
        datetime.strptime(row.row_key.split("|", 1)[0], _TIME).replace(tzinfo=UTC),
        str(row.properties["Key"]),
        {k: v for k, v in row.properties.items() if k != "Key"},
        lane,
        row.etag,
    )


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_TIME)


def _row(due: datetime, key: str) -> str:
    return f"{_time(due)}|{key}"  # key is a table_key already
