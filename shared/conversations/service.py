"""Use cases of conversations, and the one writer of them.

Create, list, read, reschedule, cancel, notes and actions for users; pushes to Outlook for the
timer; and what Outlook changed (from the sync worker), applied and told to the change feed.

The app's record is saved first and answers at once; Outlook follows when it can. When Graph
throttles or is down, the conversation waits with sync state `pending` and the maintenance timer
pushes it later, so nothing is lost. A user's request makes one attempt and never sleeps on
Retry-After; the pending push is due no earlier than Graph asked (Retry-After).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from shared.caller import Caller
from shared.changes.feed import ChangeFeed
from shared.connections.service import OutlookAccess
from shared.conversations import views
from shared.conversations.model import (
    PENDING_SINCE,
    SYNC_HORIZON,
    Cancelled,
    CancelOutcome,
    Conversation,
    ConversationStatus,
    Created,
    Listed,
    OutlookEdit,
    OutlookEvent,
    Record,
    RecordKind,
    SyncState,
    with_edit,
)
from shared.conversations.outlook import (
    OutlookCalendar,
    location_fields,
    schedule_fields,
    with_responses,
)
from shared.conversations.recurrence import occurrences
from shared.conversations.repository import (
    ConversationRepository,
    EventIndex,
    RecordRepository,
    StoredConversation,
    UnreadableConversation,
)
from shared.conversations.requests import ConversationChange, NewConversation, Window
from shared.errors import (
    ConversationBusy,
    ConversationCancelled,
    ConversationNotFound,
    ConversationUnreadable,
    GuestNotAllowed,
    OrganiserOnly,
    OutlookNotUsable,
    StaleVersion,
)
from shared.graph.errors import GraphError
from shared.limits import MAX_ID
from shared.schedule import WorkKind, WorkSchedule
from shared.storage.entities import ConcurrencyConflict, EntityAlreadyExists
from shared.storage.keys import table_key

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
        self._schedule = schedule
        self._outlook = outlook
        self._feed = feed
        self._app_origin = app_origin
        self._clock = clock

    # --- create -------------------------------------------------------------------------------

    def create(self, caller: Caller, new: NewConversation, idempotency_key: str | None) -> Created:
        """Store the conversation and put it in Outlook; a retried Idempotency-Key creates once."""
        conversation_id = str(uuid.uuid4())
        if idempotency_key:
            claimed = self._repository.claim_idempotency_key(
                caller.org_id, caller.user_id, idempotency_key, conversation_id
            )
            if claimed != conversation_id:
                existing = self._repository.get(caller.org_id, claimed)
                if existing is not None:
                    return Created(existing.conversation, new=False)
                conversation_id = claimed  # the first attempt died before storing: finish it
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
        try:
            stored = self._repository.add(conversation)
        except EntityAlreadyExists:  # the same key retried concurrently: the first one stands
            existing = self._repository.get(caller.org_id, conversation_id)
            if existing is None:
                raise
            return Created(existing.conversation, new=False)
        if syncing:
            stored = self._push(stored)
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
            spans = _occurrences(stored.conversation, window.start, end)
            if spans:
                found.append(Listed(stored.conversation, spans))
        return sorted(found, key=lambda listed: listed.occurrences[0][0])

    # --- change -------------------------------------------------------------------------------

    def update(
        self,
        caller: Caller,
        conversation_id: str,
        change: ConversationChange,
        expected_version: int | None,
    ) -> Conversation:
        """Time, date or location, by the organiser; Outlook follows."""
        stored = self._organised(caller, conversation_id)
        conversation = stored.conversation
        if expected_version is not None and expected_version != conversation.version:
            raise StaleVersion("The conversation changed since you read it; reload it.")
        if conversation.status is ConversationStatus.CANCELLED:
            raise ConversationCancelled("A cancelled conversation cannot be changed.")
        updated = conversation
        if change.window is not None:
            updated = replace(
                updated,
                start=change.window.start,
                end=change.window.end,
                time_zone=change.window.time_zone,
            )
        if change.location is not None:
            updated = replace(updated, location=change.location)
        updated = replace(updated, version=conversation.version + 1, updated_at=self._clock())
        if updated.outlook or updated.sync_state in (SyncState.PENDING, SyncState.FAILED):
            updated = replace(updated, sync_state=SyncState.PENDING, sync_error=None)
        try:
            stored = self._repository.replace(updated, stored.etag, conversation)
        except ConcurrencyConflict as error:
            raise StaleVersion("The conversation changed meanwhile; reload it.") from error
        if stored.conversation.sync_state is SyncState.PENDING:
            stored = self._push(stored)
        _log("changed", stored.conversation, caller, stored.conversation.sync_state.value)
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
            sync_state=SyncState.PENDING if conversation.outlook else conversation.sync_state,
        )
        try:
            stored = self._repository.replace(cancelled, stored.etag, conversation)
        except ConcurrencyConflict as error:
            raise StaleVersion("The conversation changed meanwhile; try again.") from error
        if cancelled.outlook:
            stored = self._push(stored)
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
        it through the change feed. ConcurrencyConflict when it was written meanwhile: the
        caller reads it again and re-derives the edit."""
        conversation = stored.conversation
        if edit.cancels and not conversation.has_records:
            self._remove(conversation)
        else:
            updated = replace(with_edit(conversation, edit), updated_at=self._clock())
            try:
                self._repository.replace(updated, stored.etag, conversation)
            except ConcurrencyConflict:
                logger.info("conversation %s changed meanwhile; read again", conversation.id)
                raise
        for change in edit.changes:
            entry = views.outlook_change_entry(conversation, change)
            logger.info(
                "conversation %s of %s/%s: %s from Outlook",
                conversation.id,
                conversation.org_id,
                conversation.organiser_id,
                entry["kind"],
            )
            self._tell_everyone(conversation, entry)

    def _tell_everyone(self, conversation: Conversation, entry: dict[str, object]) -> None:
        """The organiser and every attendee invited from the app (guests have no feed here)."""
        users = {conversation.organiser_id} | {
            a.user_id for a in conversation.attendees if a.user_id
        }
        for user in sorted(users):
            self._feed.record(conversation.org_id, user, entry)

    # --- Outlook (the timer's pending pushes) ---------------------------------------------------

    def push_pending(
        self, org_id: str, conversation_id: str, due: datetime = PENDING_SINCE
    ) -> SyncState | None:
        """The maintenance timer's retry of a conversation Outlook has not caught up with.

        `due`: the work item's own due time. An item that is no longer the conversation's own
        (it was pushed, removed, or rescheduled by a later Retry-After) is dropped here.
        """
        key = table_key(org_id, conversation_id)
        try:
            stored = self._repository.get(org_id, conversation_id)
        except UnreadableConversation as error:
            logger.error("%s: its pending push is dropped", error)
            stored = None
        if stored is None:
            self._schedule.remove(WorkKind.PUSH_CONVERSATION, due, key)
            return None
        conversation = stored.conversation
        if conversation.sync_state is not SyncState.PENDING:
            self._schedule.remove(WorkKind.PUSH_CONVERSATION, due, key)
            if conversation.push_due != due:
                self._schedule.remove(WorkKind.PUSH_CONVERSATION, conversation.push_due, key)
            return conversation.sync_state
        if conversation.push_due != due:
            self._schedule.remove(WorkKind.PUSH_CONVERSATION, due, key)  # a stale copy
            return SyncState.PENDING
        pushed = self._push(stored, max_wait=None).conversation
        if (
            pushed.status is ConversationStatus.CANCELLED
            and pushed.sync_state is SyncState.SYNCED
            and not pushed.has_records
        ):
            self._remove(pushed)
        return pushed.sync_state

    def _push(
        self, stored: StoredConversation, *, max_wait: float | None = IN_LINE_WAIT
    ) -> StoredConversation:
        """Bring Outlook up to date with the stored conversation, or leave it pending for later.

        `max_wait`: how long Graph calls may sleep on Retry-After (none while a user waits;
        None: the Graph client's budget, for the timer).
        """
        result, retry_after = self._push_once(stored, max_wait)
        conversation = result.conversation
        if conversation.sync_state is SyncState.PENDING:
            result = self._schedule_push(result, retry_after)
        else:
            self._schedule.remove(
                WorkKind.PUSH_CONVERSATION, stored.conversation.push_due, _push_key(conversation)
            )
        if conversation.outlook and not stored.conversation.outlook:
            self._events.link(conversation.outlook.event_id, conversation.org_id, conversation.id)
        return result

    def _schedule_push(
        self, stored: StoredConversation, retry_after: float | None
    ) -> StoredConversation:
        """The timer's work item for a pending push: due at once, or once Retry-After is over."""
        conversation = stored.conversation
        key = _push_key(conversation)
        ids = {"OrgId": conversation.org_id, "ConversationId": conversation.id}
        due = PENDING_SINCE if retry_after is None else _not_before(self._clock(), retry_after)
        self._schedule.add(WorkKind.PUSH_CONVERSATION, due, key, **ids)
        if due == conversation.push_due:
            return stored
        try:  # the conversation remembers its item's key, so whoever finishes it removes it
            moved = self._repository.replace(
                replace(conversation, push_due=due), stored.etag, conversation
            )
        except ConcurrencyConflict:
            # Written meanwhile: its item stays as it was (pushed then, or by the newer write),
            # and this one goes unless the newer write scheduled the very same second.
            current = self._repository.get(conversation.org_id, conversation.id)
            if current is None or current.conversation.push_due != due:
                self._schedule.remove(WorkKind.PUSH_CONVERSATION, due, key)
            return stored
        self._schedule.remove(WorkKind.PUSH_CONVERSATION, conversation.push_due, key)
        return moved

    def _push_once(
        self, stored: StoredConversation, max_wait: float | None
    ) -> tuple[StoredConversation, float | None]:
        """The conversation after one push, and Graph's Retry-After when it stays pending."""
        conversation = stored.conversation
        try:
            graph = self._outlook.graph_for(conversation.org_id, conversation.organiser_id)
            synced = self._pushed(conversation, OutlookCalendar(graph, max_wait=max_wait))
        except OutlookNotUsable as reason:
            logger.info("conversation %s stays pending: %s", conversation.id, reason.code)
            return stored, None
        except GraphError as error:
            if error.transient:
                logger.info(
                    "conversation %s stays pending: Graph %s (Retry-After %s)",
                    conversation.id,
                    error.status,
                    error.retry_after,
                )
                return stored, error.retry_after
            if error.status == 404 and conversation.status is ConversationStatus.CANCELLED:
                synced = replace(conversation, sync_state=SyncState.SYNCED, sync_error=None)
            else:
                logger.warning("Outlook refused conversation %s: %s", conversation.id, error)
                synced = replace(
                    conversation,
                    sync_state=SyncState.FAILED,
                    sync_error=f"{error.code}: {error.message}"[:500],
                )
        synced = replace(synced, push_due=PENDING_SINCE)  # _push removes the item it had
        try:
            return self._repository.replace(synced, stored.etag, conversation), None
        except ConcurrencyConflict:
            # Changed meanwhile: the newer write is pending and will be pushed itself. A created
            # event must not be forgotten though, so record it on the newer version.
            return self._remember_event(conversation, synced.outlook) or stored, None

    def _pushed(self, conversation: Conversation, calendar: OutlookCalendar) -> Conversation:
        """One Graph call: cancel, create or update the event; the conversation now synced."""
        if conversation.status is ConversationStatus.CANCELLED:
            if conversation.outlook:
                calendar.cancel(conversation.outlook.event_id, CANCEL_COMMENT)
            return replace(conversation, sync_state=SyncState.SYNCED, sync_error=None)
        if conversation.outlook is None:
            event = calendar.create(
                conversation, f"{self._app_origin}/conversations/{conversation.id}"
            )
        else:
            changes = {**schedule_fields(conversation), **location_fields(conversation)}
            updated = calendar.update(conversation.outlook.event_id, changes)
            event = replace(
                updated,
                join_url=updated.join_url or None,
                ical_uid=updated.ical_uid or conversation.outlook.ical_uid,
            )
        return replace(conversation, outlook=event, sync_state=SyncState.SYNCED, sync_error=None)

    def _remember_event(
        self, conversation: Conversation, event: OutlookEvent | None
    ) -> StoredConversation | None:
        current = self._repository.get(conversation.org_id, conversation.id)
        if current is None or event is None or current.conversation.outlook is not None:
            return current
        try:
            return self._repository.replace(
                replace(current.conversation, outlook=event), current.etag, current.conversation
            )
        except ConcurrencyConflict:
            return None

    def _remove(self, conversation: Conversation) -> None:
        self._repository.remove(conversation)
        if conversation.outlook:
            self._events.unlink(conversation.outlook.event_id)
        if conversation.push_due != PENDING_SINCE:
            self._schedule.remove(
                WorkKind.PUSH_CONVERSATION, conversation.push_due, _push_key(conversation)
            )

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


def _occurrences(
    conversation: Conversation, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    if conversation.recurrence is None:
        overlaps = conversation.start < end and conversation.end > start
        return [(conversation.start, conversation.end)] if overlaps else []
    return occurrences(
        conversation.recurrence,
        conversation.start,
        conversation.end - conversation.start,
        conversation.time_zone,
        start,
        end,
    )


def _push_key(conversation: Conversation) -> str:
    return table_key(conversation.org_id, conversation.id)


def _not_before(now: datetime, retry_after: float) -> datetime:
    """now + Retry-After, rounded up to the whole second the schedule keys by."""
    moment = now.astimezone(UTC) + timedelta(seconds=max(0.0, retry_after))
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


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
