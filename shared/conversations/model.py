"""Conversations (check-ins, wellbeing, development, mentoring sessions) and their Outlook side."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.changes.outbox import Pending

BUILT_IN_TYPES = ("check_in", "wellbeing", "performance_development", "mentoring_session")
PENDING_SINCE = datetime(1970, 1, 1, tzinfo=UTC)  # a pending push due at once
PARKED = datetime(9999, 12, 31, tzinfo=UTC)  # a pending push out of the due list, waiting
# The app's sync window: conversations are listed, series put in Outlook, and Outlook's mailbox
# read (delta) from SYNC_BACK ago to SYNC_HORIZON ahead (two years); they are stored whatever
# their date. The window slides with time; an event outside it is never taken for deleted.
SYNC_HORIZON = timedelta(days=2 * 365)
SYNC_BACK = timedelta(days=1)
_OCCURRENCE_ID = "%Y%m%dT%H%M%SZ"


def sync_window(now: datetime) -> tuple[datetime, datetime]:
    return now - SYNC_BACK, now + SYNC_HORIZON


def occurrence_id(original_start: datetime) -> str:
    """An occurrence's id in the API: its original start in the pattern (UTC), so it stays the
    same when the occurrence is moved."""
    return original_start.astimezone(UTC).strftime(_OCCURRENCE_ID)


def parse_occurrence_id(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, _OCCURRENCE_ID).replace(tzinfo=UTC)
    except ValueError:
        return None


class ConversationStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class SyncState(StrEnum):
    NOT_SYNCED = "not_synced"  # the organiser was not connected when it was created: app only
    PENDING = "pending"  # Outlook has not caught up yet; the maintenance timer pushes it
    SYNCED = "synced"
    FAILED = "failed"  # Outlook refused it for good (the reason is kept); a user edit retries


class LocationKind(StrEnum):
    NONE = "none"
    TEXT = "text"
    TEAMS = "teams"


class ParticipantRole(StrEnum):
    ATTENDEE = "attendee"  # invited from the app: may read notes and actions
    GUEST = "guest"  # added in Outlook: in the meeting, no access to notes and actions


@dataclass(frozen=True)
class Location:
    kind: LocationKind = LocationKind.NONE
    text: str | None = None


@dataclass(frozen=True)
class Participant:
    email: str
    name: str | None = None
    user_id: str | None = None  # the host app's user id, when the attendee is a host-app user
    role: ParticipantRole = ParticipantRole.ATTENDEE
    response: str = "none"  # Outlook's responseType: none, accepted, tentativelyAccepted, ...


@dataclass(frozen=True)
class OutlookEvent:
    event_id: str  # immutable id
    ical_uid: str | None = None
    web_link: str | None = None
    join_url: str | None = None
    change_key: str | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True)
class OccurrenceException:
    """One occurrence of a series that differs from its pattern, as in Outlook: moved (start,
    end), at another place (location), or cancelled. None: as the series."""

    original_start: datetime  # UTC, the occurrence's slot in the pattern: its identity
    start: datetime | None = None
    end: datetime | None = None
    location: Location | None = None
    cancelled: bool = False
    event_id: str | None = None  # Outlook's id of this occurrence, once known
    pending: bool = False  # changed in the app, not yet in Outlook

    @property
    def id(self) -> str:
        return occurrence_id(self.original_start)

    def same_as(self, other: OccurrenceException) -> bool:
        """The same occurrence as Outlook shows it (ignoring ids and push bookkeeping)."""
        return (self.start, self.end, self.location, self.cancelled) == (
            other.start,
            other.end,
            other.location,
            other.cancelled,
        )


@dataclass(frozen=True)
class Proposal:
    """An attendee's proposed new time, as the organiser's Outlook event carries it
    (attendee.proposedNewTime); proposals.py has the rules."""

    id: str
    email: str
    name: str | None
    user_id: str | None
    start: datetime  # aware, UTC
    end: datetime
    response: str  # tentativelyAccepted or declined: what they answered with it
    proposed_at: datetime  # the attendee's status.time (when they answered)
    dismissed: bool = False  # the organiser dismissed it: kept so it does not come back


@dataclass(frozen=True)
class Conversation:
    id: str
    org_id: str
    type: str
    title: str
    organiser_id: str
    organiser_email: str | None
    attendees: tuple[Participant, ...]
    start: datetime  # aware, UTC
    end: datetime
    time_zone: str  # IANA, the organiser's zone: recurrences follow its daylight saving
    location: Location = Location()
    recurrence: dict[str, Any] | None = None  # Graph patternedRecurrence shape
    status: ConversationStatus = ConversationStatus.SCHEDULED
    sync_state: SyncState = SyncState.NOT_SYNCED
    sync_error: str | None = None
    outlook: OutlookEvent | None = None
    notes_count: int = 0
    actions_count: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1
    # When its pending push is due (the key of its work item in the schedule): PENDING_SINCE,
    # later (a push in flight, or Graph's Retry-After), or PARKED until someone acts.
    push_due: datetime = PENDING_SINCE
    # A series' occurrences that differ from its pattern, by original start (Outlook's exceptions)
    exceptions: tuple[OccurrenceException, ...] = ()
    proposals: tuple[Proposal, ...] = ()  # attendees' proposed times, as Outlook last showed
    extra: dict[str, Any] = field(default_factory=dict)
    # A Teams conversation whose organiser's calendar does not allow Teams (or whose link never
    # came): Outlook has the meeting without a Teams link, and the organiser is told.
    teams_unavailable: bool = False
    # Change feed entries written with the change they tell, not yet recorded (changes/outbox.py)
    outbox: tuple[Pending, ...] = ()

    def exception_at(self, original_start: datetime) -> OccurrenceException | None:
        return next((e for e in self.exceptions if e.original_start == original_start), None)

    @property
    def has_records(self) -> bool:
        """Notes or actions protect a conversation: cancelling keeps it, marked cancelled."""
        return self.notes_count > 0 or self.actions_count > 0

    def involves(self, user_id: str) -> bool:
        return self.organiser_id == user_id or any(a.user_id == user_id for a in self.attendees)

    def is_member(self, user_id: str) -> bool:
        """The organiser or an attendee invited from the app (guests from Outlook are not)."""
        return self.organiser_id == user_id or any(
            a.user_id == user_id and a.role is ParticipantRole.ATTENDEE for a in self.attendees
        )


class RecordKind(StrEnum):
    NOTE = "note"
    ACTION = "action"


@dataclass(frozen=True)
class Record:
    """A note or an action: minimal, and its existence protects the conversation."""

    id: str
    kind: RecordKind
    text: str
    author_id: str
    created_at: datetime


# --- what Outlook changed, in the conversation's terms ------------------------------------------


@dataclass(frozen=True)
class Moved:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Relocated:
    location: Location


@dataclass(frozen=True)
class Responded:
    email: str
    response: str  # Outlook's responseType


@dataclass(frozen=True)
class GuestAdded:
    guest: Participant


@dataclass(frozen=True)
class CancelledInOutlook:
    pass


@dataclass(frozen=True)
class SeriesRepatterned:
    """The series' recurrence changed in Outlook (its pattern, or where it ends)."""

    recurrence: dict[str, Any]


