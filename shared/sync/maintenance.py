"""What each kind of the maintenance timer's work item does: a registry of kind -> handler.

The timer finds what is due and a queue worker runs each item (shared/sync/dispatch.py); this
module says what running one means. Renew subscriptions before they expire, create the ones that
failed, push conversations Outlook has not caught up with (and those that waited for a reconnect
or a switch-on), warn users whose connection must be renewed soon, disconnect the ones past
their reconnect date, read mailboxes after a gap or a failed read, resume organisations switched
on, and fetch Teams links that Graph's answers lacked. Other areas add their own kinds with
`handlers.register(kind, handler)`. A handler is idempotent: it may run for an item twice, and
it takes its item out of the due list (or moves it) once done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from shared.connections.service import ConnectionService, ReminderOutcome
from shared.conversations.service import ConversationService
from shared.schedule import WorkItem, WorkKind, WorkSchedule
from shared.storage.keys import key_parts
from shared.sync.service import MailboxSync
from shared.sync.watch import MailboxWatcher

logger = logging.getLogger(__name__)

BATCH = 200  # a page of an organisation's connections or parked pushes per item

Report = dict[str, dict[str, int]]  # kind of work -> outcome -> how many
Handler = Callable[[WorkItem], str]  # runs one item, says what became of it


class WorkHandlers:
    """Kind -> handler; the timer enqueues only kinds that have one."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._then: dict[str, tuple[WorkKind, ...]] = {}

    def register(
        self, kind: WorkKind, handler: Handler, *, then: tuple[WorkKind, ...] = ()
    ) -> None:
        """`then`: kinds whose due items are handed out as soon as an item of this kind ran
        (it makes them due now: they need not wait for the next timer run)."""
        self._handlers[str(kind)] = handler
        self._then[str(kind)] = then

    def get(self, kind: str) -> Handler | None:
        return self._handlers.get(kind)

    def then(self, kind: str) -> tuple[WorkKind, ...]:
        return self._then.get(kind, ())

    def kinds(self) -> list[WorkKind]:
        return [WorkKind(kind) for kind in self._handlers]


class MaintenanceService:
    def __init__(
        self,
        *,
        schedule: WorkSchedule,
        watcher: MailboxWatcher,
        mailbox_sync: MailboxSync,
        conversations: ConversationService,
        connections: ConnectionService,
        clock: Callable[[], datetime],
        batch: int = BATCH,
    ) -> None:
        self._schedule = schedule
        self._watcher = watcher
        self._sync = mailbox_sync
        self._conversations = conversations
        self._connections = connections
        self._clock = clock
        self._batch = batch
        self.handlers = WorkHandlers()
        for kind, handler in (
            (WorkKind.RENEW_SUBSCRIPTION, self._renew),
            (WorkKind.CREATE_SUBSCRIPTION, self._create_subscription),
            (WorkKind.PUSH_CONVERSATION, self._push),
            (WorkKind.WARN_RECONNECT, self._warn),
            (WorkKind.EXPIRE_CONNECTION, self._expire),
            (WorkKind.RESYNC_MAILBOX, self._resync),
            (WorkKind.RESUME_ORGANISATION, self._resume),
            (WorkKind.FETCH_JOIN_URL, self._fetch_join_url),
        ):
            self.handlers.register(kind, handler)
        self.handlers.register(  # the pushes it makes due go at once
            WorkKind.RESUME_PUSHES, self._resume_pushes, then=(WorkKind.PUSH_CONVERSATION,)
        )

    def _renew(self, item: WorkItem) -> str:
        return self._watcher.renew(key_parts(item.key)[0])  # renewing moves the item itself

    def _create_subscription(self, item: WorkItem) -> str:
        self._done(item)
        org_id, user_id = item.properties["OrgId"], item.properties["UserId"]
        if self._connections.connection_of(org_id, user_id) is None:
            return "not connected"
        if not self._connections.outlook_allowed(org_id):
            return "switched off"  # switching on again resumes it (RESUME_ORGANISATION)
        return self._watcher.ensure(org_id, user_id)

    def _resync(self, item: WorkItem) -> str:
        """Read the mailbox for what was heard of at `Since`: a failed read leaves the next
        item itself (with backoff), so this one is done once the read returns."""
        org_id, user_id = item.properties["OrgId"], item.properties["UserId"]
        since = item.properties.get("Since") or item.due
        failures = int(item.properties.get("Failures", 0))
        outcome = self._sync.resync(org_id, user_id, since, failures=failures)
        self._done(item)  # only once returned: if this run dies, the next one reads
        return outcome

    def _resume(self, item: WorkItem) -> str:
        self._done(item)
        org_id = item.properties["OrgId"]
        if not self._connections.outlook_allowed(org_id):
            return "switched off"
        page, cursor = self._connections.page_of_organisation(
            org_id, str(item.properties.get("After", "")), self._batch
        )
        for connection in page:
            if not connection.needs_reconnect:
                self._watcher.ensure(org_id, connection.user_id)  # and resyncs, if new
        if cursor is not None:
            self._schedule.add(item.kind, self._clock(), item.key, OrgId=org_id, After=cursor)
        return "resumed"

    def _resume_pushes(self, item: WorkItem) -> str:
        org_id, organiser_id = item.properties["OrgId"], item.properties.get("UserId")
        resumed = self._conversations.resume_pushes(org_id, organiser_id, self._batch)
        if resumed < self._batch:
            self._done(item)
        else:
            self._schedule.release(item)  # stays due: the next run resumes the next page
        return "resumed" if resumed else "none parked"

    def _push(self, item: WorkItem) -> str:
        state = self._conversations.push_pending(
            item.properties["OrgId"], item.properties["ConversationId"], item.due
        )
        return state.value if state else "gone"

    def _fetch_join_url(self, item: WorkItem) -> str:
        """Read a Teams event for the link Graph's answer lacked; the next read, if any, is an
        item of its own, so this one is done once the read returns."""
        outcome = self._conversations.fetch_join_url(
            item.properties["OrgId"],
            item.properties["ConversationId"],
            int(item.properties.get("Attempt", 0)),
        )
        self._done(item)
        return outcome

    def _warn(self, item: WorkItem) -> str:
        self._done(item)
        return self._connections.warn_if_due(item.properties["OrgId"], item.properties["UserId"])

    def _expire(self, item: WorkItem) -> str:
        self._done(item)
        org_id, user_id = item.properties["OrgId"], item.properties["UserId"]
        outcome = self._connections.expire_if_due(org_id, user_id)
        if outcome is ReminderOutcome.EXPIRED:
            self._watcher.stop(org_id, user_id)
        return outcome

    def _done(self, item: WorkItem) -> None:
        self._schedule.remove(item.kind, item.due, item.key, lane=item.lane)
