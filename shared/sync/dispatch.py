"""The timer schedules, queue workers do the work.

Each timer run reads what is due, kind by kind, by key range (shared/schedule.py), claims each
item and sends one small message per item to the `maintenance-work` queue; queue-triggered
workers, scaled out by the platform, run them. A message only names its item: the worker reads
the item again and runs it only if it is still due, so a message sent twice, or handled after
someone else did the work, does nothing. Items of an organisation that Graph asked to wait
(Retry-After) are neither sent nor run until the pause ends: a worker that meets one sends it
back to the queue, visible when the pause is over. Failures raise: the queue retries them after
its visibility timeout, and the function parks the last failure in the poison queue with its
reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.errors import UnreadableMessage
from shared.graph.errors import GraphError
from shared.schedule import CLAIM, WorkItem, WorkKind, WorkSchedule
from shared.storage.queues import WorkQueue
from shared.sync.maintenance import Report, WorkHandlers
from shared.sync.pauses import TenantPauses

logger = logging.getLogger(__name__)

ENQUEUE_LIMIT = 10_000  # items of each kind a run hands out (a million calendars need ~1,400)
CLAIM_CONCURRENCY = 16  # claims and sends in flight while a run hands out its items
_TIME = "%Y%m%dT%H%M%SZ"
_MAX_MESSAGE = 4096


@dataclass(frozen=True)
class WorkMessage:
    """What the queue carries: the item's keys, never its data (read afresh by the worker)."""

    kind: str
    due: datetime
    key: str
    lane: str | None

    @classmethod
    def of(cls, item: WorkItem) -> WorkMessage:
        return cls(str(item.kind), item.due, item.key, item.lane)

    def to_json(self) -> str:
        body = {"kind": self.kind, "due": self.due.strftime(_TIME), "key": self.key}
        return json.dumps(body | ({"lane": self.lane} if self.lane is not None else {}))

    @classmethod
    def parse(cls, text: str) -> WorkMessage:
        if len(text) > _MAX_MESSAGE:
            raise UnreadableMessage("work message too long")
        try:
            body: Any = json.loads(text)
        except ValueError as error:
            raise UnreadableMessage(f"work message is not JSON: {error}") from error
        if not isinstance(body, dict):
            raise UnreadableMessage("work message is not a JSON object")
        kind, due, key, lane = (body.get(k) for k in ("kind", "due", "key", "lane"))
        if not all(isinstance(v, str) and v for v in (kind, due, key)):
            raise UnreadableMessage("work message needs kind, due and key")
        if lane is not None and not (isinstance(lane, str) and lane):
            raise UnreadableMessage("work message lane must be text")
        try:
            moment = datetime.strptime(str(due), _TIME).replace(tzinfo=UTC)
        except ValueError as error:
            raise UnreadableMessage(f"work message due time unreadable: {error}") from error
        return cls(str(kind), moment, str(key), lane)


class MaintenanceTimer:
    """A run: every kind with a handler, its due items claimed and enqueued (none run here)."""

    def __init__(
        self,
        *,
        schedule: WorkSchedule,
        handlers: WorkHandlers,
        pauses: TenantPauses,
        queue: WorkQueue,
        clock: Callable[[], datetime],
        limit: int = ENQUEUE_LIMIT,
    ) -> None:
        self._schedule = schedule
        self._handlers = handlers
        self._pauses = pauses
        self._queue = queue
        self._clock = clock
        self._limit = limit

    def run(self, kinds: Sequence[WorkKind] | None = None) -> Report:
        """Hand out what is due of every kind (or of `kinds`): how many items, and why not."""
        now = self._clock()
        paused = self._pauses.paused()
        report: Report = {}
        with ThreadPoolExecutor(CLAIM_CONCURRENCY) as pool:
            for kind in self._handlers.kinds() if kinds is None else kinds:
                outcomes: dict[str, int] = {}
                ready = []
                for item in self._schedule.due(kind, now, self._limit):
                    skipped = _skipped(item, now, paused)
                    if skipped:
                        outcomes[skipped] = outcomes.get(skipped, 0) + 1
                    else:
                        ready.append(item)
                for outcome in pool.map(lambda item: self._hand_out(item, now), ready):
                    outcomes[outcome] = outcomes.get(outcome, 0) + 1
                report[kind] = outcomes
        return report

    def _hand_out(self, item: WorkItem, now: datetime) -> str:
        try:
            if not self._schedule.claim(item, now):
                return "changed meanwhile"
            self._queue.send([WorkMessage.of(item).to_json()])
        except Exception:  # this item waits for a run after CLAIM; the others go on
            logger.exception("maintenance: %s %s not handed out", item.kind, item.key)
            return "not handed out"
        return "enqueued"


def _skipped(item: WorkItem, now: datetime, paused: dict[str, datetime]) -> str | None:
    queued = item.queued_at
    if queued is not None and now - queued < CLAIM:
        return "in the queue"
    if str(item.properties.get("OrgId", "")) in paused:
        return "tenant paused"
    return None


class MaintenanceWorker:
    """One queued work item: read again, run if still due, its tenant's pause respected."""

    def __init__(
        self,
        *,
        schedule: WorkSchedule,
        handlers: WorkHandlers,
        pauses: TenantPauses,
        queue: WorkQueue,
        timer: MaintenanceTimer,
        clock: Callable[[], datetime],
    ) -> None:
        self._schedule = schedule
        self._handlers = handlers
        self._pauses = pauses
        self._queue = queue
        self._timer = timer
        self._clock = clock

    def process(self, text: str, message_id: str) -> str:
        """What became of the item; UnreadableMessage when no retry can help, and any other
        failure raises, so the queue tries again. `message_id`: the queue message's id, the
        same on each retry of it; a copy of the message has another."""
        message = WorkMessage.parse(text)
        handler = self._handlers.get(message.kind)
        if handler is None:
            raise UnreadableMessage(f"no handler for work of kind {message.kind!r}")
        item = self._schedule.get(message.kind, message.due, message.key, lane=message.lane)
        if item is None:
            return "not due any more"  # done (a duplicate), moved or removed meanwhile
        if item.due > self._clock():
            return "not due yet"
        org_id = str(item.properties.get("OrgId", "")) or None
        if org_id is not None:
            until = self._pauses.until(org_id)
            if until is not None:
                self._later(text, until)
                return "tenant paused"
        if not self._schedule.take(item, message_id, self._clock()):
            return "taken by another worker"  # a copy of this message, being handled
        try:
            outcome = handler(item)
        except GraphError as error:
            if org_id is None or error.status not in (429, 503) or error.retry_after is None:
                raise
            self._schedule.hand_back(item, message_id)
            self._later(text, self._pauses.pause(org_id, error.retry_after))
            return "throttled: tenant paused"
        following = self._handlers.then(message.kind)
        if following:
            self._timer.run(following)
        return outcome

    def _later(self, text: str, until: datetime) -> None:
        """Back to the queue, visible once the pause is over."""
        self._queue.send([text], delay=(until - self._clock()).total_seconds())
