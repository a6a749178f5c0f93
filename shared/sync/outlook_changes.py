"""What an Outlook state of an event means for its conversation: pure rules, no I/O.

Graph's event becomes changes in the conversation's terms (moved, relocated, cancelled, an RSVP,
a guest added); the conversation service applies them. Time, date and location follow Outlook;
the title never does. An event state that is not newer than the one we know (an echo of our own
write, a duplicate or out-of-order notification) changes nothing.

A series master brings the whole series' time, place and recurrence (its pattern and where it
ends); a new time or pattern drops the single-occurrence exceptions, as Outlook does. Its
occurrences, read from Outlook's instances list, become exceptions (series.py).

Whether an event is gone is not decided here: delta's `@removed` only says "not in this view";
the sync worker reads the event by id first (404: gone) and hands over what it read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from shared.conversations import proposals
from shared.conversations.model import (
    CancelledInOutlook,
    Conversation,
    ConversationStatus,
    GuestAdded,
    Moved,
    OutlookChange,
    OutlookEdit,
    Participant,
    ParticipantRole,
    Relocated,
    Responded,
    SeriesRepatterned,
)
from shared.conversations.outlook import event_location, graph_recurrence, responses_in
from shared.conversations.recurrence import pattern_and_end
from shared.conversations.series import OutlookOccurrence
from shared.conversations.time_zones import iana_zone, parse_graph_date_time, parse_timestamp
from shared.limits import EARLIEST, LATEST_DATE, within_time_range


def outlook_edit(conversation: Conversation, event: dict[str, Any]) -> OutlookEdit | None:
    """What this Outlook state of the conversation's event changes, or None if nothing."""
    if event.get("isCancelled"):
        return cancelled_edit(conversation)
    modified = _modified(event)
    known = conversation.outlook.last_modified if conversation.outlook else None
    if modified is not None and known is not None and modified <= known:
        return None
    changes: list[OutlookChange] = []
    kind = event.get("type")
    if kind in (None, "singleInstance", "seriesMaster") and "start" in event and "end" in event:
        start, end = parse_graph_date_time(event["start"]), parse_graph_date_time(event["end"])
        moved = (start, end) != (conversation.start, conversation.end)
        # A move Outlook allows but the app could not store and read back (shared/limits.py)
        # is not taken: the conversation keeps its time.
        if moved and within_time_range(start) and within_time_range(end):
            changes.append(Moved(start, end))
    location = event_location(event)
    if location is not None and location != conversation.location:
        changes.append(Relocated(location))
    repatterned = None
    if kind == "seriesMaster" and conversation.recurrence and event.get("recurrence"):
        repatterned = series_recurrence(conversation, event["recurrence"])
        if repatterned is not None:
            changes.append(SeriesRepatterned(repatterned))
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
    # A new time or pattern: Outlook dropped the series' exceptions, and so does the app.
    moved = any(isinstance(c, Moved) for c in changes)
    reset = conversation.exceptions and (moved or repatterned is not None)
    return OutlookEdit(tuple(changes), seen, () if reset else None)


def cancelled_edit(conversation: Conversation) -> OutlookEdit | None:
    """The event is gone from Outlook (read back 404) or cancelled there."""
    if conversation.status is ConversationStatus.CANCELLED:
        return None
    return OutlookEdit((CancelledInOutlook(),))


def series_recurrence(conversation: Conversation, outlook: dict[str, Any]) -> dict[str, Any] | None:
    """The conversation's recurrence as Outlook now has it, if its pattern, its end or its
    start date differ from what the app gave Outlook (Graph fills in defaults, and the app gives
    Outlook at most SYNC_HORIZON of a series from its start date: neither is a change)."""
    assert conversation.recurrence is not None
    own = conversation.recurrence["range"]
    first_day = conversation.start.astimezone(iana_zone(conversation.time_zone)).date()
    try:
        theirs = pattern_and_end(outlook)
        start_date = _start_date(outlook) or own.get("startDate") or first_day.isoformat()
        # A series moved in Outlook moves its range's startDate with its start
        # (recurrencerange); the two-year cap then counts from either date.
        shift = timedelta(days=(date.fromisoformat(start_date) - first_day).days)
        given = (conversation, replace(conversation, start=conversation.start + shift))
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        return None
    moved = {**conversation.recurrence, "range": {**own, "startDate": start_date}}
    if theirs in [pattern_and_end(graph_recurrence(c)) for c in given]:
        if start_date == own.get("startDate"):
            return None
        return moved  # only where it starts: the pattern and end as the app has them
    pattern, end = theirs
    span: dict[str, Any] = {"type": end[0], **{k: v for k, v in end[1:] if v is not None}}
    span["startDate"] = start_date
    if "recurrenceTimeZone" in own:
        span["recurrenceTimeZone"] = own["recurrenceTimeZone"]
    return {"pattern": dict(pattern), "range": span}


def _start_date(recurrence: dict[str, Any]) -> str | None:
    """Outlook's range.startDate, if it is a date the app can store."""
    value = recurrence["range"].get("startDate")
    if not value:
        return None
    day = date.fromisoformat(str(value))
    return day.isoformat() if EARLIEST.date() <= day <= LATEST_DATE else None


def outlook_occurrence(event: dict[str, Any]) -> OutlookOccurrence | None:
    """An occurrence or exception from Outlook's instances list (or read by its id)."""
    original = event.get("originalStart")
    if not original or "start" not in event or "end" not in event or not event.get("id"):
        return None
    try:
        return OutlookOccurrence(
            original_start=parse_timestamp(str(original)),
            start=parse_graph_date_time(event["start"]),
            end=parse_graph_date_time(event["end"]),
            location=event_location(event),
            event_id=str(event["id"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _modified(event: dict[str, Any]) -> datetime | None:
    value = event.get("lastModifiedDateTime")
    return parse_timestamp(value) if value else None


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
