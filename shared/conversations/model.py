"""Conversations (check-ins, wellbeing, development, mentoring sessions) and their Outlook side."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

BUILT_IN_TYPES = ("check_in", "wellbeing", "performance_development", "mentoring_session")
PENDING_SINCE = datetime(1970, 1, 1, tzinfo=UTC)  # a pending push due at once
# Conversations are listed, and series and Outlook edits synced, this far ahead (two years); they
# are stored whatever their date.
SYNC_HORIZON = timedelta(days=2 * 365)
MAX_ATTENDEES = 100


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
    # When its pending push is due (the schedule's key for it): PENDING_SINCE, or later when
    # Graph said when to come back (Retry-After).
    push_due: datetime = PENDING_SINCE
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
