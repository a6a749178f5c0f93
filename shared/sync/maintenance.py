"""The maintenance timer's run: bounded work, each kind read by due time, one report.

Renew subscriptions before they expire, create the ones that failed, push conversations Outlook
has not caught up with (and those that waited for a reconnect or a switch-on), warn users whose
connection must be renewed soon, disconnect the ones past their reconnect date, read mailboxes
after a gap or a failed read, resume organisations switched on, and fetch Teams links that
Graph's answers lacked.
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

BATCH = 200  # items of each kind per run: a run stays short; the rest waits for the next one

Report = dict[str, dict[str, int]]  # kind of work -> outcome -> how many


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
        self._handlers: dict[WorkKind, Callable[[WorkItem], str]] = {
            WorkKind.RENEW_SUBSCRIPTION: self._renew,
            WorkKind.CREATE_SUBSCRIPTION: self._create_subscription,
            WorkKind.RESUME_PUSHES: self._resume_pushes,  # before pushes: pushed this same run
            WorkKind.PUSH_CONVERSATION: self._push,
            WorkKind.WARN_RECONNECT: self._warn,
            WorkKind.EXPIRE_CONNECTION: self._expire,
            WorkKind.RESYNC_MAILBOX: self._resync,
            WorkKind.RESUME_ORGANISATION: self._resume,
            WorkKind.FETCH_JOIN_URL: self._fetch_join_url,
        }

    def run(self) -> Report:
        now = self._clock()
        report: Report = {}
        for kind, handle in self._handlers.items():
            outcomes: dict[str, int] = {}
            for item in self._schedule.due(kind, now, self._batch):
                try:
                    outcome = handle(item)
                except Exception:
                    logger.exception("maintenance %s %s failed", kind, item.key)
                    outcome = "failed"
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            report[kind] = outcomes
        return report

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
            self._done(item)  # else it stays due: the next run resumes the next page
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
