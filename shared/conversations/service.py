"""Use cases of conversations: create, list, read, reschedule, cancel, and notes and actions.

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
from typing import Any

from shared.caller import Caller
from shared.connections.service import ConnectionService, GraphFactory
from shared.conversations.model import (
    PENDING_SINCE,
    Conversation,
    ConversationStatus,
    LocationKind,
    OutlookEvent,
    SyncState,
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
)
from shared.conversations.requests import ConversationChange, NewConversation, Window
from shared.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Unavailable,
)
from shared.graph.client import GraphClient
from shared.graph.errors import GraphError
from shared.storage.entities import ConcurrencyConflict, EntityAlreadyExists
from shared.sync.schedule import PUSH_CONVERSATION, WorkSchedule

logger = logging.getLogger(__name__)

LISTING_HORIZON = timedelta(days=2 * 366)  # stored beyond this, but neither listed nor synced
CANCEL_COMMENT = "This conversation has been cancelled."
MAX_ID_LENGTH = 100  # ids are UUIDs
IN_LINE_WAIT = 0.0  # seconds a user's request may sleep on Graph's Retry-After: none


class ConversationService:
    def __init__(
        self,
        *,
        repository: ConversationRepository,
        records: RecordRepository,
        events: EventIndex,
        schedule: WorkSchedule,
        connections: ConnectionService,
        graph: GraphFactory,
        app_link: Callable[[str], str],
        clock: Callable[[], datetime],
    ) -> None:
        self._repository = self.repository = repository
        self._records = records
        self._events = self.events = events
        self._schedule = schedule
        self._connections = connections
        self._graph = graph
        self._app_link = app_link
        self._clock = clock

    # --- create -------------------------------------------------------------------------------

    def create(
        self, caller: Caller, new: NewConversation, idempotency_key: str | None
    ) -> tuple[dict[str, Any], bool]:
        """Store the conversation and put it in Outlook; (view, True) when newly created."""
        conversation_id = str(uuid.uuid4())
        if idempotency_key:
            claimed = self._repository.claim_idempotency_key(
                caller.org_id, caller.user_id, idempotency_key, conversation_id
            )
            if claimed != conversation_id:
                existing = self._repository.get(caller.org_id, claimed)
                if existing is not None:
                    return self.view(existing.conversation), False
                conversation_id = claimed  # the first attempt died before storing: finish it
        now = self._clock()
        syncing = self._connections.syncs_for(caller.org_id, caller.user_id)
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
            return self.view(existing.conversation), False
        if syncing:
            stored = self.push(stored)
        _log("created", stored.conversation, caller, stored.conversation.sync_state.value)
        return self.view(stored.conversation), True

    # --- read ---------------------------------------------------------------------------------

    def get(self, caller: Caller, conversation_id: str) -> tuple[dict[str, Any], str]:
        stored = self._readable(caller, conversation_id)
        conversation = stored.conversation
        if caller.user_id == conversation.organiser_id and conversation.outlook:
            stored = self._refresh_responses(stored)
        return self.view(stored.conversation), etag_of(stored.conversation)

    def list(self, caller: Caller, window: Window) -> list[dict[str, Any]]:
        horizon = self._clock() + LISTING_HORIZON
        end = min(window.end, horizon)
        found = []
        if window.start >= end:
            return found
        seen: set[str] = set()
        for conversation_id in self._repository.for_user(
            caller.org_id, caller.user_id, window.start, end
        ):
            if conversation_id in seen:
                continue
            seen.add(conversation_id)
            stored = self._repository.get(caller.org_id, conversation_id)
            if stored is None or not stored.conversation.involves(caller.user_id):
                continue
            conversation = stored.conversation
            spans = self._spans(conversation, window.start, end)
            if spans:
                found.append(self.view(conversation) | {"occurrences": spans})
        return sorted(found, key=lambda v: v["occurrences"][0]["start"])

    def _spans(
        self, conversation: Conversation, start: datetime, end: datetime
    ) -> list[dict[str, str]]:
        duration = conversation.end - conversation.start
        if conversation.recurrence is None:
            hits = (
                [(conversation.start, conversation.end)]
                if conversation.start < end and conversation.end > start
                else []
            )
        else:
            hits = occurrences(
                conversation.recurrence,
                conversation.start,
                duration,
                conversation.time_zone,
                start,
                end,
            )
        return [{"start": s.isoformat(), "end": e.isoformat()} for s, e in hits]

    # --- change -------------------------------------------------------------------------------

    def update(
        self, caller: Caller, conversation_id: str, change: ConversationChange, if_match: str | None
    ) -> tuple[dict[str, Any], str]:
        stored = self._organised(caller, conversation_id)
        conversation = stored.conversation
        if if_match not in (None, "*") and if_match != etag_of(conversation):
            raise PreconditionFailed(
                "The conversation changed since you read it; reload it.", code="stale"
            )
        if conversation.status is ConversationStatus.CANCELLED:
            raise Conflict("A cancelled conversation cannot be changed.", code="cancelled")
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
            raise PreconditionFailed(
                "The conversation changed meanwhile; reload it.", code="stale"
            ) from error
        if stored.conversation.sync_state is SyncState.PENDING:
            stored = self.push(stored)
        _log("changed", stored.conversation, caller, stored.conversation.sync_state.value)
        return self.view(stored.conversation), etag_of(stored.conversation)

    def cancel(self, caller: Caller, conversation_id: str) -> str:
        """Cancel in Outlook (attendees are told); remove it unless notes or actions protect it."""
        stored = self._organised(caller, conversation_id)
        conversation = stored.conversation
        if conversation.status is ConversationStatus.CANCELLED and not conversation.has_records:
            self.remove(conversation)
            _log("deleted", conversation, caller, "was cancelled")
            return "deleted"
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
            raise PreconditionFailed(
                "The conversation changed meanwhile; try again.", code="stale"
            ) from error
        if cancelled.outlook:
            stored = self.push(stored)
        if (
            stored.conversation.sync_state is not SyncState.PENDING
            and not stored.conversation.has_records
        ):
            self.remove(stored.conversation)
            _log("cancelled and deleted", stored.conversation, caller, "no notes or actions")
            return "deleted"
        _log("cancelled", stored.conversation, caller, stored.conversation.sync_state.value)
        return "cancelled"

    def add_record(
        self, caller: Caller, conversation_id: str, kind: str, text: str
    ) -> dict[str, Any]:
        """A note or an action: attendees invited from the app and the organiser may add them."""
        for _ in range(3):
            stored = self._readable(caller, conversation_id, guests_allowed=False)
            record = {
                "id": str(uuid.uuid4()),
                "text": text,
                "authorId": caller.user_id,
                "createdAt": self._clock().isoformat(),
            }
            current = stored.conversation
            counted = replace(
                current,
                notes_count=current.notes_count + (kind == "note"),
                actions_count=current.actions_count + (kind == "action"),
            )
            try:
                self._repository.replace(counted, stored.etag, current)
            except ConcurrencyConflict:
                continue
            self._records.add(caller.org_id, conversation_id, kind, record)
            return record
        raise Conflict("The conversation is busy; try again.", code="busy")

    # --- Outlook ------------------------------------------------------------------------------

    def push(
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
                PUSH_CONVERSATION, stored.conversation.push_due, _push_key(conversation)
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
        self._schedule.add(PUSH_CONVERSATION, due, key, **ids)
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
                self._schedule.remove(PUSH_CONVERSATION, due, key)
            return stored
        self._schedule.remove(PUSH_CONVERSATION, conversation.push_due, key)
        return moved

    def push_pending(
        self, org_id: str, conversation_id: str, due: datetime = PENDING_SINCE
    ) -> SyncState | None:
        """The maintenance timer's retry of a conversation Outlook has not caught up with.

        `due`: the work item's own due time. An item that is no longer the conversation's own
        (it was pushed, removed, or rescheduled by a later Retry-After) is dropped here.
        """
        key = f"{org_id}|{conversation_id}"
        stored = self._repository.get(org_id, conversation_id)
        if stored is None:
            self._schedule.remove(PUSH_CONVERSATION, due, key)
            return None
        if stored.conversation.sync_state is not SyncState.PENDING:
            self._schedule.remove(PUSH_CONVERSATION, due, key)
            if stored.conversation.push_due != due:
                self._schedule.remove(PUSH_CONVERSATION, stored.conversation.push_due, key)
            return stored.conversation.sync_state
        if stored.conversation.push_due != due:
            self._schedule.remove(PUSH_CONVERSATION, due, key)  # a stale copy: the live one waits
            return SyncState.PENDING
        pushed = self.push(stored, max_wait=None)
        if (
            pushed.conversation.status is ConversationStatus.CANCELLED
            and pushed.conversation.sync_state is SyncState.SYNCED
            and not pushed.conversation.has_records
        ):
            self.remove(pushed.conversation)
        return pushed.conversation.sync_state

    def remove(self, conversation: Conversation) -> None:
        self._repository.remove(conversation)
        if conversation.outlook:
            self._events.unlink(conversation.outlook.event_id)
        if conversation.push_due != PENDING_SINCE:
            self._schedule.remove(PUSH_CONVERSATION, conversation.push_due, _push_key(conversation))

    def _push_once(
        self, stored: StoredConversation, max_wait: float | None
    ) -> tuple[StoredConversation, float | None]:
        """The conversation after one push, and Graph's Retry-After when it stays pending."""
        conversation = stored.conversation
        try:
            calendar = OutlookCalendar(self._organiser_graph(conversation), max_wait=max_wait)
            if conversation.status is ConversationStatus.CANCELLED:
                if conversation.outlook:
                    calendar.cancel(conversation.outlook.event_id, CANCEL_COMMENT)
                synced = replace(conversation, sync_state=SyncState.SYNCED, sync_error=None)
            elif conversation.outlook is None:
                event = calendar.create(conversation, self._app_link(conversation.id))
                synced = replace(
                    conversation, outlook=event, sync_state=SyncState.SYNCED, sync_error=None
                )
            else:
                changes = {**schedule_fields(conversation), **location_fields(conversation)}
                event = calendar.update(conversation.outlook.event_id, changes)
                synced = replace(conversation, outlook=_merged(conversation.outlook, event),
                                 sync_state=SyncState.SYNCED, sync_error=None)  # fmt: skip
        except (Unavailable, Conflict, Forbidden) as error:
            logger.info("conversation %s stays pending: %s", conversation.id, error.detail)
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
        synced = replace(synced, push_due=PENDING_SINCE)  # push() removes the item it had
        try:
            return self._repository.replace(synced, stored.etag, conversation), None
        except ConcurrencyConflict:
            # Changed meanwhile: the newer write is pending and will be pushed itself. A created
            # event must not be forgotten though, so record it on the newer version.
            return self._remember_event(conversation, synced.outlook) or stored, None

    def _organiser_graph(self, conversation: Conversation) -> GraphClient:
        """Graph as the organiser (their refreshed token on a 401); DomainError if unusable."""
        org_id, user_id = conversation.org_id, conversation.organiser_id
        token = self._connections.access_token(org_id, user_id)
        return self._graph(lambda: token, self._connections.token_renewal(org_id, user_id))

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

    def _refresh_responses(self, stored: StoredConversation) -> StoredConversation:
        conversation = stored.conversation
        assert conversation.outlook is not None
        try:
            calendar = OutlookCalendar(self._organiser_graph(conversation), max_wait=IN_LINE_WAIT)
            event = calendar.read(conversation.outlook.event_id)
        except (DomainError, GraphError):
            return stored  # RSVPs as last known: reading must not fail because Outlook is away
        attendees = with_responses(conversation.attendees, event)
        # Shown, not stored: the sync worker stores RSVPs when Outlook's notification comes and
        # reports each in the change feed; storing it here first would swallow that report.
        return StoredConversation(replace(conversation, attendees=attendees), stored.etag)

    # --- access -------------------------------------------------------------------------------

    def _readable(
        self, caller: Caller, conversation_id: str, *, guests_allowed: bool = True
    ) -> StoredConversation:
        too_long = len(conversation_id) > MAX_ID_LENGTH  # never one of ours, nor a storage key
        stored = None if too_long else self._repository.get(caller.org_id, conversation_id)
        if stored is None or not stored.conversation.involves(caller.user_id):
            raise NotFound("No such conversation.", code="not_found")
        if not guests_allowed and not stored.conversation.is_member(caller.user_id):
            raise Forbidden("Guests added in Outlook cannot add notes or actions.", code="guest")
        return stored

    def _organised(self, caller: Caller, conversation_id: str) -> StoredConversation:
        stored = self._readable(caller, conversation_id)
        if stored.conversation.organiser_id != caller.user_id:
            raise Forbidden(
                "Only the organiser can change or cancel a conversation.", code="organiser_only"
            )
        return stored

    # --- views --------------------------------------------------------------------------------

    def view(self, c: Conversation) -> dict[str, Any]:
        return {
            "id": c.id,
            "type": c.type,
            "title": c.title,
            "organiserId": c.organiser_id,
            "attendees": [
                {
                    "email": a.email,
                    "name": a.name,
                    "userId": a.user_id,
                    "role": a.role.value,
                    "response": a.response,
                }
                for a in c.attendees
            ],
            "start": c.start.isoformat(),
            "end": c.end.isoformat(),
            "timeZone": c.time_zone,
            "location": {"kind": c.location.kind.value, "text": c.location.text},
            "recurrence": c.recurrence,
            "status": c.status.value,
            "sync": {"state": c.sync_state.value, "error": c.sync_error},
            "outlook": None
            if c.outlook is None
            else {
                "eventId": c.outlook.event_id,
                "webLink": c.outlook.web_link,
                "teamsJoinUrl": c.outlook.join_url
                if c.location.kind is LocationKind.TEAMS
                else None,
            },
            "notesCount": c.notes_count,
            "actionsCount": c.actions_count,
            "version": c.version,
        }


def etag_of(conversation: Conversation) -> str:
    return f'"v{conversation.version}"'


def _push_key(conversation: Conversation) -> str:
    return f"{conversation.org_id}|{conversation.id}"


def _not_before(now: datetime, retry_after: float) -> datetime:
    """now + Retry-After, rounded up to the whole second the schedule keys by."""
    moment = now.astimezone(UTC) + timedelta(seconds=max(0.0, retry_after))
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def _merged(previous: OutlookEvent, event: OutlookEvent) -> OutlookEvent:
    return replace(
        event, join_url=event.join_url or None, ical_uid=event.ical_uid or previous.ical_uid
    )


def _log(event: str, conversation: Conversation, caller: Caller, outcome: str) -> None:
    """One line per change a user makes: the conversation, organisation and user, the outcome."""
    logger.info("conversation %s %s by %s/%s: %s",
                conversation.id, event, conversation.org_id, caller.user_id, outcome)  # fmt: skip
