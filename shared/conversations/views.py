"""Conversations as the API shows them: the JSON of /api/conversations and of their changes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from shared.conversations import proposals
from shared.conversations.model import (
    CancelledInOutlook,
    Conversation,
    GuestAdded,
    Location,
    LocationKind,
    Moved,
    OutlookChange,
    ProposalsSeen,
    Record,
    Relocated,
    Responded,
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
        "notesCount": c.notes_count,
        "actionsCount": c.actions_count,
        "version": c.version,
        "proposals": [proposals.proposal_view(p) for p in proposals.open_proposals(c)],
    }


def listed_view(
    conversation: Conversation, spans: list[tuple[datetime, datetime]]
) -> dict[str, Any]:
    occurrences = [{"start": start.isoformat(), "end": end.isoformat()} for start, end in spans]
    return conversation_view(conversation) | {"occurrences": occurrences}


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
        case ProposalsSeen():
            raise ValueError("proposals are told to the organiser alone (time_proposed_entry)")
