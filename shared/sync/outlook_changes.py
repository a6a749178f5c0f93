"""What an Outlook state of an event means for its conversation: pure rules, no I/O.

Graph's event becomes changes in the conversation's terms (moved, relocated, cancelled, an RSVP,
a guest added); the conversation service applies them. Time, date and location follow Outlook;
the title never does. An event state that is not newer than the one we know (an echo of our own
write, a duplicate or out-of-order notification) changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.conversations import proposals
from shared.conversations.model import (
    CancelledInOutlook,
    Conversation,
    ConversationStatus,
    GuestAdded,
    Location,
    LocationKind,
    Moved,
    OutlookChange,
    OutlookEdit,
    Participant,
    ParticipantRole,
    Relocated,
    Responded,
)
from shared.conversations.outlook import TEAMS_LOCATION, responses_in
from shared.conversations.time_zones import parse_graph_date_time, parse_timestamp
from shared.limits import within_time_range


def outlook_edit(conversation: Conversation, event: dict[str, Any]) -> OutlookEdit | None:
    """What this Outlook state of the conversation's event changes, or None if nothing."""
    if "@removed" in event or event.get("isCancelled"):
        if conversation.status is ConversationStatus.CANCELLED:
            return None
        return OutlookEdit((CancelledInOutlook(),))
    modified = _modified(event)
    known = conversation.outlook.last_modified if conversation.outlook else None
    if modified is not None and known is not None and modified <= known:
        return None
    changes: list[OutlookChange] = []
    if event.get("type") in (None, "singleInstance") and "start" in event and "end" in event:
        start, end = parse_graph_date_time(event["start"]), parse_graph_date_time(event["end"])
        moved = (start, end) != (conversation.start, conversation.end)
        # A move Outlook allows but the app could not store and read back (shared/limits.py)
        # is not taken: the conversation keeps its time.
        if moved and within_time_range(start) and within_time_range(end):
            changes.append(Moved(start, end))
    location = _location(event)
    if location is not None and location != conversation.location:
        changes.append(Relocated(location))
    if "attendees" in event:
        responses = responses_in(event)
        for attendee in conversation.attendees:
            response = responses.get(attendee.email.lower(), attendee.response)
            if response != attendee.response:
                changes.append(Responded(attendee.email, response))
        changes += [GuestAdded(guest) for guest in _guests(conversation, event)]
        seen_proposals = proposals.seen_in(conversation, event)  # issue 17: time proposals
        if seen_proposals is not None:
            changes.append(seen_proposals)
    seen = conversation.outlook
    if seen is not None:
        seen = replace(
            seen,
            last_modified=modified or seen.last_modified,
            change_key=event.get("changeKey", seen.change_key),
        )
    if not changes and seen == conversation.outlook:
        return None
    return OutlookEdit(tuple(changes), seen)


def _modified(event: dict[str, Any]) -> datetime | None:
    value = event.get("lastModifiedDateTime")
    return parse_timestamp(value) if value else None


def _location(event: dict[str, Any]) -> Location | None:
    """A named place wins over Teams: Graph keeps a meeting online once it is (a later
    isOnlineMeeting false is ignored), so a conversation moved from Teams to a room must not
    flip back to Teams when Outlook reports that meeting."""
    if "isOnlineMeeting" not in event and "location" not in event:
        return None
    text = ((event.get("location") or {}).get("displayName") or "").strip()
    if text and text != TEAMS_LOCATION:
        return Location(LocationKind.TEXT, text)
    if event.get("isOnlineMeeting"):
        return Location(LocationKind.TEAMS)
    return Location()


def _guests(conversation: Conversation, event: dict[str, Any]) -> list[Participant]:
    """People on the Outlook event the conversation does not know: added in Outlook."""
    known = {a.email.lower() for a in conversation.attendees}
    known.add((conversation.organiser_email or "").lower())
    guests = []
    for entry in event.get("attendees", []):
        address = (entry.get("emailAddress") or {}).get("address", "")
        if address and address.lower() not in known:
            known.add(address.lower())
            guest = Participant(
                email=address,
                name=(entry.get("emailAddress") or {}).get("name"),
                role=ParticipantRole.GUEST,
                response=(entry.get("status") or {}).get("response", "none"),
            )
            guests.append(guest)
    return guests
