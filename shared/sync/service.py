"""Reading what changed in a mailbox (delta) and handing it to the conversations it carries.

A notification only says "this mailbox changed". The queue worker then reads the mailbox's
changes with one delta query (however many notifications came), under a per-mailbox lease so
one mailbox is processed by one worker at a time. Notifications received before a sync started
are already covered by it, so duplicates and bursts cost no further Graph calls. Each Outlook
event becomes changes in the conversation's terms (outlook_changes), which the conversation
service, the one writer of conversations, applies.

Nothing asked for is lost: a worker that finds the lease held leaves a "run again" note for the
holder, and, in case the holder never gets to it, a work item for the maintenance timer due when
the lease runs out. Every way out of a sync lets go of the lease (or hands it to one more round).
A read that fails (Graph down, storage down, a sign-in unavailable) leaves a work item too, with
backoff, and the message counts as handled: the poison queue is for messages no retry can read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.connections.service import OutlookAccess
from shared.conversations.model import (
    Conversation,
    ConversationStatus,
    OutlookEdit,
    sync_window,
)
from shared.conversations.outlook import OutlookCalendar, graph_recurrence
from shared.conversations.repository import StoredConversation, UnreadableConversation
from shared.conversations.series import OutlookOccurrence, reconciled
from shared.conversations.service import ConversationService
from shared.errors import OutlookNotUsable, SignInUnavailable
from shared.graph.errors import GraphError
from shared.graph.headers import prefer_header
from shared.schedule import WorkKind, WorkSchedule
from shared.storage.entities import ConcurrencyConflict, EntityAlreadyExists
from shared.storage.keys import table_key
from shared.sync.mailboxes import MailboxState, MailboxStates, StoredMailbox
from shared.sync.outlook_changes import cancelled_edit, outlook_edit, outlook_occurrence

if TYPE_CHECKING:
    from shared.graph.client import GraphClient

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
DELTA_PAGE_SIZE = 200
# The delta's window is fixed when its first round starts; the app starts it again this often,
# so its window slides with time and what came into it is read again.
WINDOW_SLIDE = timedelta(days=7)
# Outlook's occurrences of a series are read this much beyond the sync window, so one moved a
# little out of it is not taken for cancelled.
INSTANCES_MARGIN = timedelta(days=31)
ATTEMPTS = 20  # reads and writes of the mailbox's row before its work goes to the timer
FIRST_RETRY = timedelta(seconds=30)  # after a failed read; doubled each time, up to LAST_RETRY
LAST_RETRY = timedelta(hours=1)
LEFT_TO_RUNNING_SYNC = "left to the running sync"
READ_LATER = "read later"


class MailboxSync:
    def __init__(
        self,
        *,
        mailboxes: MailboxStates,
        conversations: ConversationService,
        outlook: OutlookAccess,
        schedule: WorkSchedule,
        clock: Callable[[], datetime],
    ) -> None:
        self._mailboxes = mailboxes
        self._conversations = conversations
        self._outlook = outlook
        self._schedule = schedule
        self._clock = clock

    def resync(self, org_id: str, user_id: str, received: datetime, *, failures: int = 0) -> str:
        """Read what changed in the mailbox (delta) and apply it to the conversations it carries.

        One worker per mailbox holds a lease; another worker that finds it held leaves a "run
        again" note instead of waiting or failing, and the holder does one more round before it
        lets go. `received`: when the change was heard of (a sync that started later covers
        it). `failures`: how many reads of it failed before (the timer's backoff). A failure
        leaves the timer a work item; only when even that cannot be written does this raise
        (and the queue tries again).
        """
        for _ in range(ATTEMPTS):
            found = self._mailboxes.get(org_id, user_id)
            state = found.state if found else MailboxState()
            synced = state.synced_through
            if synced is not None and received < synced:
                return "covered"
            now = self._clock()
            if found is not None and state.locked_until is not None and state.locked_until > now:
                if self._note_for_holder(org_id, user_id, found, state.locked_until, received):
                    return LEFT_TO_RUNNING_SYNC
                continue
            claimed = replace(state, locked_until=now + LEASE)
            try:
                etag = self._mailboxes.put(org_id, user_id, claimed, found.etag if found else None)
            except (ConcurrencyConflict, EntityAlreadyExists):
                continue  # the row moved under us: look again
            try:
                return self._sync_rounds(org_id, user_id, claimed, etag)
            except Exception as failure:
                # Let go of the lease now, so the next try (or a newer notification) syncs
                # instead of finding the mailbox held by a sync that no longer runs; the delta
                # link was not moved on.
                self._release(org_id, user_id)
                return self._read_later(org_id, user_id, received, failures, failure)
        logger.warning("mailbox %s/%s busy: its read goes to the timer", org_id, user_id)
        self._request_read(org_id, user_id, self._clock(), received, failures)
        return READ_LATER

    def _note_for_holder(
        self,
        org_id: str,
        user_id: str,
        found: StoredMailbox,
        held_until: datetime,
        received: datetime,
    ) -> bool:
        """Ask the lease's holder for one more round (False: the row moved, look again). The
        timer's item comes first, due when the lease runs out: if the holder dies, it reads."""
        if found.state.dirty:
            return True  # asked already: that asking left the timer its item
        self._request_read(org_id, user_id, held_until, received, 0)
        try:
            self._mailboxes.put(org_id, user_id, replace(found.state, dirty=True), found.etag)
        except ConcurrencyConflict:
            return False
        return True

    def _sync_rounds(self, org_id: str, user_id: str, state: MailboxState, etag: str) -> str:
        applied = rounds = 0
        while True:
            started = self._clock()
            graph = self._graph_for(org_id, user_id)
            if graph is None:  # nothing to read until the user reconnects (which resyncs)
                outcome = "connection not usable"
                done = replace(state, synced_through=started)
            else:
                link = state.delta_link
                if state.window_from is None or started - state.window_from > WINDOW_SLIDE:
                    link = None  # a window that slid: read everything in the new one
                count, delta_link, window_from = self._read_changes(graph, org_id, link)
                applied, rounds = applied + count, rounds + 1
                outcome = f"applied {applied} in {rounds} round(s)"
                done = replace(
                    state,
                    delta_link=delta_link,
                    synced_through=started,
                    window_from=window_from or state.window_from,
                )
            again = self._end_round(org_id, user_id, state, done, etag, asked=graph is not None)
            if again is None:
                return outcome
            state, etag = again

    def _end_round(
        self,
        org_id: str,
        user_id: str,
        before: MailboxState,
        done: MailboxState,
        etag: str,
        *,
        asked: bool,
    ) -> tuple[MailboxState, str] | None:
        """Let go of the lease with what the round read; or, if asked to run again meanwhile
        (and there is something to read), keep it for one more round: the state and ETag to go
        on with. A conflict reads the row again and decides again, whoever wrote it."""
        finished = replace(done, locked_until=None, dirty=False)
        for _ in range(ATTEMPTS):
            try:
                self._mailboxes.put(org_id, user_id, finished, etag)
                return None
            except ConcurrencyConflict:
                pass
            current = self._mailboxes.get(org_id, user_id)
            if current is None:
                return None  # disconnected meanwhile
            merged = _with_round(current.state, before, done)
            if current.state.dirty and asked:
                now = self._clock()
                again = replace(merged, locked_until=now + LEASE, dirty=False)
                # The note is taken: if the next round dies, the timer reads in its stead.
                self._request_read(org_id, user_id, now + LEASE, now, 0)
                try:
                    return again, self._mailboxes.put(org_id, user_id, again, current.etag)
                except ConcurrencyConflict:
                    continue
            finished, etag = replace(merged, locked_until=None, dirty=False), current.etag
        logger.warning(
            "mailbox %s/%s: lease left to run out (busy); the timer reads it", org_id, user_id
        )
        return None

    def _release(self, org_id: str, user_id: str) -> None:
        """Let go of the lease after a failure, leaving the rest as it is; best effort (the
        lease runs out by itself, and the timer's item covers what was asked meanwhile)."""
        try:
            for _ in range(ATTEMPTS):
                current = self._mailboxes.get(org_id, user_id)
                if current is None:
                    return
                released = replace(current.state, locked_until=None, dirty=False)
                try:
                    self._mailboxes.put(org_id, user_id, released, current.etag)
                    return
                except ConcurrencyConflict:
                    continue
        except Exception:
            logger.warning("mailbox %s/%s: lease not released", org_id, user_id, exc_info=True)

    def _read_later(
        self, org_id: str, user_id: str, received: datetime, failures: int, failure: Exception
    ) -> str:
        """A read that failed: the timer reads again, later each time (or when Graph said)."""
        wait = min(FIRST_RETRY * 2**failures, LAST_RETRY)
        retry_after = getattr(failure, "retry_after", None)
        if isinstance(retry_after, int | float):
            wait = max(wait, timedelta(seconds=retry_after))
        due = self._clock() + wait
        self._request_read(org_id, user_id, due, received, failures + 1)
        if isinstance(failure, GraphError | SignInUnavailable):
            logger.warning("mailbox %s/%s not read (%s): again from %s", org_id, user_id,
                           failure, due.isoformat())  # fmt: skip
        else:
            logger.error(
                "mailbox %s/%s not read: again from %s", org_id, user_id, due.isoformat(),
                exc_info=failure,
            )  # fmt: skip
        return f"{READ_LATER} ({type(failure).__name__})"

    def _request_read(
        self, org_id: str, user_id: str, due: datetime, received: datetime, failures: int
    ) -> None:
        """A work item for the maintenance timer: read this mailbox, covering `received`."""
        self._schedule.add(
            WorkKind.RESYNC_MAILBOX,
            due,
            table_key(org_id, user_id),
            OrgId=org_id,
            UserId=user_id,
            Since=received,
            Failures=failures,
        )

    def _read_changes(
        self, graph: GraphClient, org_id: str, delta_link: str | None
    ) -> tuple[int, str, datetime | None]:
        """What changed, applied: how many changes, the next delta link, and the start of a
        new window (None: the delta link's window goes on)."""
        page: str | None = delta_link
        params: dict[str, str] | None = None
        window_from = None
        if page is None:
            window_from = self._clock()
            start, end = sync_window(window_from)
            page = "me/calendarView/delta"
            params = {"startDateTime": start.isoformat(), "endDateTime": end.isoformat()}
        headers = prefer_header(utc=True, max_page_size=DELTA_PAGE_SIZE)
        calendar = OutlookCalendar(graph)
        series: dict[str, set[str]] = {}  # series master id -> exception ids delta listed
        applied = 0
        while True:
            try:
                answer = graph.request("GET", page, params=params, headers=headers)
            except GraphError as error:
                if error.status == 410 and delta_link is not None:  # sync state too old: restart
                    return self._read_changes(graph, org_id, None)
                raise
            for event in answer.get("value", []):
                applied += self._take(calendar, org_id, event, series)
            if "@odata.nextLink" in answer:
                page, params = answer["@odata.nextLink"], None
                continue
            for master_id, exception_ids in series.items():
                applied += self._sync_series(calendar, org_id, master_id, exception_ids)
            return applied, answer.get("@odata.deltaLink", page), window_from

    def _take(
        self,
        calendar: OutlookCalendar,
        org_id: str,
        event: dict[str, Any],
        series: dict[str, set[str]],
    ) -> int:
        """One item of a delta page. An occurrence or exception (delta gives only its id, times
        and series) is noted for its series, read once the pages are done. An item under
        `@removed` is read by its id: only an event that is gone (404) or cancelled cancels
        its conversation; one that merely left the delta's window is taken as it now is."""
        event_id = str(event.get("id", ""))
        master_id = event.get("seriesMasterId")
        if master_id:
            listed = series.setdefault(str(master_id), set())
            if event.get("type") == "exception":
                listed.add(event_id)
            return 0
        stored = self._carrying(org_id, event_id)
        if stored is None:
            return 0
        if "@removed" in event:
            confirmed = self._confirmed(calendar, event_id)
            if confirmed is None:
                logger.info("event %s is gone from Outlook (read back: 404)", event_id)
                return self._apply(org_id, event_id, cancelled_edit)
            event = confirmed
        if event.get("type") == "seriesMaster" or stored.conversation.recurrence:
            series.setdefault(event_id, set())
        return self._apply(org_id, event_id, lambda conversation: outlook_edit(conversation, event))

    def _confirmed(self, calendar: OutlookCalendar, event_id: str) -> dict[str, Any] | None:
        """The event read by its id; None when Outlook no longer has it."""
        try:
            return calendar.read_for_sync(event_id)
        except GraphError as error:
            if error.status == 404:
                return None
            raise

    def _sync_series(
        self, calendar: OutlookCalendar, org_id: str, master_id: str, exception_ids: set[str]
    ) -> int:
        """Read a series' occurrences from Outlook (delta gives them without their place, and
        nothing at all for a cancelled one) and bring the conversation's exceptions in line."""
        stored = self._carrying(org_id, master_id)
        if stored is None:
            return 0
        conversation = stored.conversation
        if conversation.recurrence is None or conversation.status is ConversationStatus.CANCELLED:
            return 0
        window = sync_window(self._clock())
        try:
            listed = calendar.instances(
                master_id, window[0] - INSTANCES_MARGIN, window[1] + INSTANCES_MARGIN
            )
        except GraphError as error:
            if error.status == 404:
                return 0  # the series is gone: its master's @removed says so
            raise
        seen: dict[datetime, OutlookOccurrence] = {}
        for item in listed:
            occurrence = outlook_occurrence(item)
            if occurrence is None:  # without its original start, absence would read as cancel
                logger.warning("series %s: an occurrence Outlook listed is unreadable", master_id)
                return 0
            seen[occurrence.original_start] = occurrence
        known_ids = {o.event_id for o in seen.values()}
        # Exceptions moved further than the margin: those delta named, and those the app knows.
        wanted = set(exception_ids) | {
            e.event_id for e in conversation.exceptions if e.event_id and not e.cancelled
        }
        for event_id in sorted(wanted - known_ids):
            found = self._confirmed(calendar, event_id)
            occurrence = outlook_occurrence(found) if found else None
            if occurrence is not None:
                seen.setdefault(occurrence.original_start, occurrence)

        def edit(current: Conversation) -> OutlookEdit | None:
            if current.recurrence is None or current.status is ConversationStatus.CANCELLED:
                return None
            exceptions, changes = reconciled(current, seen, window, graph_recurrence(current))
            if not changes and exceptions == current.exceptions:
                return None
            return OutlookEdit(tuple(changes), None, exceptions)

        return self._apply(org_id, master_id, edit)

    def _carrying(self, org_id: str, event_id: str) -> StoredConversation | None:
        try:
            return self._conversations.carrying_event(org_id, event_id)
        except UnreadableConversation as error:
            logger.error("%s: Outlook's change to its event is passed over", error)
            return None

    def _apply(
        self,
        org_id: str,
        event_id: str,
        derive: Callable[[Conversation], OutlookEdit | None],
    ) -> int:
        """1 if the event changed a conversation; events the integration did not create, or of
        another organisation, are never touched. A conversation written meanwhile is read again
        and the edit derived again; one whose stored data cannot be read is passed over (logged),
        so that it never stops the mailbox's sync."""
        for _ in range(3):
            stored = self._carrying(org_id, event_id)
            if stored is not None:  # what a process that died after its last write left untold
                stored = self._conversations.publish_pending(stored)
            if stored is None:
                return 0
            edit = derive(stored.conversation)
            if edit is None:
                return 0
            try:
                self._conversations.apply_outlook_edit(stored, edit)
            except ConcurrencyConflict:
                continue
            return 1
        raise ConcurrencyConflict(f"conversation of event {event_id} busy")

    def _graph_for(self, org_id: str, user_id: str) -> GraphClient | None:
        """None when there is nothing to read until someone acts (reconnect, switch on); a
        sign-in that is unavailable for now raises, so the read is tried again."""
        try:
            return self._outlook.graph_for(org_id, user_id)
        except SignInUnavailable:
            raise
        except OutlookNotUsable:
            return None


def _with_round(current: MailboxState, before: MailboxState, done: MailboxState) -> MailboxState:
    """The row as others left it, with what the round read, unless the delta link was reset
    meanwhile (a new connection reads everything again): then that reading is still to come."""
    if current.delta_link != before.delta_link:
        return current
    return replace(
        current,
        delta_link=done.delta_link,
        synced_through=done.synced_through,
        window_from=done.window_from,
    )
