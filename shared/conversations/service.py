"""Use cases of conversations, and the one writer of them.

Create, list, read, reschedule, cancel, notes and actions for users; pushes to Outlook for the
timer; and what Outlook changed (from the sync worker), applied and told to the change feed.

The app's record is saved first and answers at once; Outlook follows when it can. Every push
to Outlook is durable work before Graph is called (pushes.py): when Graph throttles or is down,
or the process dies or storage fails between Graph and the record, the conversation waits with
sync state `pending` and the maintenance timer pushes it again, idempotently, so nothing is lost
and nothing is made twice. A user's request makes one attempt and never sleeps on Retry-After;
the pending push is due no earlier than Graph asked. A push that cannot proceed until someone
acts (Outlook switched off, the organiser not or no longer connected) waits parked, out of
everyone else's way, until that changes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from shared.caller import Caller
from shared.changes import outbox
from shared.changes.feed import ChangeFeed
from shared.changes.outbox import Pending, pending
from shared.connections.service import OutlookAccess
from shared.conversations import proposals, recurrence, series, views
from shared.conversations.join_links import JoinLinkFetches
from shared.conversations.model import (
    PARKED,
    PENDING_SINCE,
    SYNC_HORIZON,
    Cancelled,
    CancelOutcome,
    Conversation,
    ConversationStatus,
    Created,
    Listed,
    LocationKind,
    OccurrenceException,
    OutlookEdit,
    OutlookEvent,
    ProposalsSeen,
    Record,
    RecordKind,
    SyncState,
    parse_occurrence_id,
    with_edit,
)
from shared.conversations.outlook import (
    OutlookCalendar,
    location_fields,
    outlook_event,
    schedule_fields,
    series_update,
    with_responses,
)
from shared.conversations.pushes import PushOutbox
from shared.conversations.repository import (
    ConversationRepository,
    EventIndex,
    RecordRepository,
    StoredConversation,
    UnreadableConversation,
)
from shared.conversations.requests import (
    ConversationChange,
    NewConversation,
    Window,
    request_digest,
)
from shared.conversations.time_zones import graph_date_time
from shared.errors import (
    ConversationBusy,
    ConversationCancelled,
    ConversationNotFound,
    ConversationUnreadable,
    GuestNotAllowed,
    IdempotencyKeyReused,
    OccurrenceNotFound,
    OrganiserOnly,
    OutlookNotUsable,
    SignInUnavailable,
    StaleVersion,
)
from shared.graph.errors import GraphError
from shared.limits import MAX_ID
from shared.schedule import WorkSchedule
from shared.storage.entities import ConcurrencyConflict, EntityAlreadyExists

logger = logging.getLogger(__name__)

CANCEL_COMMENT = "This conversation has been cancelled."
IN_LINE_WAIT = 0.0  # seconds a user's request may sleep on Graph's Retry-After: none


class ConversationService:
    def __init__(
        self,
        *,
        repository: ConversationRepository,
        records: RecordRepository,
        events: EventIndex,
        schedule: WorkSchedule,
        outlook: OutlookAccess,
        feed: ChangeFeed,
        app_origin: str,
        clock: Callable[[], datetime],
    ) -> None:
        self._repository = repository
        self._records = records
        self._events = events
        self._outbox = PushOutbox(schedule, clock)
        self._join_links = JoinLinkFetches(schedule, clock)
        self._outlook = outlook
        self._feed = feed
        self._app_origin = app_origin
        self._clock = clock

    # --- create -------------------------------------------------------------------------------

    def create(self, caller: Caller, new: NewConversation, idempotency_key: str | None) -> Created:
        """Store the conversation and put it in Outlook; a retried Idempotency-Key creates once."""
        conversation_id = str(uuid.uuid4())
        if idempotency_key:
            digest = request_digest(new)
            claimed = self._repository.claim_idempotency_key(
                caller.org_id, caller.user_id, idempotency_key, conversation_id, digest
            )
            if claimed.request_digest != digest:
                # The IETF Idempotency-Key draft (section 2.7): a key reused for another payload
                # is an error, never the first request's answer to a different question.
                raise IdempotencyKeyReused(
                    "This Idempotency-Key was used before for a different conversation; "
                    "use a new key for each conversation you mean to create."
                )
            if claimed.conversation_id != conversation_id:
                existing = self._repository.get(caller.org_id, claimed.conversation_id)
                if existing is not None:
                    return Created(existing.conversation, new=False)
                # the first attempt died before storing: finish it
                conversation_id = claimed.conversation_id
        now = self._clock()
        syncing = self._outlook.syncs_for(caller.org_id, caller.user_id)
        conversation = Conversation(
            id=conversation_id,
            org_id=caller.org_id,
            type=new.type,
            title=new.title,
            organiser_id=caller.user_id,
            organiser_email=caller.email,
            attendees=new.attendees,
            start=new.window.start,
            end=new.window.end,
            time_zone=new.window.time_zone,
            location=new.location,
            recurrence=new.recurrence,
            sync_state=SyncState.PENDING if syncing else SyncState.NOT_SYNCED,
            created_at=now,
            updated_at=now,
        )
        if syncing:  # the push's work item first: whatever fails from here, the timer finishes
            conversation = replace(conversation, push_due=self._outbox.intend(conversation))
        try:
            stored = self._repository.add(conversation)
        except EntityAlreadyExists:  # the same key retried concurrently: the first one stands
            existing = self._repository.get(caller.org_id, conversation_id)
            if existing is None:
                raise
            return Created(existing.conversation, new=False)
        if syncing:
            stored = self._push(stored, conversation.push_due)
        _log("created", stored.conversation, caller, stored.conversation.sync_state.value)
        return Created(stored.conversation, new=True)

    # --- read ---------------------------------------------------------------------------------

    def get(self, caller: Caller, conversation_id: str) -> Conversation:
        """The conversation; its organiser sees Outlook's latest RSVPs."""
        stored = self._readable(caller, conversation_id)
        conversation = stored.conversation
        if caller.user_id == conversation.organiser_id and conversation.outlook:
            return self._with_fresh_responses(conversation)
        return conversation

    def in_window(self, caller: Caller, window: Window) -> list[Listed]:
        """The caller's conversations (organiser or attendee) with occurrences in the window,
        up to SYNC_HORIZON ahead, by their first occurrence."""
        end = min(window.end, self._clock() + SYNC_HORIZON)
        if window.start >= end:
            return []
        found = []
        ids = self._repository.for_user(caller.org_id, caller.user_id, window.start, end)
        for conversation_id in dict.fromkeys(ids):
            try:
                stored = self._repository.get(caller.org_id, conversation_id)
            except UnreadableConversation as error:
                logger.error("%s: left out of %s's list", error, caller.user_id)
                continue
            if stored is None or not stored.conversation.involves(caller.user_id):
                continue
            spans = series.listed(stored.conversation, window.start, end)
            if spans:
                found.append(Listed(stored.conversation, spans))
        return sorted(found, key=lambda listed: listed.occurrences[0].start)

    # --- change -------------------------------------------------------------------------------

    def update(
        self,
        caller: Caller,
        conversation_id: str,
        change: ConversationChange,
        expected_version: int | None,
    ) -> Conversation:
        """Time, date or location, by the organiser; Outlook follows. A series' new time drops
        its single-occurrence changes, as Outlook does; its recurrence starts on its new first
        day (InvalidRequest when its pattern cannot follow)."""
        stored = self._changeable(caller, conversation_id, expected_version)
        conversation = stored.conversation
        updated = conversation
        if change.window is not None:
            updated = replace(
                updated,
                start=change.window.start,
                end=change.window.end,
                time_zone=change.window.time_zone,
                proposals=(),  # a new time answers them all, as in Outlook
            )
            if (updated.start, updated.end) != (conversation.start, conversation.end):
                updated = replace(updated, exceptions=())
            if updated.recurrence:  # the range starts on the series' first day (Graph)
                pattern = recurrence.moved(updated.recurrence, updated.start, updated.time_zone)
                updated = replace(updated, recurrence=pattern)
        if change.location is not None:
            updated = replace(updated, location=change.location)
        return self._save_edit(caller, stored, updated, "changed")

    def update_occurrence(
        self,
        caller: Caller,
        conversation_id: str,
        occurrence: str,
        change: ConversationChange,
        expected_version: int | None,
    ) -> Conversation:
        """One occurrence of a series moved or put elsewhere, by the organiser; Outlook's
        occurrence follows. The rest of the series stays as it is."""
        stored = self._changeable(caller, conversation_id, expected_version)
        conversation = stored.conversation
        original = _occurrence_of(conversation, occurrence)
        slot_end = original + (conversation.end - conversation.start)
        exception = conversation.exception_at(original) or OccurrenceException(original)
        if change.window is not None:
            moved = (change.window.start, change.window.end) != (original, slot_end)
            start, end = (change.window.start, change.window.end) if moved else (None, None)
            exception = replace(exception, start=start, end=end)
        if change.location is not None:
            own = None if change.location == conversation.location else change.location
            exception = replace(exception, location=own)
        exception = replace(exception, pending=_syncs(conversation))
        updated = series.with_exception(conversation, exception)
        return self._save_edit(caller, stored, updated, f"occurrence {occurrence} changed")

    def cancel_occurrence(
        self, caller: Caller, conversation_id: str, occurrence: str
    ) -> Conversation:
        """One occurrence of a series cancelled by the organiser (attendees are told by
        Outlook); the series and its notes and actions stay."""
        stored = self._changeable(caller, conversation_id, None)
        conversation = stored.conversation
        original = _occurrence_of(conversation, occurrence)
        exception = conversation.exception_at(original) or OccurrenceException(original)
        cancelled = replace(exception, cancelled=True, pending=_syncs(conversation))
        updated = series.with_exception(conversation, cancelled)
        return self._save_edit(caller, stored, updated, f"occurrence {occurrence} cancelled")

    def _changeable(
        self, caller: Caller, conversation_id: str, expected_version: int | None
    ) -> StoredConversation:
        stored = self._organised(caller, conversation_id)
        conversation = stored.conversation
        if expected_version is not None and expected_version != conversation.version:
            raise StaleVersion("The conversation changed since you read it; reload it.")
        if conversation.status is ConversationStatus.CANCELLED:
            raise ConversationCancelled("A cancelled conversation cannot be changed.")
        return stored

    def _save_edit(
        self, caller: Caller, stored: StoredConversation, updated: Conversation, what: str
    ) -> Conversation:
        """A user's edit stored as a new version, then pushed to Outlook."""
        conversation = stored.conversation
        updated = replace(updated, version=conversation.version + 1, updated_at=self._clock())
        if _syncs(updated):
            updated = self._intended(replace(updated, sync_state=SyncState.PENDING))
        try:
            stored = self._repository.replace(updated, stored.etag, conversation)
        except ConcurrencyConflict as error:
            raise StaleVersion("The conversation changed meanwhile; reload it.") from error
        if stored.conversation.sync_state is SyncState.PENDING:
            self._forget_replaced_item(conversation, updated)
            stored = self._push(stored, updated.push_due)
        _log(what, stored.conversation, caller, stored.conversation.sync_state.value)
        return stored.conversation

    def accept_proposal(
        self, caller: Caller, conversation_id: str, proposal_id: str
    ) -> Conversation:
        """The organiser takes an attendee's proposed time: the conversation and its Outlook
        meeting move there in one step (a PATCH's way: the push is a work item first)."""
        conversation = self._organised(caller, conversation_id).conversation
        chosen = proposals.open_one(conversation, proposal_id)
        window = Window(chosen.start, chosen.end, conversation.time_zone)
        change = ConversationChange(window=window, location=None)
        return self.update(caller, conversation_id, change, conversation.version)

    def dismiss_proposal(
        self, caller: Caller, conversation_id: str, proposal_id: str
    ) -> Conversation:
        """The organiser declines a proposal here; the meeting stays where it is."""
        stored = self._organised(caller, conversation_id)
        updated = replace(
            proposals.dismissed(stored.conversation, proposal_id), updated_at=self._clock()
        )
        try:
            stored = self._repository.replace(updated, stored.etag, stored.conversation)
        except ConcurrencyConflict as error:
            raise StaleVersion("The conversation changed meanwhile; try again.") from error
        _log("proposal dismissed", stored.conversation, caller, proposal_id)
        return stored.conversation

    def cancel(self, caller: Caller, conversation_id: str) -> Cancelled:
        """Cancel in Outlook (attendees are told); remove it unless notes or actions protect it.
        A conversation whose stored data is damaged is removed by its organiser as it is."""
        try:
            stored = self._organised(caller, conversation_id)
        except ConversationUnreadable:
            return self._cancel_damaged(caller, conversation_id)
        conversation = stored.conversation
        if conversation.status is ConversationStatus.CANCELLED and not conversation.has_records:
            self._remove(conversation)
            _log("deleted", conversation, caller, "was cancelled")
            return Cancelled(CancelOutcome.REMOVED, conversation)
        cancelled = replace(
            conversation,
            status=ConversationStatus.CANCELLED,
            version=conversation.version + 1,
            updated_at=self._clock(),
        )
        if conversation.outlook:  # else a pending create stays as it is: it learns it is off
            cancelled = self._intended(replace(cancelled, sync_state=SyncState.PENDING))
        try:
            stored = self._repository.replace(cancelled, stored.etag, conversation)
        except ConcurrencyConflict as error:
            raise StaleVersion("The conversation changed meanwhile; try again.") from error
        if cancelled.outlook:
            self._forget_replaced_item(conversation, cancelled)
            stored = self._push(stored, cancelled.push_due)
        result = stored.conversation
        if result.sync_state is not SyncState.PENDING and not result.has_records:
            self._remove(result)
            _log("cancelled and deleted", result, caller, "no notes or actions")
            return Cancelled(CancelOutcome.REMOVED, result)
        _log("cancelled", result, caller, result.sync_state.value)
        return Cancelled(CancelOutcome.KEPT, result)

    def _cancel_damaged(self, caller: Caller, conversation_id: str) -> Cancelled:
        damaged = self._repository.damaged(caller.org_id, conversation_id)
        if damaged is None or damaged.organiser_id != caller.user_id:
            raise ConversationNotFound("No such conversation.")
        if damaged.event_id:
            try:
                graph = self._outlook.graph_for(damaged.org_id, damaged.organiser_id)
                OutlookCalendar(graph, max_wait=IN_LINE_WAIT).cancel(
                    damaged.event_id, CANCEL_COMMENT
                )
            except (OutlookNotUsable, GraphError) as error:
                logger.warning(
                    "damaged conversation %s: its Outlook event %s stays: %s",
                    conversation_id,
                    damaged.event_id,
                    error,
                )
            self._events.unlink(damaged.event_id)
        self._repository.remove_damaged(damaged)
        logger.warning(
            "damaged conversation %s of %s deleted by its organiser %s",
            conversation_id,
            caller.org_id,
            caller.user_id,
        )
        return Cancelled(CancelOutcome.REMOVED, None)

    def add_record(
        self, caller: Caller, conversation_id: str, kind: RecordKind, text: str
    ) -> Record:
        """A note or an action: attendees invited from the app and the organiser may add them."""
        for _ in range(3):
            stored = self._readable(caller, conversation_id, guests_allowed=False)
            current = stored.conversation
            counted = replace(
                current,
                notes_count=current.notes_count + (kind is RecordKind.NOTE),
                actions_count=current.actions_count + (kind is RecordKind.ACTION),
            )
            try:
                self._repository.replace(counted, stored.etag, current)
            except ConcurrencyConflict:
                continue
            record = Record(str(uuid.uuid4()), kind, text, caller.user_id, self._clock())
            self._records.add(caller.org_id, conversation_id, record)
            return record
        raise ConversationBusy("The conversation is busy; try again.")

    # --- what Outlook changed (the sync worker) -------------------------------------------------

    def carrying_event(self, org_id: str, event_id: str) -> StoredConversation | None:
        """The conversation whose Outlook event this is: only events the integration created,
        and only within the organisation whose mailbox reported it."""
        found = self._events.find(event_id)
        if found is None or found[0] != org_id:
            return None
        return self._repository.get(org_id, found[1])

    def apply_outlook_edit(self, stored: StoredConversation, edit: OutlookEdit) -> None:
        """Apply what Outlook changed to the conversation as it was read, and tell everyone in
        it through the change feed: the entries are written with the change (one ETag-guarded
        write, so neither goes without the other), then recorded (publish_pending).
        ConcurrencyConflict when it was written meanwhile: the caller reads it again and
        re-derives the edit."""
        conversation = stored.conversation
        told = self._told(conversation, edit)
        updated = replace(
            with_edit(conversation, edit),
            updated_at=self._clock(),
            outbox=conversation.outbox + told,
        )
        try:
            written = self._repository.replace(updated, stored.etag, conversation)
        except ConcurrencyConflict:
            logger.info("conversation %s changed meanwhile; read again", conversation.id)
            raise
        for waiting in told:
            logger.info(
                "conversation %s of %s/%s: %s from Outlook",
                conversation.id,
                conversation.org_id,
                conversation.organiser_id,
                waiting.entry["kind"],
            )
        if (
            conversation.sync_state is SyncState.PENDING
            and updated.sync_state is not SyncState.PENDING
        ):
            self._forget_item(conversation, conversation.push_due)  # cancelled: nothing to push
        self.publish_pending(written)

    def _told(self, conversation: Conversation, edit: OutlookEdit) -> tuple[Pending, ...]:
        """The feed entries telling what Outlook changed, each with its users."""
        told = []
        for change in edit.changes:
            if isinstance(change, ProposalsSeen):
                for proposal in change.new:  # the organiser decides: told alone
                    entry = proposals.time_proposed_entry(conversation, proposal)
                    told.append(pending([conversation.organiser_id], entry))
                continue
            entry = views.outlook_change_entry(conversation, change)
            told.append(pending(_everyone(conversation), entry))
        return tuple(told)

    def publish_pending(self, stored: StoredConversation) -> StoredConversation | None:
        """Record the feed entries the conversation's last write left waiting, then clear them;
        a conversation Outlook cancelled that nothing protects is removed instead (None). The
        sync worker calls it on each conversation it reads, so a process that died before
        recording leaves nothing untold; one that died before clearing records again (the
        entries keep their ids)."""
        conversation = stored.conversation
        if not conversation.outbox:
            return stored
        self._feed.publish(conversation.org_id, conversation.outbox)
        if (
            conversation.status is ConversationStatus.CANCELLED
            and conversation.sync_state is SyncState.SYNCED
            and not conversation.has_records
        ):
            self._remove(conversation)  # as push_pending does
            return None
        return self._cleared(stored, [waiting.id for waiting in conversation.outbox])

    def _cleared(self, stored: StoredConversation, done: list[str]) -> StoredConversation | None:
        """The conversation without the entries just recorded, however it was written since."""
        for _ in range(3):
            current = stored.conversation
            left = outbox.without(current.outbox, done)
            if left == current.outbox:
                return stored
            try:
                return self._repository.replace(replace(current, outbox=left), stored.etag, current)
            except ConcurrencyConflict:
                found = self._repository.get(current.org_id, current.id)
                if found is None:
                    return None
                stored = found
        logger.info(
            "conversation %s busy: its told changes are cleared later", stored.conversation.id
        )
        return stored

    # --- Outlook: pushes, in line and by the timer ----------------------------------------------

    def push_pending(
        self, org_id: str, conversation_id: str, due: datetime = PENDING_SINCE
    ) -> SyncState | None:
        """The maintenance timer's push of a conversation Outlook has not caught up with.

        `due`: the work item's own due time. An item that is no longer the conversation's own
        (it was pushed, removed, or rescheduled since) is dropped here; a parked push's item is
        its own once resumed.
        """
        try:
            stored = self._repository.get(org_id, conversation_id)
        except UnreadableConversation as error:
            logger.error("%s: its pending push is dropped", error)
            stored = None
        if stored is None:
            self._outbox.forget_key(org_id, conversation_id, due)
            return None
        conversation = stored.conversation
        if conversation.sync_state is not SyncState.PENDING:
            self._outbox.forget(conversation, due)
            return conversation.sync_state
        if conversation.push_due not in (due, PARKED):
            self._outbox.forget(conversation, due)  # a stale copy
            return SyncState.PENDING
        pushed = self._push(stored, due, max_wait=None).conversation
        if (
            pushed.status is ConversationStatus.CANCELLED
            and pushed.sync_state is SyncState.SYNCED
            and not pushed.has_records
        ):
            self._remove(pushed)
        return pushed.sync_state

    def fetch_join_url(self, org_id: str, conversation_id: str, attempt: int) -> str:
        """The timer's read of a Teams event whose link Graph's answer lacked (join_links.py):
        the link stored and told to everyone, or another read later, or, after the last one,
        the conversation marked without Teams."""
        try:
            stored = self._repository.get(org_id, conversation_id)
        except UnreadableConversation as error:
            logger.error("%s: its Teams link is not fetched", error)
            return "gone"
        if stored is not None:  # a death after its last write left its entries untold
            stored = self.publish_pending(stored)
        conversation = stored.conversation if stored else None
        if (
            conversation is None
            or conversation.outlook is None
            or conversation.location.kind is not LocationKind.TEAMS
            or conversation.status is ConversationStatus.CANCELLED
        ):
            return "not needed"
        if conversation.outlook.join_url:
            return "already there"
        try:
            graph = self._outlook.graph_for(org_id, conversation.organiser_id)
            event = OutlookCalendar(graph).read(conversation.outlook.event_id)
            join_url = outlook_event(event).join_url
        except (OutlookNotUsable, GraphError) as error:
            logger.info("Teams link of conversation %s not read: %s", conversation.id, error)
            join_url = None
        if join_url:
            return self._store_join_url(org_id, conversation_id, join_url)
        if self._join_links.fetch_later(org_id, conversation_id, attempt + 1):
            return "not yet"
        logger.warning("conversation %s: Outlook gave no Teams link; given up", conversation.id)
        self._mark_teams_unavailable(org_id, conversation_id)
        return "given up"

    def _store_join_url(self, org_id: str, conversation_id: str, join_url: str) -> str:
        for _ in range(3):
            stored = self._repository.get(org_id, conversation_id)
            if stored is None or stored.conversation.outlook is None:
                return "gone"
            current = stored.conversation
            if current.outlook is not None and current.outlook.join_url:
                return "already there"
            assert current.outlook is not None
            linked = replace(
                current,
                outlook=replace(current.outlook, join_url=join_url),
                teams_unavailable=False,
            )
            told = pending(_everyone(linked), views.teams_link_added_entry(linked, join_url))
            try:
                written = self._repository.replace(
                    replace(linked, outbox=(*current.outbox, told)), stored.etag, current
                )
            except ConcurrencyConflict:
                continue
            logger.info("conversation %s of %s: Teams link added", conversation_id, org_id)
            self.publish_pending(written)
            return "found"
        self._join_links.fetch_later(org_id, conversation_id)  # busy: look again next run
        return "busy"

    def _mark_teams_unavailable(self, org_id: str, conversation_id: str) -> None:
        for _ in range(3):
            stored = self._repository.get(org_id, conversation_id)
            if stored is None or stored.conversation.teams_unavailable:
                return
            current = stored.conversation
            told = pending(_everyone(current), views.teams_unavailable_entry(current))
            marked = replace(current, teams_unavailable=True, outbox=(*current.outbox, told))
            try:
                written = self._repository.replace(marked, stored.etag, current)
            except ConcurrencyConflict:
                continue
            self.publish_pending(written)
            return

    def resume_pushes_later(self, org_id: str, organiser_id: str | None = None) -> None:
        """The organiser connected again (or the organisation switched Outlook back on): the
        timer puts their parked pushes back in the due list."""
        self._outbox.resume_later(org_id, organiser_id)

    def resume_pushes(self, org_id: str, organiser_id: str | None, limit: int) -> int:
        """Parked pushes of an organiser (or of an organisation) due again; how many (`limit`:
        there may be more)."""
        return self._outbox.resume(org_id, organiser_id, limit)

    def _intended(self, conversation: Conversation) -> Conversation:
        """The conversation about to be pushed, with the push's work item written first."""
        return replace(conversation, sync_error=None, push_due=self._outbox.intend(conversation))

    def _forget_replaced_item(self, previous: Conversation, current: Conversation) -> None:
        """The item of the version just replaced (an earlier Retry-After, say) is not needed."""
        if previous.sync_state is SyncState.PENDING and previous.push_due != current.push_due:
            self._forget_item(previous, previous.push_due)

    def _push(
        self,
        stored: StoredConversation,
        item_due: datetime,
        *,
        max_wait: float | None = IN_LINE_WAIT,
    ) -> StoredConversation:
        """Bring Outlook up to date with the stored conversation, or leave it pending for later.

        `item_due`: the due time of the work item this push finishes. `max_wait`: how long Graph
        calls may sleep on Retry-After (none while a user waits; None: the Graph client's budget,
        for the timer).
        """
        conversation = stored.conversation
        try:
            graph = self._outlook.graph_for(conversation.org_id, conversation.organiser_id)
        except SignInUnavailable:
            logger.info("conversation %s stays pending: sign-in unavailable", conversation.id)
            return self._retry_later(stored, item_due, None)
        except OutlookNotUsable as reason:
            return self._park(stored, item_due, reason)
        try:
            done = self._pushed(conversation, OutlookCalendar(graph, max_wait=max_wait))
        except GraphError as error:
            if error.transient:
                logger.info(
                    "conversation %s stays pending: Graph %s (Retry-After %s)",
                    conversation.id,
                    error.status,
                    error.retry_after,
                )
                return self._retry_later(stored, item_due, error.retry_after)
            if error.status == 404 and conversation.status is ConversationStatus.CANCELLED:
                done = replace(conversation, sync_state=SyncState.SYNCED, sync_error=None)
            else:
                logger.warning("Outlook refused conversation %s: %s", conversation.id, error)
                done = replace(
                    conversation,
                    sync_state=SyncState.FAILED,
                    sync_error=f"{error.code}: {error.message}"[:500],
                )
        return self._finish(stored, done, item_due)

    def _finish(
        self, stored: StoredConversation, done: Conversation, item_due: datetime
    ) -> StoredConversation:
        """Store what the push did, then let its work item go."""
        conversation = stored.conversation
        if done.outlook and not conversation.outlook:
            # Before the record: if that write fails, Outlook's edits still find the conversation.
            self._events.link(done.outlook.event_id, conversation.org_id, conversation.id)
        try:
            result = self._repository.replace(
                replace(done, push_due=PENDING_SINCE), stored.etag, conversation
            )
        except ConcurrencyConflict:
            return self._pushed_meanwhile(conversation, done, item_due) or stored
        self._forget_item(conversation, item_due)
        return result

    def _pushed_meanwhile(
        self, pushed: Conversation, done: Conversation, item_due: datetime
    ) -> StoredConversation | None:
        """The conversation was written while this push ran. If only Outlook's own news came
        meanwhile (RSVPs, what it last saw: the same version), the push's outcome stands. A
        newer version already marked synced may have reached Graph before this older one did,
        so it is pushed once more, to be sure Outlook ends with the newest. And a created event
        is never forgotten."""
        for _ in range(3):
            current = self._repository.get(pushed.org_id, pushed.id)
            if current is None:
                return None
            latest = current.conversation
            if latest.version == pushed.version and latest.sync_state is SyncState.PENDING:
                latest = replace(
                    latest,
                    sync_state=done.sync_state,
                    sync_error=done.sync_error,
                    outlook=_newer(latest.outlook, done.outlook),
                    exceptions=_with_pushed(latest.exceptions, done.exceptions),
                    push_due=PENDING_SINCE,
                    teams_unavailable=done.teams_unavailable,
                )
            elif done.outlook is not None and latest.outlook is None:
                latest = replace(latest, outlook=done.outlook)
            if latest.version != pushed.version and latest.sync_state is SyncState.SYNCED:
                latest = self._intended(replace(latest, sync_state=SyncState.PENDING))
            if latest != current.conversation:
                try:
                    current = self._repository.replace(latest, current.etag, current.conversation)
                except ConcurrencyConflict:
                    continue
            if current.conversation.push_due != item_due:
                self._forget_item(pushed, item_due)
            return current
        return None  # busy: the item stays, and the timer looks again

    def _retry_later(
        self, stored: StoredConversation, item_due: datetime, retry_after: float | None
    ) -> StoredConversation:
        """The push failed for now: its item moves to when Graph said (or to the next run)."""
        conversation = stored.conversation
        due = self._outbox.retry(conversation, retry_after)
        if due == conversation.push_due:
            return stored
        # The conversation remembers its item's key, so whoever finishes it removes it.
        moved = self._rewritten(
            stored, item_due, lambda c: replace(c, push_due=due, sync_error=None)
        )
        if moved is None:
            self._drop_if_not_current(conversation, due, item_due)
            return stored
        if item_due != due:
            self._forget_item(conversation, item_due)
        return moved

    def _park(
        self, stored: StoredConversation, item_due: datetime, reason: OutlookNotUsable
    ) -> StoredConversation:
        """The organiser's Outlook cannot be used until someone acts: out of the due list until
        the organiser connects again or the organisation switches Outlook back on."""
        conversation = stored.conversation
        logger.info("conversation %s waits: %s", conversation.id, reason.code)
        self._outbox.park(conversation)
        waiting = f"waiting: {reason.code}"
        parked = self._rewritten(
            stored, item_due, lambda c: replace(c, push_due=PARKED, sync_error=waiting)
        )
        if parked is None:
            self._drop_if_not_current(conversation, item_due)
            return stored
        self._forget_item(conversation, item_due)
        return parked

    def _rewritten(
        self,
        stored: StoredConversation,
        item_due: datetime,
        change: Callable[[Conversation], Conversation],
    ) -> StoredConversation | None:
        """The push's outcome written, also over a write that came meanwhile as long as that was
        Outlook's news only (the same version, the same item); None once a newer version owns
        the push."""
        current: StoredConversation | None = stored
        for _ in range(3):
            if current is None:
                return None
            seen = current.conversation
            if seen.version != stored.conversation.version or seen.push_due != item_due:
                return None
            try:
                return self._repository.replace(change(seen), current.etag, seen)
            except ConcurrencyConflict:
                current = self._repository.get(seen.org_id, seen.id)
        return None

    def _drop_if_not_current(self, conversation: Conversation, *dues: datetime) -> None:
        """After losing a race: these items go unless the newer write owns one of them."""
        current = self._repository.get(conversation.org_id, conversation.id)
        for due in set(dues):
            if current is None or current.conversation.push_due != due:
                self._forget_item(conversation, due)

    def _forget_item(self, conversation: Conversation, due: datetime) -> None:
        if due == PARKED:
            self._outbox.unpark(conversation)
        else:
            self._outbox.forget(conversation, due)

    def _pushed(self, conversation: Conversation, calendar: OutlookCalendar) -> Conversation:
        """One Graph call: cancel, create or update the event; the conversation now synced.
        Each is safe to repeat: the create's transactionId, the whole state in the PATCH, and a
        cancel of what is gone (404) taken as done."""
        if conversation.status is ConversationStatus.CANCELLED:
            # Without an event id, a create may still have made one (its answer lost): find it
            # by its transactionId, so that no meeting outlives its conversation.
            event_id = (
                conversation.outlook.event_id
                if conversation.outlook
                else calendar.created_for(conversation)
            )
            if event_id:
                calendar.cancel(event_id, CANCEL_COMMENT)
            return replace(conversation, sync_state=SyncState.SYNCED, sync_error=None)
        teams = conversation.location.kind is not LocationKind.TEAMS or (
            self._outlook.teams_available(conversation.org_id, conversation.organiser_id)
        )
        if conversation.outlook is None:
            link = f"{self._app_origin}/conversations/{conversation.id}"
            event = calendar.create(conversation, link, teams=teams)
        else:
            event_id = conversation.outlook.event_id
            if conversation.recurrence:
                master = calendar.read_for_sync(event_id)
                changes = series_update(conversation, master, teams=teams)
                updated = calendar.update(event_id, changes) if changes else outlook_event(master)
            else:
                changes = {
                    **schedule_fields(conversation),
                    **location_fields(conversation, teams=teams),
                }
                updated = calendar.update(event_id, changes)
            event = replace(
                updated,
                join_url=updated.join_url or conversation.outlook.join_url,
                ical_uid=updated.ical_uid or conversation.outlook.ical_uid,
            )
        exceptions = conversation.exceptions
        if conversation.recurrence and any(e.pending for e in exceptions):
            exceptions = self._pushed_exceptions(conversation, event.event_id, calendar)
        synced = replace(
            conversation,
            outlook=event,
            exceptions=exceptions,
            sync_state=SyncState.SYNCED,
            sync_error=None,
        )
        return self._with_teams_state(synced, teams)

    def _pushed_exceptions(
        self, conversation: Conversation, master_id: str, calendar: OutlookCalendar
    ) -> tuple[OccurrenceException, ...]:
        """The series' occurrences changed in the app, each pushed to its Outlook occurrence
        (found by its original start); one Outlook no longer has was cancelled there."""
        duration = conversation.end - conversation.start
        done = []
        for exception in conversation.exceptions:
            if not exception.pending:
                done.append(exception)
                continue
            original = exception.original_start
            event_id = exception.event_id or calendar.occurrence_at(master_id, original)
            pushed = replace(exception, pending=False, event_id=event_id)
            try:
                if event_id is None:
                    pushed = replace(pushed, cancelled=True)
                elif exception.cancelled:
                    calendar.cancel(event_id, CANCEL_COMMENT)
                else:
                    start = exception.start or original
                    end = exception.end or original + duration
                    place = replace(
                        conversation, location=exception.location or conversation.location
                    )
                    calendar.update(
                        event_id,
                        {
                            "start": graph_date_time(start, conversation.time_zone),
                            "end": graph_date_time(end, conversation.time_zone),
                            **location_fields(place),
                        },
                    )
            except GraphError as error:
                if error.status != 404:
                    raise
                pushed = replace(pushed, cancelled=True)  # gone from Outlook
            done.append(pushed)
        return tuple(done)

    def _with_teams_state(self, conversation: Conversation, teams: bool) -> Conversation:
        """After a push: a Teams conversation whose link Graph's answer lacked has it fetched
        later, unless the organiser's calendar does not allow Teams (`teams`: then it is said
        so, and Outlook's meeting claims no Teams)."""
        wants_link = conversation.location.kind is LocationKind.TEAMS
        if not wants_link or (conversation.outlook and conversation.outlook.join_url):
            return replace(conversation, teams_unavailable=False)
        if not teams:
            if not conversation.teams_unavailable:
                logger.info(
                    "conversation %s: the organiser's calendar has no Teams", conversation.id
                )
            return replace(conversation, teams_unavailable=True)
        self._join_links.fetch_later(conversation.org_id, conversation.id)
        return replace(conversation, teams_unavailable=False)

    def _remove(self, conversation: Conversation) -> None:
        self._repository.remove(conversation)
        if conversation.outlook:
            self._events.unlink(conversation.outlook.event_id)
        if conversation.sync_state is SyncState.PENDING:
            self._forget_item(conversation, conversation.push_due)

    def _with_fresh_responses(self, conversation: Conversation) -> Conversation:
        """Shown, not stored: the sync worker stores RSVPs when Outlook's notification comes and
        reports each in the change feed; storing it here first would swallow that report."""
        assert conversation.outlook is not None
        try:
            graph = self._outlook.graph_for(conversation.org_id, conversation.organiser_id)
            calendar = OutlookCalendar(graph, max_wait=IN_LINE_WAIT)
            event = calendar.read(conversation.outlook.event_id)
        except (OutlookNotUsable, GraphError):
            return conversation  # RSVPs as last known: reading must not fail with Outlook away
        return replace(conversation, attendees=with_responses(conversation.attendees, event))

    # --- access -------------------------------------------------------------------------------

    def _readable(
        self, caller: Caller, conversation_id: str, *, guests_allowed: bool = True
    ) -> StoredConversation:
        too_long = len(conversation_id) > MAX_ID  # never one of ours, nor a storage key
        try:
            stored = None if too_long else self._repository.get(caller.org_id, conversation_id)
        except UnreadableConversation as error:
            logger.error("%s (asked for by %s)", error, caller.user_id)
            damaged = self._repository.damaged(caller.org_id, conversation_id)
            if damaged is not None and damaged.organiser_id == caller.user_id:
                raise ConversationUnreadable(
                    "This conversation's stored data is damaged and cannot be read; you can "
                    "delete it (DELETE), which also cancels its Outlook meeting."
                ) from error
            raise ConversationNotFound("No such conversation.") from error
        if stored is None or not stored.conversation.involves(caller.user_id):
            raise ConversationNotFound("No such conversation.")
        if not guests_allowed and not stored.conversation.is_member(caller.user_id):
            raise GuestNotAllowed("Guests added in Outlook cannot add notes or actions.")
        return stored

    def _organised(self, caller: Caller, conversation_id: str) -> StoredConversation:
        stored = self._readable(caller, conversation_id)
        if stored.conversation.organiser_id != caller.user_id:
            raise OrganiserOnly("Only the organiser can change or cancel a conversation.")
        return stored


