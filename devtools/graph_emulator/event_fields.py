"""Outlook event items as Exchange keeps them: a new event, a client's changes applied, a
meeting's copy for an attendee, a cancellation, and a series' occurrences.

Pure functions over Graph-shaped dicts; the store (mailboxes.py) decides who gets what.
Times are stored in UTC; `originalStartTimeZone` keeps the zone they were given in.
"""

from __future__ import annotations

import copy
import html
import re
from datetime import datetime, tzinfo
from typing import Any

from devtools.graph_emulator import event_ids, recurrence
from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.time_zones import instant, stamp, utc_value, zone

NEVER = "0001-01-01T00:00:00Z"  # Exchange's "no response time"

# What attendees' copies follow when the organiser changes the meeting.
MEETING_FIELDS = (
    "subject",
    "body",
    "bodyPreview",
    "start",
    "end",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "location",
    "locations",
    "isOnlineMeeting",
    "onlineMeeting",
    "onlineMeetingProvider",
    "recurrence",
    "type",
    "attendees",
    "isAllDay",
    "sensitivity",
    "importance",
    "allowNewTimeProposals",
    "hideAttendees",
    "isCancelled",
)
# Set by Exchange, never by a client: ignored in request bodies.
SERVER_FIELDS = frozenset(
    {
        "id",
        "iCalUId",
        "createdDateTime",
        "lastModifiedDateTime",
        "changeKey",
        "isOrganizer",
        "organizer",
        "responseStatus",
        "type",
        "seriesMasterId",
        "webLink",
        "onlineMeeting",
        "onlineMeetingUrl",
        "isCancelled",
        "bodyPreview",
        "hasAttachments",
        "originalStartTimeZone",
        "originalEndTimeZone",
        "transactionId",
        "originalStart",
        "uid",
    }
)


def event_start(event: dict[str, Any]) -> datetime:
    return instant(event["start"])


def event_end(event: dict[str, Any]) -> datetime:
    return instant(event["end"])


def client_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The properties of a request body a client may set (annotations and server fields go)."""
    return {k: v for k, v in body.items() if k not in SERVER_FIELDS and "@" not in k}


def new_event(
    owner: DirectoryUser, body: dict[str, Any], now: datetime, *, teams: bool = True
) -> dict[str, Any]:
    """A new event in `owner`'s calendar, which `owner` organises (`teams`: whether the calendar
    allows teamsForBusiness)."""
    for key in ("start", "end"):
        if not isinstance(body.get(key), dict) or not body[key].get("dateTime"):
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                f"Your request can't be completed. The {key} time is missing.",
            )
    event_id = event_ids.new_item_id(owner.object_id)
    event: dict[str, Any] = {
        "id": event_id,
        "createdDateTime": stamp(now),
        "lastModifiedDateTime": stamp(now),
        "changeKey": event_ids.change_key(event_id, now),
        "categories": [],
        "iCalUId": event_ids.new_ical_uid(now),
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": "",
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": False,
        "isCancelled": False,
        "isOrganizer": True,
        "isDraft": False,
        "hideAttendees": False,
        "responseRequested": True,
        "seriesMasterId": None,
        "showAs": "busy",
        "type": "singleInstance",
        "webLink": event_ids.web_link(event_id),
        "onlineMeetingUrl": None,
        "isOnlineMeeting": False,
        "onlineMeetingProvider": "unknown",
        "onlineMeeting": None,
        "allowNewTimeProposals": True,
        "responseStatus": {"response": "organizer", "time": NEVER},
        "body": {"contentType": "text", "content": ""},
        "bodyPreview": "",
        "location": _location(None),
        "locations": [],
        "recurrence": None,
        "attendees": [],
        "organizer": {"emailAddress": {"name": owner.display_name, "address": owner.mail}},
    }
    if body.get("transactionId"):
        event["transactionId"] = str(body["transactionId"])
    return merged(owner, event, client_fields(body), teams=teams)


def merged(
    owner: DirectoryUser, event: dict[str, Any], fields: dict[str, Any], *, teams: bool = True
) -> dict[str, Any]:
    """`event` with a client's `fields` applied, normalised as Exchange stores them."""
    result = {**copy.deepcopy(event), **copy.deepcopy(fields)}
    for key in ("start", "end"):
        if key in fields:
            result[key] = utc_value(instant(fields[key]))
            result[f"original{key.capitalize()}TimeZone"] = str(
                fields[key].get("timeZone") or "UTC"
            )
    if event_end(result) < event_start(result):
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            "Your request can't be completed. The end time must be after the start time.",
        )
    if "location" in fields:
        place = result["location"] = _location(fields["location"])
        result["locations"] = [dict(place)] if place["displayName"] else []
    if "attendees" in fields:
        result["attendees"] = [_attendee(a) for a in fields["attendees"] or []]
    if "body" in fields:
        result["body"] = {"contentType": "text", "content": "", **(fields["body"] or {})}
        result["bodyPreview"] = _preview(result["body"])
    if "recurrence" in fields:
        result["recurrence"] = _recurrence(fields["recurrence"], result)
    result["type"] = "seriesMaster" if result["recurrence"] else "singleInstance"
    _online(owner, event, result, fields, teams)
    return result