@dataclass(frozen=True)
class OccurrenceMoved:
    """One occurrence of a series moved in Outlook (or back to its slot in the pattern)."""

    original_start: datetime
    start: datetime
    end: datetime


@dataclass(frozen=True)
class OccurrenceRelocated:
    original_start: datetime
    location: Location


@dataclass(frozen=True)
class OccurrenceCancelled:
    original_start: datetime


OccurrenceChanged = OccurrenceMoved | OccurrenceRelocated | OccurrenceCancelled
SeriesChange = SeriesRepatterned | OccurrenceChanged


@dataclass(frozen=True)
class ProposalsSeen:
    """The proposals the organiser's event now carries; `new` those not seen before."""

    proposals: tuple[Proposal, ...]
    new: tuple[Proposal, ...]


OutlookChange = (
    Moved | Relocated | Responded | GuestAdded | CancelledInOutlook | SeriesChange | ProposalsSeen
)


@dataclass(frozen=True)
class OutlookEdit:
    """What an Outlook state of the event changes: the changes, in order, and the event's
    last-modified time and change key to remember (so an older or echoed state changes nothing)."""

    changes: tuple[OutlookChange, ...]
    seen: OutlookEvent | None = None
    # A series' exceptions as Outlook now has them (None: unchanged)
    exceptions: tuple[OccurrenceException, ...] | None = None

    @property
    def cancels(self) -> bool:
        return any(isinstance(change, CancelledInOutlook) for change in self.changes)


_USER_EDITS = (
    Moved,
    Relocated,
    CancelledInOutlook,
    SeriesRepatterned,
    OccurrenceMoved,
    OccurrenceRelocated,
    OccurrenceCancelled,
)


def with_edit(conversation: Conversation, edit: OutlookEdit) -> Conversation:
    """The conversation after an Outlook edit. Time, date, location and cancelling are a user's
    edit and make a new version; RSVPs and guests are not. (A cancelled conversation without
    notes or actions is removed instead: that is the service's to do.)"""
    updated = conversation
    for change in edit.changes:
        match change:
            case Moved(start, end):
                updated = replace(updated, start=start, end=end)
            case Relocated(location):
                updated = replace(updated, location=location)
            case Responded(email, response):
                attendees = tuple(
                    replace(a, response=response) if a.email.lower() == email.lower() else a
                    for a in updated.attendees
                )
                updated = replace(updated, attendees=attendees)
            case GuestAdded(guest):
                updated = replace(updated, attendees=(*updated.attendees, guest))
            case CancelledInOutlook():
                status, synced = ConversationStatus.CANCELLED, SyncState.SYNCED
                updated = replace(updated, status=status, sync_state=synced)
            case SeriesRepatterned(recurrence):
                updated = replace(updated, recurrence=recurrence)
            case OccurrenceMoved() | OccurrenceRelocated() | OccurrenceCancelled():
                pass  # in `edit.exceptions`
            case ProposalsSeen(proposals, _):
                updated = replace(updated, proposals=proposals)
    if edit.exceptions is not None:
        updated = replace(updated, exceptions=edit.exceptions)
    if edit.seen is not None:
        updated = replace(updated, outlook=edit.seen)
    if any(isinstance(change, _USER_EDITS) for change in edit.changes):
        updated = replace(updated, version=conversation.version + 1)
    return updated


# --- what the use cases answer ----------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    conversation: Conversation
    new: bool  # False: an earlier request with the same Idempotency-Key created it


@dataclass(frozen=True)
class Occurrence:
    """An occurrence as Outlook shows it: at its own time and place."""

    id: str
    start: datetime
    end: datetime
    location: Location


@dataclass(frozen=True)
class Listed:
    conversation: Conversation
    occurrences: list[Occurrence]  # in the window asked for, UTC


class CancelOutcome(StrEnum):
    REMOVED = "removed"  # gone, with its Outlook meeting
    KEPT = "kept"  # notes or actions protect it: kept, marked cancelled


@dataclass(frozen=True)
class Cancelled:
    outcome: CancelOutcome
    conversation: Conversation | None  # None: a damaged conversation, removed unread
