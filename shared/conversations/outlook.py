"""Conversations as Outlook events in the organiser's calendar, through Graph.

The event body links back to the host app and carries none of the conversation's prompts or
notes. Creates carry a transactionId derived from the conversation id, so a retried create never
makes a second event; every request asks for immutable ids. Outlook gets a series for at most
SYNC_HORIZON from its start (the conversation keeps the range the user asked for).
"""

from __future__ import annotations

import html
import uuid
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from shared.conversations.model import (
    SYNC_HORIZON,
    Conversation,
    Location,
    LocationKind,
    OutlookEvent,
    Participant,
)
from shared.conversations.recurrence import occurrences, pattern_and_end
from shared.conversations.time_zones import (
    graph_date_time,
    iana_zone,
    parse_graph_date_time,
    parse_timestamp,
)
from shared.graph.headers import prefer_header

if TYPE_CHECKING:
    from shared.graph.client import GraphClient

TEAMS_LOCATION = "Microsoft Teams Meeting"
_EVENT_FIELDS = "id,iCalUId,webLink,onlineMeeting,changeKey,lastModifiedDateTime,attendees"
# What the sync worker reads of an event: calendarView delta may give occurrences only as id,
# type, seriesMasterId, start and end, and `@removed` for what merely left its window.
_SYNC_FIELDS = (
    f"{_EVENT_FIELDS},type,start,end,location,isOnlineMeeting,isCancelled,recurrence,"
    "seriesMasterId,originalStart"
)
_INSTANCE_FIELDS = "id,type,seriesMasterId,originalStart,start,end,location,isOnlineMeeting"
INSTANCES_PAGE = 200


def transaction_id(conversation_id: str) -> str:
    """Stable per conversation: Graph drops a second create with the same transactionId."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"conversation:{conversation_id}"))


def event_body(conversation: Conversation, link: str, *, teams: bool = True) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "subject": conversation.title,
        "body": {
            "contentType": "html",
            "content": (
                f'<p>Open this conversation in <a href="{html.escape(link)}">the app</a> '
                "to see its agenda, notes and actions.</p>"
            ),
        },
        "attendees": [_attendee(a) for a in conversation.attendees],
        # Attendees may propose a new time, as in Outlook; the organiser accepts or dismisses it
        # through the app (proposals.py).
        "allowNewTimeProposals": True,
        "transactionId": transaction_id(conversation.id),
        **schedule_fields(conversation),
        **location_fields(conversation, teams=teams),
    }
    if conversation.recurrence:
        payload["recurrence"] = graph_recurrence(conversation)
    return payload


def _attendee(participant: Participant) -> dict[str, Any]:
    address = {"address": participant.email}
    if participant.name:
        address["name"] = participant.name
    return {"emailAddress": address, "type": "required"}


def schedule_fields(conversation: Conversation) -> dict[str, Any]:
    return {
        "start": graph_date_time(conversation.start, conversation.time_zone),
        "end": graph_date_time(conversation.end, conversation.time_zone),
    }


def location_fields(conversation: Conversation, *, teams: bool = True) -> dict[str, Any]:
    """`teams`: whether the organiser's calendar allows Teams; where it does not, a Teams
    conversation's meeting says no place rather than a Teams meeting it will not have."""
    location = conversation.location
    if location.kind is LocationKind.TEAMS and teams:
        return {
            "isOnlineMeeting": True,
            "onlineMeetingProvider": "teamsForBusiness",
            "location": {"displayName": TEAMS_LOCATION},
        }
    return {
        "isOnlineMeeting": False,
        "location": {"displayName": location.text or ""},
    }


def graph_recurrence(conversation: Conversation) -> dict[str, Any]:
    """The series as Outlook gets it: from its start's date, ended by SYNC_HORIZON past its
    start when it runs longer."""
    assert conversation.recurrence is not None
    pattern = dict(conversation.recurrence["pattern"])
    span = dict(conversation.recurrence["range"])
    span["recurrenceTimeZone"] = graph_date_time(conversation.start, conversation.time_zone)[
        "timeZone"
    ]
    # Graph: startDate "must be the same value as the start property of the recurring event"
    # (recurrencerange), whatever a conversation stored before its series moves kept it so.
    start = conversation.start.astimezone(iana_zone(conversation.time_zone)).date()
    span["startDate"] = start.isoformat()
    last_day = start + SYNC_HORIZON
    if _runs_past(conversation, span, last_day):
        span = {
            "type": "endDate",
            "startDate": start.isoformat(),
            "endDate": last_day.isoformat(),
            "recurrenceTimeZone": span["recurrenceTimeZone"],
        }
    return {"pattern": pattern, "range": span}


