"""What an Outlook edit means for a conversation: pure rules, no I/O.

Time, date and location follow Outlook; the title never does. Responses become RSVPs, people
added in Outlook become guests. An event state that is not newer than the one we know (an echo
of our own write, a duplicate or out-of-order notification) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.conversations.model import (
    Conversation,
    Location,
    LocationKind,
    Participant,
    ParticipantRole,
)
from shared.conversations.outlook import TEAMS_LOCATION, with_responses
from shared.conversations.time_zones import parse_graph_date_time, parse_timestamp


@dataclass(frozen=True)
class Applied:
    conversation: Conversation
    changes: list[dict[str, Any]]  # for the host app's change feed


def is_removal(event: dict[str, Any]) -> bool:
    return "@removed" in event or bool(event.get("isCancelled"))


def apply_event(conversation: Conversation, event: dict[str, Any]) -> Applied | None:
    """The conversation after this Outlook state of its event, or None if nothing changes."""
    modified = _modified(event)
    known = conversation.outlook.last_modified if conversation.outlook else None
    if modified is not None and known is not None and modified <= known:
        return None
    updated, changes = conversation, []
    if event.get("type") in (None, "singleInstance") and "start" in event and "end" in event:
        start, end = parse_graph_date_time(event["start"]), parse_graph_date_time(event["end"])
        if (start, end) != (conversation.start, conversation.end):
            updated = replace(updated, start=start, end=end)
            changes.append(
                {"kind": "conversation_moved", "start": start.isoformat(), "end": end.isoformat()}
            )
    location = _location(event)
    if location is not None and location != conversation.location:
        updated = replace(updated, location=location)
        changes.append(
            {
                "kind": "conversation_relocated",
                "location": {"kind": location.kind.value, "text": location.text},
            }
        )
    if "attendees" in event:
        attendees = _with_guests(
            with_responses(updated.attendees, event), event, conversation.organiser_email
        )
        for before, after in zip(updated.attendees, attendees, strict=False):
            if before.response != after.response:
                changes.append({"kind": "rsvp", "email": after.email, "response": after.response})
        for guest in attendees[len(updated.attendees) :]:
            changes.append({"kind": "guest_added", "email": guest.email, "name": guest.name})
        updated = replace(updated, attendees=attendees)
    if conversation.outlook is not None:
        updated = replace(updated, outlook=replace(
            conversation.outlook,
            last_modified=modified or conversation.outlook.last_modified,
            change_key=event.get("changeKey", conversation.outlook.change_key),
        ))  # fmt: skip
    if updated == conversation:
        return None
    if any(c["kind"] in ("conversation_moved", "conversation_relocated") for c in changes):
        updated = replace(updated, version=conversation.version + 1)
    return Applied(updated, changes)


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


def _with_guests(
    attendees: tuple[Participant, ...], event: dict[str, Any], organiser_email: str | None
) -> tuple[Participant, ...]:
    known = {a.email.lower() for a in attendees} | {(organiser_email or "").lower()}
    guests = []
    for entry in event.get("attendees", []):
        address = (entry.get("emailAddress") or {}).get("address", "")
        if address and address.lower() not in known:
            known.add(address.lower())
            guests.append(Participant(
                email=address,
                name=(entry.get("emailAddress") or {}).get("name"),
                role=ParticipantRole.GUEST,
                response=(entry.get("status") or {}).get("response", "none"),
            ))  # fmt: skip
    return attendees + tuple(guests)
