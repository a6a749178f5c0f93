"""Availability as the API shows it (GET /api/availability): blue own events, green busy time,
and for each attendee who cannot be shown, a status and a message that says why."""

from __future__ import annotations

from typing import Any

from shared.availability.service import (
    AttendeeAvailability,
    AttendeeStatus,
    Availability,
    OwnEvent,
)

MESSAGES = {
    AttendeeStatus.NOT_CONNECTED: "{name} has not connected their Outlook calendar; ask them to "
    "connect it.",
    AttendeeStatus.RECONNECT_REQUIRED: "{name} must reconnect their Outlook calendar before it can "
    "be shown.",
    AttendeeStatus.SHARING_NONE: "{name} does not share their calendar availability.",
    AttendeeStatus.NOT_FOUND: "{name} was not found in your organisation (an external or unknown "
    "address).",
    AttendeeStatus.NO_USER_PRINCIPAL_NAME: "{name}'s Outlook connection has no user principal "
    "name or email address on record; ask them to disconnect and reconnect their Outlook calendar.",
    AttendeeStatus.MAILBOX_ON_PREMISES: "{name}'s mailbox is on an on-premises Exchange server, "
    "which is not supported.",
    AttendeeStatus.UNAVAILABLE: "{name}'s availability could not be read right now; try again "
    "shortly.",
}


def availability_view(availability: Availability) -> dict[str, Any]:
    window = availability.window
    return {
        "window": {
            "start": window.start.isoformat(),
            "end": window.end.isoformat(),
            "timeZone": window.time_zone,
        },
        "events": [_own_event(event) for event in availability.events],
        "attendees": [_attendee(attendee) for attendee in availability.attendees],
    }


def _own_event(event: OwnEvent) -> dict[str, Any]:
    return {
        "title": event.title,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "showAs": event.show_as,
        "isAllDay": event.all_day,
        "colour": "blue",
    }


def _attendee(attendee: AttendeeAvailability) -> dict[str, Any]:
    view: dict[str, Any] = {
        "attendee": attendee.ref.label,
        "email": attendee.email,
        "status": attendee.status.value,
    }
    if attendee.status is not AttendeeStatus.OK:
        name = attendee.name or attendee.ref.email or attendee.ref.user_id or "This attendee"
        view["message"] = MESSAGES[attendee.status].format(name=name)
    view["busy"] = [
        {
            "start": busy.start.isoformat(),
            "end": busy.end.isoformat(),
            "status": busy.status,
            "colour": "green",
        }
        for busy in attendee.busy
    ]
    return view