def _runs_past(conversation: Conversation, span: dict[str, Any], last_day: date) -> bool:
    if span["type"] == "noEnd":
        return True
    if span["type"] == "endDate":
        return date.fromisoformat(span["endDate"]) > last_day
    assert conversation.recurrence is not None
    zone = iana_zone(conversation.time_zone)
    until = datetime.combine(last_day + timedelta(days=1), time(), zone)  # end of the last day
    within = _slots(conversation, until)
    return len(within) < int(span["numberOfOccurrences"])


class OutlookCalendar:
    """One organiser's calendar (the Graph client carries their delegated token)."""

    def __init__(self, graph: GraphClient, *, max_wait: float | None = None) -> None:
        """`max_wait`: seconds each call may wait on Retry-After (None: the client's budget)."""
        self._graph = graph
        self._max_wait = max_wait

    def create(self, conversation: Conversation, link: str, *, teams: bool = True) -> OutlookEvent:
        body = event_body(conversation, link, teams=teams)
        return outlook_event(self._request("POST", "me/events", body=body))

    def update(self, event_id: str, changes: dict[str, Any]) -> OutlookEvent:
        return outlook_event(self._request("PATCH", f"me/events/{event_id}", body=changes))

    def cancel(self, event_id: str, comment: str) -> None:
        self._request("POST", f"me/events/{event_id}/cancel", body={"comment": comment})

    def read(self, event_id: str) -> dict[str, Any]:
        return self._request("GET", f"me/events/{event_id}", params={"$select": _EVENT_FIELDS})

    def read_for_sync(self, event_id: str) -> dict[str, Any]:
        """The event as the sync worker compares it (GraphError 404 when it is gone)."""
        return self._request("GET", f"me/events/{event_id}", params={"$select": _SYNC_FIELDS})

    def instances(self, master_id: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """A series' occurrences and exceptions overlapping [start, end), cancelled ones left
        out (event-list-instances), every page."""
        params: dict[str, str] | None = {
            "startDateTime": start.isoformat(),
            "endDateTime": end.isoformat(),
            "$select": _INSTANCE_FIELDS,
            "$top": str(INSTANCES_PAGE),
        }
        path = f"me/events/{master_id}/instances"
        found: list[dict[str, Any]] = []
        while True:
            answer = self._request("GET", path, params=params)
            found += answer.get("value", [])
            if "@odata.nextLink" not in answer:
                return found
            path, params = answer["@odata.nextLink"], None

    def cancel_occurrence(self, master_id: str, original_start: datetime, comment: str) -> None:
        """Cancel one occurrence (attendees are told); done when it is gone already."""
        event_id = self.occurrence_at(master_id, original_start)
        if event_id is not None:
            self.cancel(event_id, comment)

    def occurrence_at(self, master_id: str, original_start: datetime) -> str | None:
        """Outlook's id of the series' occurrence whose original start this is (None: gone)."""
        day = timedelta(days=1)
        for event in self.instances(master_id, original_start - day, original_start + day):
            original = event.get("originalStart")
            if original and parse_timestamp(str(original)) == original_start:
                return str(event["id"])
        return None

    def created_for(self, conversation: Conversation) -> str | None:
        """The id of the event a create for this conversation made, if one did: a create whose
        answer never arrived leaves no id behind. Found by its transactionId, which Graph returns
        when an app set it, among the events of the conversation's first slot (a series' by its
        master)."""
        first = _first_slot(conversation)
        if first is None:
            return None
        window = {
            "startDateTime": first[0].isoformat(),
            "endDateTime": first[1].isoformat(),
            "$select": "id,transactionId,seriesMasterId",
        }
        wanted = transaction_id(conversation.id)
        for event in self._request("GET", "me/calendarView", params=window).get("value", []):
            if event.get("transactionId") == wanted:
                return str(event["id"])
            master_id = event.get("seriesMasterId")
            if master_id and conversation.recurrence:
                fields = {"$select": "id,transactionId"}
                master = self._request("GET", f"me/events/{master_id}", params=fields)
                if master.get("transactionId") == wanted:
                    return str(master["id"])
        return None

    def _request(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        return self._graph.request(
            method, path, headers=prefer_header(utc=True), max_wait=self._max_wait, **options
        )


def _first_slot(conversation: Conversation) -> tuple[datetime, datetime] | None:
    if conversation.recurrence is None:
        return conversation.start, conversation.end
    slots = _slots(conversation, conversation.start + SYNC_HORIZON)
    return slots[0] if slots else None


def _slots(conversation: Conversation, until: datetime) -> list[tuple[datetime, datetime]]:
    """A series' occurrences from its start until `until`."""
    assert conversation.recurrence is not None
    duration = conversation.end - conversation.start
    return occurrences(
        conversation.recurrence,
        conversation.start,
        duration,
        conversation.time_zone,
        conversation.start,
        until,
    )


def outlook_event(event: dict[str, Any]) -> OutlookEvent:
    modified = event.get("lastModifiedDateTime")
    return OutlookEvent(
        event_id=event["id"],
        ical_uid=event.get("iCalUId"),
        web_link=event.get("webLink"),
        join_url=(event.get("onlineMeeting") or {}).get("joinUrl"),
        change_key=event.get("changeKey"),
        last_modified=parse_timestamp(modified) if modified else None,
    )


def event_location(event: dict[str, Any]) -> Location | None:
    """The event's place in the conversation's terms (None: the event does not say). A named
    place wins over Teams: Graph keeps a meeting online once it is (a later isOnlineMeeting
    false is ignored), so a conversation moved from Teams to a room must not flip back to Teams
    when Outlook reports that meeting."""
    if "isOnlineMeeting" not in event and "location" not in event:
        return None
    text = ((event.get("location") or {}).get("displayName") or "").strip()
    if text and text != TEAMS_LOCATION:
        return Location(LocationKind.TEXT, text)
    if event.get("isOnlineMeeting"):
        return Location(LocationKind.TEAMS)
    return Location()


def series_update(
    conversation: Conversation, master: dict[str, Any], *, teams: bool = True
) -> dict[str, Any]:
    """What a push must change of a series' master as Outlook has it: only what differs, since
    a master PATCH that names the time may count as a new pattern, which drops every
    single-occurrence change (MS-OXOCAL 3.1.4.7.3.5)."""
    changes: dict[str, Any] = {}
    try:
        times = parse_graph_date_time(master["start"]), parse_graph_date_time(master["end"])
    except (KeyError, TypeError, ValueError):
        times = None
    if times != (conversation.start, conversation.end):
        changes.update(schedule_fields(conversation))
    if conversation.recurrence and not _same_series(graph_recurrence(conversation), master):
        # range.startDate "must be the same value as the start property of the recurring
        # event" (recurrencerange): a series moved to another day takes its recurrence along.
        changes["recurrence"] = graph_recurrence(conversation)
    if event_location(master) != conversation.location:
        changes.update(location_fields(conversation, teams=teams))
    return changes


def _same_series(ours: dict[str, Any], master: dict[str, Any]) -> bool:
    """Whether Outlook's master has this recurrence (Graph's filled-in defaults aside)."""
    try:
        theirs = master["recurrence"]
        return bool(
            pattern_and_end(theirs) == pattern_and_end(ours)
            and str(theirs["range"]["startDate"]) == ours["range"]["startDate"]
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return False


def responses_in(event: dict[str, Any]) -> dict[str, str]:
    """The RSVPs an Outlook event reports, by lower-case address."""
    return {
        (a.get("emailAddress") or {}).get("address", "").lower(): (a.get("status") or {}).get(
            "response", "none"
        )
        for a in event.get("attendees", [])
    }


def with_responses(
    attendees: tuple[Participant, ...], event: dict[str, Any]
) -> tuple[Participant, ...]:
    """Attendees with the RSVPs Outlook reports (matched by address, case-insensitively)."""
    responses = responses_in(event)
    return tuple(replace(a, response=responses.get(a.email.lower(), a.response)) for a in attendees)
