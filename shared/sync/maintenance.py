"""The maintenance timer's run: bounded work, each kind read by due time, one report.

Renew subscriptions before they expire, create the ones that failed, push conversations Outlook
has not caught up with, warn users whose connection must be renewed soon, and disconnect the
ones past their reconnect date.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shared.connections.model import Connection, ReconnectReason
from shared.connections.service import ConnectionService
from shared.conversations.service import ConversationService
from shared.storage.keys import key_parts, table_key
from shared.sync import schedule as work
from shared.sync.changes import ChangeFeed
from shared.sync.schedule import WorkSchedule
from shared.sync.service import MailboxBusy, SyncService

logger = logging.getLogger(__name__)

BATCH = 200  # items of each kind per run: a run stays short; the rest waits for the next one


class ConnectionLifecycle:
    """What happens around a connection: subscribe, schedule its renewal warnings, clean up."""

    def __init__(
        self,
        sync: SyncService,
        schedule: WorkSchedule,
        warning: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._sync = sync
        self._schedule = schedule
        self._warning = warning
        self._clock = clock

    def connected(self, connection: Connection) -> None:
        key = table_key(connection.org_id, connection.user_id)
        self._schedule.add(work.WARN_RECONNECT, connection.reconnect_by - self._warning, key,
                           OrgId=connection.org_id, UserId=connection.user_id)  # fmt: skip
        self._sync.on_connected(connection.org_id, connection.user_id)

    def organisation_switched_on(self, org_id: str) -> None:
        """Connections made inert while the switch was off lost their subscriptions: the timer
        resubscribes and resyncs them, a page per run (an organisation can be large)."""
        self._schedule.add(work.RESUME_ORGANISATION, self._clock(), org_id, OrgId=org_id)

    def disconnecting(self, connection: Connection) -> None:
        key = table_key(connection.org_id, connection.user_id)
        self._schedule.remove(work.WARN_RECONNECT, connection.reconnect_by - self._warning, key)
        self._schedule.remove(work.EXPIRE_CONNECTION, connection.reconnect_by, key)
        self._sync.on_disconnecting(connection.org_id, connection.user_id)


class MaintenanceService:
    def __init__(
        self,
        *,
        schedule: WorkSchedule,
        sync: SyncService,
        conversations: ConversationService,
        connections: ConnectionService,
        changes: ChangeFeed,
        clock: Callable[[], datetime],
        batch: int = BATCH,
    ) -> None:
        self._schedule = schedule
        self._sync = sync
        self._conversations = conversations
        self._connections = connections
        self._changes = changes
        self._clock = clock
        self._batch = batch

    def run(self) -> dict[str, Any]:
        now = self._clock()
        report: dict[str, Any] = {}
        for kind, handle in (
            (work.RENEW_SUBSCRIPTION, lambda item: self._sync.renew(key_parts(item.key)[0])),
            (work.CREATE_SUBSCRIPTION, self._create_subscription),
            (work.PUSH_CONVERSATION, self._push),
            (work.WARN_RECONNECT, self._warn),
            (work.EXPIRE_CONNECTION, self._expire),
            (work.RESYNC_MAILBOX, self._resync),
            (work.RESUME_ORGANISATION, self._resume),
        ):
            outcomes: dict[str, int] = {}
            for item in self._schedule.due(kind, now, self._batch):
                try:
                    outcome = handle(item) or "done"
                except MailboxBusy:
                    outcome = "busy"
                except Exception:
                    logger.exception("maintenance %s %s failed", kind, item.key)
                    outcome = "failed"
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            report[kind] = outcomes
        return report

    def _create_subscription(self, item: work.WorkItem) -> str:
        self._schedule.remove(item.kind, item.due, item.key)
        org_id, user_id = item.properties["OrgId"], item.properties["UserId"]
        if self._connections.connection_of(org_id, user_id) is None:
            return "not connected"
        if not self._connections.outlook_allowed(org_id):
            return "switched off"  # switching on again resumes it (RESUME_ORGANISATION)
        return self._sync.ensure_subscription(org_id, user_id)

    def _resync(self, item: work.WorkItem) -> str:
        org_id, user_id = item.properties["OrgId"], item.properties["UserId"]
        outcome = self._sync.resync(org_id, user_id, self._clock(), force=True)
        self._schedule.remove(item.kind, item.due, item.key)  # only once done: a failure retries
        return outcome

    def _resume(self, item: work.WorkItem) -> str:
        self._schedule.remove(item.kind, item.due, item.key)
        org_id = item.properties["OrgId"]
        if not self._connections.outlook_allowed(org_id):
            return "switched off"
        page, cursor = self._connections.page_of_organisation(
            org_id, str(item.properties.get("After", "")), self._batch
        )
        for connection in page:
            if connection.needs_reconnect:
                continue
            self._sync.ensure_subscription(org_id, connection.user_id)  # and resyncs, if new
        if cursor is not None:
            self._schedule.add(item.kind, self._clock(), item.key, OrgId=org_id, After=cursor)
        return "resumed"

    def _push(self, item: work.WorkItem) -> str:
        state = self._conversations.push_pending(
            item.properties["OrgId"], item.properties["ConversationId"], item.due
        )
        return state.value if state else "gone"

    def _warn(self, item: work.WorkItem) -> str:
        self._schedule.remove(item.kind, item.due, item.key)
        org_id, user_id = item.properties["OrgId"], item.properties["UserId"]
        connection = self._connections.connection_of(org_id, user_id)
        if connection is None or connection.needs_reconnect:
            return "not connected"
        self._changes.record(org_id, user_id, "connection_expiring_soon",
                             reconnectBy=connection.reconnect_by.isoformat())  # fmt: skip
        self._schedule.add(work.EXPIRE_CONNECTION, connection.reconnect_by, item.key,
                           OrgId=org_id, UserId=user_id)  # fmt: skip
        return "warned"

    def _expire(self, item: work.WorkItem) -> str:
        self._schedule.remove(item.kind, item.due, item.key)
        org_id, user_id = item.properties["OrgId"], item.properties["UserId"]
        connection = self._connections.connection_of(org_id, user_id)
        if connection is None or connection.needs_reconnect:
            return "not connected"
        if connection.reconnect_by > self._clock():
            return "renewed meanwhile"
        self._sync.on_disconnecting(org_id, user_id)
        self._connections.require_reconnect(
            org_id, user_id, ReconnectReason.RECONNECT_DUE, "reconnect date passed"
        )
        self._changes.record(
            org_id, user_id, "reconnect_required", reason=ReconnectReason.RECONNECT_DUE.value
        )
        return "expired"
