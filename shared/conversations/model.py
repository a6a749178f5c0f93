"""Conversations (check-ins, wellbeing, development, mentoring sessions) and their Outlook side."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

BUILT_IN_TYPES = ("check_in", "wellbeing", "performance_development", "mentoring_session")
PENDING_SINCE = datetime(1970, 1, 1, tzinfo=UTC)  # a pending push due at once
PARKED = datetime(9999, 12, 31, tzinfo=UTC)  # a pending push out of the due list, waiting
# Conversations are listed, and series and Outlook edits synced, this far ahead (two years); they
# are stored whatever their date.
SYNC_HORIZON = timedelta(days=2 * 365)


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
    proposals: tuple[Proposal, ...] = ()  # attendees' proposed times, as Outlook last showed
    extra: dict[str, Any] = field(default_factory=dict)

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
class ProposalsSeen:
    """The proposals the organiser's event now carries; `new` those not seen before."""

    proposals: tuple[Proposal, ...]
    new: tuple[Proposal, ...]


OutlookChange = Moved | Relocated | Responded | GuestAdded | CancelledInOutlook | ProposalsSeen


@dataclass(frozen=True)
class OutlookEdit:
    """What an Outlook state of the event changes: the changes, in order, and the event's
    last-modified time and change key to remember (so an older or echoed state changes nothing)."""

    changes: tuple[OutlookChange, ...]
    seen: OutlookEvent | None = None

    @property
    def cancels(self) -> bool:
        return any(isinstance(change, CancelledInOutlook) for change in self.changes)


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
            case ProposalsSeen(proposals, _):
                updated = replace(updated, proposals=proposals)
    if edit.seen is not None:
        updated = replace(updated, outlook=edit.seen)
    if any(isinstance(change, Moved | Relocated | CancelledInOutlook) for change in edit.changes):
        updated = replace(updated, version=conversation.version + 1)
    return updated


# --- what the use cases answer ----------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    conversation: Conversation
    new: bool  # False: an earlier request with the same Idempotency-Key created it


@dataclass(frozen=True)
class Listed:
    conversation: Conversation
    occurrences: list[tuple[datetime, datetime]]  # in the window asked for, UTC


class CancelOutcome(StrEnum):
    REMOVED = "removed"  # gone, with its Outlook meeting
    KEPT = "kept"  # notes or actions protect it: kept, marked cancelled


@dataclass(frozen=True)
class Cancelled:
    outcome: CancelOutcome
    conversation: Conversation | None  # None: a damaged conversation, removed unread
