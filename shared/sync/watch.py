"""Watching a connected mailbox: its Graph subscription from connect to disconnect.

Subscribe when a calendar is connected (and read what changed while nobody watched), renew
before expiry, recreate what Graph lost or removed, answer lifecycle notifications, and delete
the subscription before the tokens go. When Graph refuses now, the timer tries again: a mailbox
is never left without a subscription while its connection is usable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from shared.connections.service import OutlookAccess
from shared.errors import OutlookNotUsable
from shared.graph.errors import GraphError
from shared.schedule import WorkKind, WorkSchedule
from shared.storage.keys import table_key
from shared.sync.mailboxes import MailboxStates
from shared.sync.service import MailboxSync
from shared.sync.subscriptions import Subscription, SubscriptionManager, SubscriptionRepository

if TYPE_CHECKING:
    from shared.graph.client import GraphClient

logger = logging.getLogger(__name__)


class MailboxWatcher:
    def __init__(
        self,
        *,
        outlook: OutlookAccess,
        mailboxes: MailboxStates,
        subscriptions: SubscriptionRepository,
        manager: SubscriptionManager,
        mailbox_sync: MailboxSync,
        schedule: WorkSchedule,
        clock: Callable[[], datetime],
    ) -> None:
        self._outlook = outlook
        self._mailboxes = mailboxes
        self._subscriptions = subscriptions
        self._manager = manager
        self._sync = mailbox_sync
        self._schedule = schedule
        self._clock = clock

    def watch(self, org_id: str, user_id: str) -> bool:
        """Subscribe to a newly connected mailbox, and have the timer read what changed in
        Outlook while it was not watched (a reconnect); on failure the timer retries."""
        if not self._subscribe(org_id, user_id):
            return False
        self._request(WorkKind.RESYNC_MAILBOX, org_id, user_id)
        return True

    def stop(self, org_id: str, user_id: str) -> None:
        """Before the tokens go: delete the subscription in Graph (best effort) and here."""
        found = self._mailboxes.get(org_id, user_id)
        if found is None:
            return
        if found.state.subscription_id:
            self._manager.delete(self._graph_for(org_id, user_id), found.state.subscription_id)
        self._mailboxes.delete(org_id, user_id)

    def ensure(self, org_id: str, user_id: str) -> str:
        """A subscription for a usable connection that lost it (switched off, or failed)."""
        found = self._mailboxes.get(org_id, user_id)
        subscription_id = found.state.subscription_id if found else None
        if subscription_id and self._subscriptions.get(subscription_id):
            return "exists"
        if not self._subscribe(org_id, user_id):
            return "failed, retried next run"
        self._read_what_changed_unwatched(org_id, user_id)
        return "created"

    def renew(self, subscription_id: str) -> str:
        subscription = self._subscriptions.get(subscription_id)
        if subscription is None:
            return "gone"
        graph = self._graph_for(subscription.org_id, subscription.user_id)
        if graph is None:
            self._manager.forget(subscription)  # inert: switched off or must reconnect
            return "dropped"
        # Not signed with the current key: replaced by a new one. If that cannot be done now,
        # the old one is kept alive, and replaced at its next renewal.
        if not self._manager.signed_with_current_key(subscription) and self._resign(
            graph, subscription
        ):
            return "re-signed"
        if self._manager.renew(graph, subscription) is not None:
            return "renewed"
        if not self._recreate(graph, subscription.org_id, subscription.user_id):
            return "recreation left to the next run"
        self._read_what_changed_unwatched(subscription.org_id, subscription.user_id)
        return "recreated"

    def _resign(self, graph: GraphClient, subscription: Subscription) -> bool:
        """Graph never changes a clientState: a subscription signed with an older key (or made
        before clientStates were signed) is replaced by a new one, the old one deleted only once
        the new one exists, and the mailbox read for what happened in between."""
        org_id, user_id = subscription.org_id, subscription.user_id
        try:
            created = self._manager.create(graph, org_id, user_id)
        except GraphError as error:
            logger.warning("subscription %s not re-signed: %s", subscription.id, error)
            return False
        self._mailboxes.set_subscription(org_id, user_id, created.id, read_afresh=False)
        self._manager.delete(graph, subscription.id)
        self._read_what_changed_unwatched(org_id, user_id)
        return True

    def on_lifecycle(
        self, org_id: str, user_id: str, subscription_id: str, event: str | None
    ) -> str:
        """Graph's lifecycle notification for a subscription: reauthorize it, recreate it, or
        read what was missed."""
        subscription = self._subscriptions.get(subscription_id)
        if subscription is None:
            return "unknown subscription"
        graph = self._graph_for(org_id, user_id)
        if graph is None:
            return "connection not usable"
        if event == "reauthorizationRequired":
            if self._manager.reauthorize(graph, subscription):
                return "reauthorized"
            if not self._recreate(graph, org_id, user_id):
                return "recreation left to the timer"
        elif event == "subscriptionRemoved":
            self._manager.forget(subscription)
            if not self._recreate(graph, org_id, user_id):
                return "recreation left to the timer"
        elif event != "missed":
            logger.warning("unknown lifecycle event %r", event)
            return "ignored"
        return self._sync.resync(org_id, user_id, self._clock())

    def resume_later(self, org_id: str) -> None:
        """Connections made inert while the organisation's switch was off lost their
        subscriptions: the timer resubscribes and resyncs them, a page per run."""
        self._schedule.add(
            WorkKind.RESUME_ORGANISATION, self._clock(), table_key(org_id), OrgId=org_id
        )

    def _subscribe(self, org_id: str, user_id: str) -> bool:
        found = self._mailboxes.get(org_id, user_id)
        old = found.state.subscription_id if found else None
        graph = self._graph_for(org_id, user_id)
        if old:
            self._manager.delete(graph, old)
        return self._create(graph, org_id, user_id, read_afresh=True)

    def _recreate(self, graph: GraphClient, org_id: str, user_id: str) -> bool:
        return self._create(graph, org_id, user_id, read_afresh=False)

    def _create(
        self, graph: GraphClient | None, org_id: str, user_id: str, *, read_afresh: bool
    ) -> bool:
        """A new subscription for the mailbox; if it cannot be made now, the timer creates it
        (and then resyncs), so a mailbox is never left without one."""
        try:
            created = None if graph is None else self._manager.create(graph, org_id, user_id)
        except GraphError as error:
            logger.warning("subscription for %s/%s not created: %s", org_id, user_id, error)
            created = None
        if created is None:
            self._request(WorkKind.CREATE_SUBSCRIPTION, org_id, user_id)  # the timer retries
            return False
        self._mailboxes.set_subscription(org_id, user_id, created.id, read_afresh=read_afresh)
        return True

    def _read_what_changed_unwatched(self, org_id: str, user_id: str) -> None:
        """Read the mailbox now; the timer's item first, in case this process dies meanwhile
        (a read that starts later covers it, so it then costs one look at the mailbox's row)."""
        self._request(WorkKind.RESYNC_MAILBOX, org_id, user_id)
        self._sync.resync(org_id, user_id, self._clock())

    def _request(self, kind: WorkKind, org_id: str, user_id: str) -> None:
        """Work for the timer about this mailbox, due now (a read covers what changed until
        now: a sync that starts later does)."""
        key, now = table_key(org_id, user_id), self._clock()
        self._schedule.add(kind, now, key, OrgId=org_id, UserId=user_id, Since=now)

    def _graph_for(self, org_id: str, user_id: str) -> GraphClient | None:
        try:
            return self._outlook.graph_for(org_id, user_id)
        except OutlookNotUsable:
            return None
