"""Conversations as the API shows them: the JSON of /api/conversations and of their changes."""

from __future__ import annotations

import re
from typing import Any

from shared.conversations.model import (
    CancelledInOutlook,
    Conversation,
    GuestAdded,
    Location,
    LocationKind,
    Moved,
    Occurrence,
    OccurrenceCancelled,
    OccurrenceException,
    OccurrenceMoved,
    OccurrenceRelocated,
    OutlookChange,
    Record,
    Relocated,
    Responded,
    SeriesRepatterned,
    occurrence_id,
)

_ETAG = re.compile(r'"v(\d+)"')


def etag(conversation: Conversation) -> str:
    return f'"v{conversation.version}"'


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match names: None for none or "*" (any); 0, which no version has, for
    an ETag this API never gave out."""
    if if_match is None or if_match == "*":
        return None
    match = _ETAG.fullmatch(if_match)
    return int(match[1]) if match else 0


def conversation_view(c: Conversation) -> dict[str, Any]:
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
        "location": location_view(c.location),
        "recurrence": c.recurrence,
        "status": c.status.value,
        "sync": {"state": c.sync_state.value, "error": c.sync_error},
        "outlook": None
        if c.outlook is None
        else {
            "eventId": c.outlook.event_id,
            "webLink": c.outlook.web_link,
            "teamsJoinUrl": c.outlook.join_url if c.location.kind is LocationKind.TEAMS else None,
        },
        "exceptions": [exception_view(e) for e in c.exceptions],
        "notesCount": c.notes_count,
        "actionsCount": c.actions_count,
        "version": c.version,
    }


def listed_view(conversation: Conversation, occurrences: list[Occurrence]) -> dict[str, Any]:
    return conversation_view(conversation) | {
        "occurrences": [occurrence_view(o) for o in occurrences]
    }


def occurrence_view(occurrence: Occurrence) -> dict[str, Any]:
    """An occurrence as Outlook shows it; its id stays the same when it moves."""
    return {
        "id": occurrence.id,
        "start": occurrence.start.isoformat(),
        "end": occurrence.end.isoformat(),
        "location": location_view(occurrence.location),
    }


def exception_view(exception: OccurrenceException) -> dict[str, Any]:
    """One occurrence of a series that differs from its pattern (null: as the series)."""
    return {
        "occurrenceId": exception.id,
        "originalStart": exception.original_start.isoformat(),
        "start": exception.start.isoformat() if exception.start else None,
        "end": exception.end.isoformat() if exception.end else None,
        "location": location_view(exception.location) if exception.location else None,
        "cancelled": exception.cancelled,
    }


def location_view(location: Location) -> dict[str, Any]:
    return {"kind": location.kind.value, "text": location.text}


def record_view(record: Record) -> dict[str, Any]:
    return {
        "id": record.id,
        "text": record.text,
        "authorId": record.author_id,
        "createdAt": record.created_at.isoformat(),
    }


def outlook_change_entry(conversation: Conversation, change: OutlookChange) -> dict[str, Any]:
    """A change feed entry: what Outlook changed in a conversation."""
    about = {"conversationId": conversation.id, "title": conversation.title}
    match change:
        case Moved(start, end):
            return {
                "kind": "conversation_moved",
                **about,
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
        case Relocated(location):
            return {"kind": "conversation_relocated", **about, "location": location_view(location)}
        case Responded(email, response):
            return {"kind": "rsvp", **about, "email": email, "response": response}
        case GuestAdded(guest):
            return {"kind": "guest_added", **about, "email": guest.email, "name": guest.name}
        case CancelledInOutlook():
            return {"kind": "conversation_cancelled", **about, "by": "outlook"}
        case SeriesRepatterned(recurrence):
            return {"kind": "conversation_recurrence_changed", **about, "recurrence": recurrence}
        case OccurrenceMoved(original, start, end):
            return {
                "kind": "occurrence_moved",
                **about,
                "occurrenceId": occurrence_id(original),
                "start": start.isoformat(),
                "end": end.isoformat(),
            }
        case OccurrenceRelocated(original, location):
            return {
                "kind": "occurrence_relocated",
                **about,
                "occurrenceId": occurrence_id(original),
                "location": location_view(location),
            }
        case OccurrenceCancelled(original):
            return {
                "kind": "occurrence_cancelled",
                **about,
                "occurrenceId": occurrence_id(original),
            }
