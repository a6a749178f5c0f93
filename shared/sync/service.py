"""Reading what changed in a mailbox (delta) and handing it to the conversations it carries.

A notification only says "this mailbox changed". The queue worker then reads the mailbox's
changes with one delta query (however many notifications came), under a per-mailbox lease so
one mailbox is processed by one worker at a time. Notifications received before a sync started
are already covered by it, so duplicates and bursts cost no further Graph calls. Each Outlook
event becomes changes in the conversation's terms (outlook_changes), which the conversation
service, the one writer of conversations, applies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.connections.service import OutlookAccess
from shared.conversations.model import SYNC_HORIZON
from shared.conversations.repository import UnreadableConversation
from shared.conversations.service import ConversationService
from shared.errors import OutlookNotUsable
from shared.graph.errors import GraphError
from shared.graph.headers import prefer_header
from shared.storage.entities import ConcurrencyConflict, EntityAlreadyExists
from shared.sync.mailboxes import MailboxState, MailboxStates
from shared.sync.outlook_changes import outlook_edit

if TYPE_CHECKING:
    from shared.graph.client import GraphClient

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
DELTA_BACK = timedelta(days=1)
DELTA_PAGE_SIZE = 200


class MailboxBusy(Exception):
    """Another worker holds this mailbox's lease: the queue retries the message later."""


class MailboxSync:
    def __init__(
        self,
        *,
        mailboxes: MailboxStates,
        conversations: ConversationService,
        outlook: OutlookAccess,
        clock: Callable[[], datetime],
    ) -> None:
        self._mailboxes = mailboxes
        self._conversations = conversations
        self._outlook = outlook
        self._clock = clock

    def resync(self, org_id: str, user_id: str, received: datetime, *, force: bool = False) -> str:
        """Read what changed in the mailbox (delta) and apply it to the conversations it carries.

        One worker per mailbox holds a lease; another worker that finds it held leaves a "run
        again" flag instead of waiting or failing, and the holder does one more round before it
        lets go. A burst of notifications costs a round or two, and none ends in the poison queue.
        `force`: even if a sync started after `received` (a gap in notifications to catch up on).
        """
        for _ in range(5):
            found = self._mailboxes.get(org_id, user_id)
            state = found.state if found else MailboxState()
            synced = state.synced_through
            if not force and synced is not None and received < synced:
                return "covered"
            now = self._clock()
            held = state.locked_until is not None and state.locked_until > now
            claimed = (
                replace(state, dirty=True) if held else replace(state, locked_until=now + LEASE)
            )
            try:
                etag = self._mailboxes.put(org_id, user_id, claimed, found.etag if found else None)
            except (ConcurrencyConflict, EntityAlreadyExists):
                continue  # the row moved under us: look again
            if held:
                return "left to the running sync"
            return self._sync_rounds(org_id, user_id, claimed, etag)
        raise MailboxBusy(f"{org_id}/{user_id}")

    def _sync_rounds(self, org_id: str, user_id: str, state: MailboxState, etag: str) -> str:
        applied = rounds = 0
        while True:
            started = self._clock()
            graph = self._graph_for(org_id, user_id)
            if graph is None:  # nothing to read until the user reconnects (which resyncs)
                outcome = "connection not usable"
            else:
                try:
                    count, delta_link = self._read_changes(graph, org_id, state.delta_link)
                except Exception:
                    # Let go of the lease now, so the retry (or a newer notification) syncs
                    # instead of finding the mailbox held by a sync that no longer runs.
                    self._release(org_id, user_id, None)
                    raise  # the queue retries the message; the delta link was not moved on
                applied, rounds = applied + count, rounds + 1
                state = replace(state, delta_link=delta_link)
                outcome = f"applied {applied} in {rounds} round(s)"
            state = replace(state, synced_through=started, locked_until=None, dirty=False)
            try:
                self._mailboxes.put(org_id, user_id, state, etag)
                return outcome
            except ConcurrencyConflict:
                current = self._mailboxes.get(org_id, user_id)
                if current is None or graph is None or not current.state.dirty:
                    if current is not None:
                        self._release(org_id, user_id, state)
                    return outcome
                # Asked to run again meanwhile: keep the lease for one more round.
                state = replace(
                    current.state,
                    delta_link=state.delta_link,
                    synced_through=state.synced_through,
                    locked_until=self._clock() + LEASE,
                    dirty=False,
                )
                etag = self._mailboxes.put(org_id, user_id, state, current.etag)

    def _release(self, org_id: str, user_id: str, done: MailboxState | None) -> None:
        """Let go of the lease on the mailbox as it is now, with what this sync read (`done`),
        leaving what others wrote meanwhile (a new subscription) as they wrote it."""
        for _ in range(3):
            current = self._mailboxes.get(org_id, user_id)
            if current is None:
                return
            released = replace(current.state, locked_until=None, dirty=False)
            if done is not None:
                released = replace(
                    released, delta_link=done.delta_link, synced_through=done.synced_through
                )
            try:
                self._mailboxes.put(org_id, user_id, released, current.etag)
                return
            except ConcurrencyConflict:
                continue

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
                "endDateTime": (now + SYNC_HORIZON).isoformat(),
            }
        headers = prefer_header(utc=True, max_page_size=DELTA_PAGE_SIZE)
        applied = 0
        while True:
            try:
                answer = graph.request("GET", page, params=params, headers=headers)
            except GraphError as error:
                if error.status == 410 and delta_link is not None:  # sync state too old: restart
                    return self._read_changes(graph, org_id, None)
                raise
            for event in answer.get("value", []):
                applied += self._apply(org_id, event)
            if "@odata.nextLink" in answer:
                page, params = answer["@odata.nextLink"], None
                continue
            return applied, answer.get("@odata.deltaLink", page)

    def _apply(self, org_id: str, event: dict[str, Any]) -> int:
        """1 if the event changed a conversation; events the integration did not create, or of
        another organisation, are never touched. A conversation whose stored data cannot be
        read is passed over (logged), so that it never stops the mailbox's sync."""
        try:
            stored = self._conversations.carrying_event(org_id, str(event.get("id", "")))
        except UnreadableConversation as error:
            logger.error("%s: Outlook's change to its event is passed over", error)
            return 0
        if stored is None:
            return 0
        edit = outlook_edit(stored.conversation, event)
        if edit is None:
            return 0
        self._conversations.apply_outlook_edit(stored, edit)
        return 1

    def _graph_for(self, org_id: str, user_id: str) -> GraphClient | None:
        try:
            return self._outlook.graph_for(org_id, user_id)
        except OutlookNotUsable:
            return None