def _everyone(conversation: Conversation) -> list[str]:
    """The organiser and every attendee invited from the app (guests have no feed here)."""
    return [conversation.organiser_id] + [a.user_id for a in conversation.attendees if a.user_id]


def _syncs(conversation: Conversation) -> bool:
    """Whether Outlook follows the conversation (it has an event, or one is being made)."""
    return conversation.outlook is not None or conversation.sync_state in (
        SyncState.PENDING,
        SyncState.FAILED,
    )


def _occurrence_of(conversation: Conversation, occurrence: str) -> datetime:
    """The original start an occurrence id names, if the series has that occurrence."""
    original = parse_occurrence_id(occurrence)
    if (
        conversation.recurrence is None
        or original is None
        or not series.in_pattern(conversation, original)
        or (conversation.exception_at(original) or OccurrenceException(original)).cancelled
    ):
        raise OccurrenceNotFound("This conversation has no such occurrence.")
    return original


def _with_pushed(
    latest: tuple[OccurrenceException, ...], pushed: tuple[OccurrenceException, ...]
) -> tuple[OccurrenceException, ...]:
    """Exceptions as written meanwhile, each pushed one marked so (with its Outlook id)."""
    done = {e.original_start: e for e in pushed if not e.pending}
    return tuple(
        done[e.original_start]
        if e.pending and e.original_start in done and e.same_as(done[e.original_start])
        else e
        for e in latest
    )


def _newer(known: OutlookEvent | None, pushed: OutlookEvent | None) -> OutlookEvent | None:
    """The later of two states of the event (Outlook's news may be newer than a push's answer)."""
    if known is None or pushed is None:
        return known or pushed
    if known.last_modified and pushed.last_modified and known.last_modified > pushed.last_modified:
        return known
    return replace(pushed, join_url=pushed.join_url or known.join_url)


def _log(event: str, conversation: Conversation, caller: Caller, outcome: str) -> None:
    """One line per change a user makes: the conversation, organisation and user, the outcome."""
    logger.info(
        "conversation %s %s by %s/%s: %s",
        conversation.id,
        event,
        conversation.org_id,
        caller.user_id,
        outcome,
    )