def invitation(invitee: DirectoryUser, event: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The copy of an organiser's meeting that lands in an attendee's calendar."""
    copy_id = event_ids.new_item_id(invitee.object_id)
    result = copy.deepcopy(event)
    result.pop("transactionId", None)
    result.update(
        id=copy_id,
        createdDateTime=stamp(now),
        lastModifiedDateTime=stamp(now),
        changeKey=event_ids.change_key(copy_id, now),
        webLink=event_ids.web_link(copy_id),
        isOrganizer=False,
        categories=[],
        responseStatus={"response": "none", "time": NEVER},
        # Exchange holds unanswered invitations as tentative in the attendee's calendar.
        showAs="free" if event["showAs"] == "free" else "tentative",
    )
    return result


def cancelled(item: dict[str, Any]) -> dict[str, Any]:
    """Exchange's cancellation of an attendee's copy: flagged, "Canceled:", no longer busy."""
    subject = item["subject"]
    return {
        **item,
        "isCancelled": True,
        "subject": subject if subject.startswith("Canceled: ") else f"Canceled: {subject}",
        "showAs": "free",
    }


def series_zone(master: dict[str, Any]) -> tzinfo:
    """The zone a series is expanded in: its recurrenceTimeZone, else the zone it started in."""
    span = master["recurrence"]["range"]
    return zone(span.get("recurrenceTimeZone") or master["originalStartTimeZone"])


def occurrences(master: dict[str, Any], window: tuple[datetime, datetime]) -> list[dict[str, Any]]:
    """A series master's occurrences overlapping `window` as its pattern makes them (without
    exceptions: series.py applies those), expanded in the series' zone."""
    local_zone = series_zone(master)
    first = event_start(master)
    duration = event_end(master) - first
    local_first = first.astimezone(local_zone).replace(tzinfo=None)
    found = []
    for start in recurrence.occurrence_starts(
        master["recurrence"], local_first, local_zone, duration, window
    ):
        occurrence = {
            **copy.deepcopy(master),
            "id": event_ids.occurrence_id(master["id"], start),
            "iCalUId": event_ids.occurrence_ical_uid(
                master["iCalUId"], start.astimezone(local_zone).date()
            ),
            "type": "occurrence",
            "seriesMasterId": master["id"],
            "recurrence": None,
            "originalStart": stamp(start),
            "start": utc_value(start),
            "end": utc_value(start + duration),
        }
        occurrence.pop("transactionId", None)
        found.append(occurrence)
    return found


def _online(
    owner: DirectoryUser,
    before: dict[str, Any],
    result: dict[str, Any],
    fields: dict[str, Any],
    teams: bool,
) -> None:
    """Teams: calendars allow teamsForBusiness or nothing; any provider the calendar does not
    allow is ignored: the event is saved without an online meeting, no error
    (outlook-calendar-online-meetings: the provider must be "one of the providers supported by
    the parent calendar"; what happens otherwise is not documented; microsoft-graph-docs #9741
    shows Graph answering 201 with isOnlineMeeting false and provider unknown when it could not
    make the meeting). Without a provider, the calendar's default (Teams, or none) applies."""
    if "isOnlineMeeting" not in fields and "onlineMeetingProvider" not in fields:
        return
    provider = fields.get("onlineMeetingProvider", "teamsForBusiness" if teams else "unknown")
    if result.get("isOnlineMeeting") and provider == "teamsForBusiness" and teams:
        result["isOnlineMeeting"] = True
        result["onlineMeetingProvider"] = "teamsForBusiness"
        if not (before.get("onlineMeeting") or {}).get("joinUrl"):
            url = event_ids.teams_join_url(owner.tenant_id, owner.object_id)
            result["onlineMeeting"] = {"joinUrl": url}
    elif not before.get("isOnlineMeeting") or "isOnlineMeeting" in fields:
        result.update(isOnlineMeeting=False, onlineMeetingProvider="unknown", onlineMeeting=None)


def _location(value: dict[str, Any] | None) -> dict[str, Any]:
    name = str((value or {}).get("displayName") or "")
    base: dict[str, Any] = {"displayName": name, "locationType": "default"}
    base.update(
        {"uniqueId": name, "uniqueIdType": "private"}
        if name
        else {"uniqueIdType": "unknown", "address": {}, "coordinates": {}}
    )
    return {**base, **(value or {}), "displayName": name}


def _attendee(value: dict[str, Any]) -> dict[str, Any]:
    address = dict(value.get("emailAddress") or {})
    address.setdefault("name", address.get("address", ""))
    return {
        "type": value.get("type") or "required",
        "status": value.get("status") or {"response": "none", "time": NEVER},
        "emailAddress": address,
    }


def _preview(body: dict[str, Any]) -> str:
    text = str(body.get("content") or "")
    if str(body.get("contentType", "")).lower() == "html":
        text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    return " ".join(text.split())[:255]


def _recurrence(value: dict[str, Any] | None, event: dict[str, Any]) -> dict[str, Any] | None:
    """A series' recurrence with the defaults Exchange fills in."""
    if value is None:
        return None
    recurrence.check(value)
    pattern = {
        "type": None,
        "interval": 1,
        "month": 0,
        "dayOfMonth": 0,
        "daysOfWeek": [],
        "firstDayOfWeek": "sunday",
        "index": "first",
        **value["pattern"],
    }
    span = {
        "type": None,
        "startDate": None,
        "endDate": "0001-01-01",
        "numberOfOccurrences": 0,
        "recurrenceTimeZone": event["originalStartTimeZone"],
        **value["range"],
    }
    zone(span["recurrenceTimeZone"])  # refuses zones Exchange does not know
    return {"pattern": pattern, "range": span}
