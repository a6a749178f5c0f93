"""Two-way sync: webhooks accepted in milliseconds, then mailbox-by-mailbox delta processing.

A notification only says "this mailbox changed". The queue worker then reads the mailbox's
changes with one delta query (however many notifications came), under a per-mailbox lease so
one mailbox is processed by one worker at a time. Notifications received before a sync started
are already covered by it, so duplicates and bursts cost no further Graph calls.

mailboxsync: PartitionKey = org id, RowKey = user id -> subscription id, delta link, the time the
last completed sync started, and the lease.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from shared.connections.service import ConnectionService, GraphFactory
from shared.conversations.model import ConversationStatus, SyncState
from shared.conversations.repository import ConversationRepository, EventIndex
from shared.conversations.service import ConversationService
from shared.errors import BadRequest, DomainError, UnreadableMessage
from shared.graph.client import GraphClient
from shared.graph.errors import GraphError
from shared.storage.entities import ConcurrencyConflict, EntityAlreadyExists, EntityTable, safe_key
from shared.sync.changes import ChangeFeed
from shared.sync.outlook_changes import apply_event, is_removal
from shared.sync.subscriptions import (
    SubscriptionManager,
    SubscriptionRepository,
    client_state_matches,
    is_text,
)

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
DELTA_BACK = timedelta(days=1)
DELTA_AHEAD = timedelta(days=2 * 365)  # recurrences and conversations are synced 2 years ahead
_UTC = {"Prefer": 'outlook.timezone="UTC", IdType="ImmutableId", odata.maxpagesize=200'}


class MailboxBusy(Exception):
    """Another worker holds this mailbox's lease: the queue retries the message later."""


class SyncService:
    def __init__(
        self,
        *,
        connections: ConnectionService,
        conversations: ConversationService,
        conversation_repository: ConversationRepository,
        events: EventIndex,
        mailboxes: EntityTable,
        subscriptions: SubscriptionRepository,
        manager: SubscriptionManager,
        changes: ChangeFeed,
        graph: GraphFactory,
        clock: Callable[[], datetime],
    ) -> None:
        self._connections = connections
        self._conversations = conversations
        self._repository = conversation_repository
        self._events = events
        self._mailboxes = mailboxes
        self._subscriptions = subscriptions
        self._manager = manager
        self._changes = changes
        self._graph = graph
        self._clock = clock

    # --- webhooks (HTTP, milliseconds) ----------------------------------------------------------

    def accept(self, body: bytes, *, lifecycle: bool) -> list[str]:
        """Queue messages for the notifications that prove they come from our subscriptions."""
        try:
            payload = json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: deep nesting
            raise BadRequest("The notification body is not JSON.", code="invalid_json") from None
        items = payload.get("value") if isinstance(payload, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise BadRequest(
                'A notification body is {"value": [...]}.', code="invalid_notification"
            )
        received = self._clock().isoformat()
        messages = []
        for item in items:
            subscription_id = item.get("subscriptionId")
            subscription = (
                self._subscriptions.get(subscription_id) if is_text(subscription_id) else None
            )
            if subscription is None:
                logger.warning("notification for unknown subscription %r dropped", subscription_id)
                continue
            if not client_state_matches(subscription, item.get("clientState")):
                logger.warning(
                    "notification for subscription %s with a wrong clientState dropped",
                    subscription_id,
                )
                continue
            messages.append(json.dumps({
                "kind": "lifecycle" if lifecycle else "change",
                "orgId": subscription.org_id,
                "userId": subscription.user_id,
                "subscriptionId": subscription.id,
                "lifecycleEvent": item.get("lifecycleEvent"),
                "changeType": item.get("changeType"),
                "receivedAt": received,
            }))  # fmt: skip
        return messages

    # --- queue worker -----------------------------------------------------------------------------

    def process(self, message: str) -> str:
        try:
            work = json.loads(message)
            org_id, user_id = str(work["orgId"]), str(work["userId"])
            received = datetime.fromisoformat(work["receivedAt"])
            lifecycle = work.get("kind") == "lifecycle"
            subscription_id = str(work["subscriptionId"]) if lifecycle else ""
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
            raise UnreadableMessage(f"not a sync message: {error!r}") from error
        if lifecycle:
            return self._lifecycle(
                org_id, user_id, subscription_id, work.get("lifecycleEvent"), received
            )
        return self.resync(org_id, user_id, received)

    def _lifecycle(
        self, org_id: str, user_id: str, subscription_id: str, event: str | None, received: datetime
    ) -> str:
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
        return self.resync(org_id, user_id, self._clock(), force=True)

    def _recreate(self, graph: GraphClient, org_id: str, user_id: str) -> bool:
        """A new subscription for the mailbox; if Graph refuses now, the timer creates it (and
        then resyncs), so a mailbox is never left without one."""
        try:
            created = self._manager.create(graph, org_id, user_id)
        except GraphError as error:
            logger.warning("subscription for %s/%s not recreated (%s)", org_id, user_id, error)
            self._manager.request_creation(org_id, user_id)
            return False
        self._update_mailbox(org_id, user_id, SubscriptionId=created.id)
        return True

    def resync(self, org_id: str, user_id: str, received: datetime, *, force: bool = False) -> str:
        """Read what changed in the mailbox (delta) and apply it to the conversations it carries.

        One worker per mailbox holds a lease; another worker that finds it held leaves a "run
        again" flag instead of waiting or failing, and the holder does one more round before it
        lets go. A burst of notifications costs a round or two, and none ends in the poison queue.
        """
        keys = (safe_key(org_id), safe_key(user_id))
        for _ in range(5):
            state = self._mailboxes.get(*keys)
            properties = dict(state.properties) if state else {}
            synced_through = properties.get("SyncedThrough")
            if not force and synced_through is not None and received < synced_through:
                return "covered"
            now = self._clock()
            held = properties.get("LockedUntil") is not None and properties["LockedUntil"] > now
            properties["Dirty" if held else "LockedUntil"] = True if held else now + LEASE
            try:
                if state is None:
                    etag = self._mailboxes.create(*keys, properties)
                else:
                    etag = self._mailboxes.replace(*keys, properties, state.etag)
            except (ConcurrencyConflict, EntityAlreadyExists):
                continue  # the row moved under us: look again
            if held:
                return "left to the running sync"
            return self._sync_rounds(org_id, user_id, properties, etag)
        raise MailboxBusy(f"{org_id}/{user_id}")

    def _sync_rounds(self, org_id: str, user_id: str, properties: dict[str, Any], etag: str) -> str:
        keys = (safe_key(org_id), safe_key(user_id))
        applied = rounds = 0
        while True:
            started = self._clock()
            graph = self._graph_for(org_id, user_id)
            if graph is None:  # nothing to read until the user reconnects (which resyncs)
                properties["SyncedThrough"] = started
                outcome = "connection not usable"
            else:
                try:
                    count, properties["DeltaLink"] = self._read_changes(
                        graph, org_id, properties.get("DeltaLink")
                    )
                except Exception:
                    # Let go of the lease now, so the retry (or a newer notification) syncs
                    # instead of finding the mailbox held by a sync that no longer runs.
                    self._update_mailbox(org_id, user_id, LockedUntil=None, Dirty=None)
                    raise  # the queue retries the message; the delta link was not moved on
                applied, rounds = applied + count, rounds + 1
                properties["SyncedThrough"] = started
                outcome = f"applied {applied} in {rounds} round(s)"
            properties = {k: v for k, v in properties.items() if v is not None and k != "Dirty"}
            released = {k: v for k, v in properties.items() if k != "LockedUntil"}
            try:
                self._mailboxes.replace(*keys, released, etag)
                return outcome
            except ConcurrencyConflict:
                current = self._mailboxes.get(*keys)
                if current is None or graph is None or not current.properties.get("Dirty"):
                    if current is not None:
                        merged = {**dict(current.properties), **released}
                        unlocked = {
                            k: v for k, v in merged.items() if k not in ("LockedUntil", "Dirty")
                        }
                        self._mailboxes.replace(*keys, unlocked, current.etag)
                    return outcome
                properties["LockedUntil"] = self._clock() + LEASE  # asked to run again: keep it
                etag = self._mailboxes.replace(*keys, {**properties, "Dirty": False}, current.etag)

    def _read_changes(
        self, graph: GraphClient, org_id: str, delta_link: str | None
    ) -> tuple[int, str]:
        page: str | None = delta_link
        params: dict[str, str] | None = None
        if page is None:
            now = self._clock()
            page = "me/calendarView/delta"
            params = {
                "startDateTime": (now - DELTA_BACK).isoformat(),
                "endDateTime": (now + DELTA_AHEAD).isoformat(),
            }
        applied = 0
        while True:
            try:
                answer = graph.request("GET", page, params=params, headers=_UTC)
            except GraphError as error:
                if error.status == 410 and delta_link is not None:  # sync state too old: start over
                    return self._read_changes(graph, org_id, None)
                raise
            for event in answer.get("value", []):
                applied += self._apply(org_id, event)
            if "@odata.nextLink" in answer:
                page, params = answer["@odata.nextLink"], None
                continue
            return applied, answer.get("@odata.deltaLink", page)

    def _apply(self, org_id: str, event: dict[str, Any]) -> int:
        found = self._events.find(str(event.get("id", "")))
        if found is None or found[0] != org_id:
            return 0  # never touch an event the integration did not create
        stored = self._repository.get(org_id, found[1])
        if stored is None:
            return 0
        conversation = stored.conversation
        if is_removal(event):
            if conversation.status is ConversationStatus.CANCELLED:
                return 0
            self._notify(conversation, {"kind": "conversation_cancelled", "by": "outlook"})
            if conversation.has_records:
                kept = replace(
                    conversation,
                    status=ConversationStatus.CANCELLED,
                    sync_state=SyncState.SYNCED,
                    version=conversation.version + 1,
                    updated_at=self._clock(),
                )
                self._save(stored, kept)
            else:
                self._conversations.remove(conversation)
            return 1
        applied = apply_event(conversation, event)
        if applied is None:
            return 0
        self._save(stored, replace(applied.conversation, updated_at=self._clock()))
        for change in applied.changes:
            self._notify(conversation, change)
        return 1

    def _save(self, stored: Any, conversation: Any) -> None:
        try:
            self._repository.replace(conversation, stored.etag, stored.conversation)
        except ConcurrencyConflict:
            logger.info(
                "conversation %s changed meanwhile; the next delta round re-applies",
                conversation.id,
            )
            raise

    def _notify(self, conversation: Any, change: dict[str, Any]) -> None:
        details = {"conversationId": conversation.id, "title": conversation.title, **change}
        kind = details.pop("kind")
        logger.info("conversation %s of %s/%s: %s from Outlook",
                    conversation.id, conversation.org_id, conversation.organiser_id,
                    kind)  # fmt: skip
        users = {conversation.organiser_id} | {
            a.user_id for a in conversation.attendees if a.user_id
        }
        for user in sorted(users):
            self._changes.record(conversation.org_id, user, kind, **details)

    # --- connection lifecycle -------------------------------------------------------------------

    def on_connected(self, org_id: str, user_id: str) -> bool:
        """Subscribe to the new connection's events, and have the timer read what changed in
        Outlook while it was not watched (a reconnect); on failure the timer retries."""
        if not self._subscribe(org_id, user_id):
            return False
        self._manager.request_resync(org_id, user_id)
        return True

    def _subscribe(self, org_id: str, user_id: str) -> bool:
        state = self._mailboxes.get(safe_key(org_id), safe_key(user_id))
        old = state.properties.get("SubscriptionId") if state else None
        graph = self._graph_for(org_id, user_id)
        try:
            if old:
                self._manager.delete(graph, old)
            if graph is None:
                raise DomainError("connection not usable")
            created = self._manager.create(graph, org_id, user_id)
        except (GraphError, DomainError) as error:
            logger.warning(
                "subscription for %s/%s not created now (%s); the timer retries",
                org_id,
                user_id,
                error,
            )
            self._manager.request_creation(org_id, user_id)
            return False
        self._update_mailbox(org_id, user_id, SubscriptionId=created.id, DeltaLink=None)
        return True

    def on_disconnecting(self, org_id: str, user_id: str) -> None:
        """Before the tokens go: delete the subscription in Graph (best effort) and locally."""
        state = self._mailboxes.get(safe_key(org_id), safe_key(user_id))
        subscription_id = state.properties.get("SubscriptionId") if state else None
        if subscription_id:
            self._manager.delete(self._graph_for(org_id, user_id), subscription_id)
        if state is not None:
            self._mailboxes.delete(safe_key(org_id), safe_key(user_id))

    def ensure_subscription(self, org_id: str, user_id: str) -> str:
        state = self._mailboxes.get(safe_key(org_id), safe_key(user_id))
        if (
            state
            and state.properties.get("SubscriptionId")
            and self._subscriptions.get(state.properties["SubscriptionId"])
        ):
            return "exists"
        if not self._subscribe(org_id, user_id):
            return "failed, retried next run"
        self.resync(org_id, user_id, self._clock(), force=True)  # what changed while unwatched
        return "created"

    def renew(self, subscription_id: str) -> str:
        subscription = self._subscriptions.get(subscription_id)
        if subscription is None:
            return "gone"
        graph = self._graph_for(subscription.org_id, subscription.user_id)
        if graph is None:
            self._manager.forget(subscription)  # inert: switched off or must reconnect
            return "dropped"
        if self._manager.renew(graph, subscription) is not None:
            return "renewed"
        if not self._recreate(graph, subscription.org_id, subscription.user_id):
            return "recreation left to the next run"
        self.resync(subscription.org_id, subscription.user_id, self._clock(), force=True)
        return "recreated"

    def _graph_for(self, org_id: str, user_id: str) -> GraphClient | None:
        try:
            token = self._connections.access_token(org_id, user_id)
        except DomainError:
            return None
        return self._graph(lambda: token, self._connections.token_renewal(org_id, user_id))

    def _update_mailbox(self, org_id: str, user_id: str, **values: Any) -> None:
        for _ in range(3):
            state = self._mailboxes.get(safe_key(org_id), safe_key(user_id))
            properties = {**(state.properties if state else {}), **values}
            properties = {k: v for k, v in properties.items() if v is not None}
            try:
                if state is None:
                    self._mailboxes.create(safe_key(org_id), safe_key(user_id), properties)
                else:
                    self._mailboxes.replace(
                        safe_key(org_id), safe_key(user_id), properties, state.etag
                    )
                return
            except (ConcurrencyConflict, EntityAlreadyExists):
                continue
