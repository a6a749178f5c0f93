"""Availability while scheduling: the caller's own events with titles, attendees' busy time.

Own events come from calendarView (titles, blue). Attendees come from one getSchedule per 20
addresses (Graph's limit) and are reduced to status and times only (green): whatever Graph
returns, no attendee's subject, location or body ever leaves this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.caller import Caller
from shared.conversations.requests import Window
from shared.conversations.time_zones import parse_graph_date_time
from shared.errors import Conflict, Unavailable
from shared.graph.errors import GraphError

if TYPE_CHECKING:
    from shared.connections.service import ConnectionService, GraphFactory
    from shared.graph.client import GraphClient

logger = logging.getLogger(__name__)

SCHEDULES_PER_CALL = 20  # getSchedule's limit
MAILBOX_CONCURRENCY = 4  # Outlook's concurrent requests per app and mailbox
MAX_WINDOW_DAYS = 61  # getSchedule needs under 62 days
_UTC = {"Prefer": 'outlook.timezone="UTC", IdType="ImmutableId"'}
_BUSY = {"busy", "tentative", "oof", "workingElsewhere"}

MESSAGES = {
    "not_connected": "{name} has not connected their Outlook calendar; ask them to connect it.",
    "reconnect_required": "{name} must reconnect their Outlook calendar before it can be shown.",
    "sharing_none": "{name} does not share their calendar availability.",
    "not_found": "{name} was not found in your organisation (an external or unknown address).",
    "no_user_principal_name": "{name}'s Microsoft account has no user principal name; ask them "
    "to disconnect and reconnect their Outlook calendar.",
    "mailbox_on_premises": "{name}'s mailbox is on an on-premises Exchange server, which is "
    "not supported.",
    "unavailable": "{name}'s availability could not be read right now; try again shortly.",
}


@dataclass(frozen=True)
class AttendeeRef:
    """An attendee as the host app names them: a host-app user id, or an email address."""

    user_id: str | None = None
    email: str | None = None

    @property
    def label(self) -> str:
        return self.user_id or self.email or "?"


class AvailabilityService:
    def __init__(
        self,
        connections: ConnectionService,
        graph: GraphFactory,
    ) -> None:
        self._connections = connections
        self._graph = graph

    def availability(
        self, caller: Caller, window: Window, attendees: list[AttendeeRef]
    ) -> dict[str, Any]:
        try:
            token = self._connections.access_token(caller.org_id, caller.user_id)
        except Conflict as error:
            raise Conflict(
                "Connect your Outlook calendar to see availability.",
                code=error.code or "not_connected",
            ) from error
        graph = self._graph(
            lambda: token, self._connections.token_renewal(caller.org_id, caller.user_id)
        )
        answers: dict[str, dict[str, Any]] = {}
        lookups: dict[str, AttendeeRef] = {}
        for ref in attendees:
            address, problem = self._address_of(caller, ref)
            if problem:
                answers[ref.label] = _blocked(ref, problem)
            else:
                lookups[address.lower()] = ref
        addresses = list(lookups)
        chunks = [
            addresses[i : i + SCHEDULES_PER_CALL]
            for i in range(0, len(addresses), SCHEDULES_PER_CALL)
        ]
        try:
            # Own events and the getSchedule chunks in parallel (Outlook: 4 at once per mailbox).
            with ThreadPoolExecutor(max_workers=MAILBOX_CONCURRENCY) as pool:
                own_future = pool.submit(lambda: list(self._own_events(graph, window)))
                schedule_futures = [
                    pool.submit(self._schedules_of, graph, chunk, window) for chunk in chunks
                ]
                own = own_future.result()
                schedules = [s for future in schedule_futures for s in future.result()]
            for schedule in schedules:
                ref = lookups.get(str(schedule.get("scheduleId", "")).lower())
                if ref is not None:
                    answers[ref.label] = _attendee_answer(ref, schedule)
        except GraphError as error:
            if error.transient:
                raise Unavailable(
                    "Outlook is busy; try again in a moment.", retry_after=error.retry_after
                ) from error
            raise
        for address, ref in lookups.items():
            answers.setdefault(ref.label, _blocked(ref, "not_found", email=address))
        return {
            "window": {
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
                "timeZone": window.time_zone,
            },
            "events": own,
            "attendees": [answers[ref.label] for ref in attendees if ref.label in answers],
        }

    def _address_of(self, caller: Caller, ref: AttendeeRef) -> tuple[str, str | None]:
        if ref.user_id is None:
            return str(ref.email), None
        connection = self._connections.connection_of(caller.org_id, ref.user_id)
        if connection is None:
            return "", "not_connected"
        if connection.needs_reconnect:
            return "", "reconnect_required"
        if not connection.account.user_principal_name:
            return "", "no_user_principal_name"
        return connection.account.user_principal_name, None

    def _own_events(self, graph: GraphClient, window: Window) -> Iterator[dict[str, Any]]:
        page: str | None = "me/calendarView"
        params: dict[str, str] | None = {
            "startDateTime": window.start.isoformat(),
            "endDateTime": window.end.isoformat(),
            "$select": "subject,start,end,showAs,isAllDay,isCancelled",
            "$top": "250",
        }
        while page:
            answer = graph.request("GET", page, params=params, headers=_UTC)
            for event in answer.get("value", []):
                if event.get("isCancelled") or event.get("showAs") == "free":
                    continue
                yield {
                    "title": event.get("subject") or "",
                    "start": parse_graph_date_time(event["start"]).isoformat(),
                    "end": parse_graph_date_time(event["end"]).isoformat(),
                    "showAs": event.get("showAs", "busy"),
                    "isAllDay": bool(event.get("isAllDay")),
                    "colour": "blue",
                }
            page, params = answer.get("@odata.nextLink"), None

    def _schedules_of(
        self, graph: GraphClient, addresses: list[str], window: Window
    ) -> list[dict[str, Any]]:
        """One getSchedule for the chunk. Where Graph refuses the whole call as a bad request,
        one per attendee, so one address it cannot take does not hide everyone else's time;
        where it fails otherwise, those attendees are shown as unavailable, not the whole page."""
        try:
            return self._schedule_chunk(graph, addresses, window)
        except GraphError as error:
            if error.status != 400 or len(addresses) == 1:
                logger.warning("getSchedule for %d attendees failed: %s", len(addresses), error)
                return [_failed_schedule(address, error) for address in addresses]
            return [s for a in addresses for s in self._schedules_of(graph, [a], window)]

    def _schedule_chunk(
        self, graph: GraphClient, addresses: list[str], window: Window
    ) -> list[dict[str, Any]]:
        body = {
            "schedules": addresses,
            "startTime": _utc(window.start),
            "endTime": _utc(window.end),
            "availabilityViewInterval": 15,
        }
        answer = graph.request("POST", "me/calendar/getSchedule", body=body, headers=_UTC)
        return list(answer.get("value", []))


def _utc(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _failed_schedule(address: str, error: GraphError) -> dict[str, Any]:
    """A getSchedule call Graph refused, shaped as the per-schedule error Graph returns."""
    problem = "" if error.transient else f"{error.code} {error.message}"
    return {"scheduleId": address, "error": {"responseCode": problem, "message": ""}}


def _attendee_answer(ref: AttendeeRef, schedule: dict[str, Any]) -> dict[str, Any]:
    error = schedule.get("error")
    if error:
        return _blocked(ref, _problem_of(error), email=schedule.get("scheduleId"))
    busy = [
        {
            "start": parse_graph_date_time(item["start"]).isoformat(),
            "end": parse_graph_date_time(item["end"]).isoformat(),
            "status": item.get("status"),
            "colour": "green",
        }
        for item in schedule.get("scheduleItems", [])
        if item.get("status") in _BUSY
    ]  # only these four keys: subject, location and privacy flags are dropped here
    return {
        "attendee": ref.label,
        "email": schedule.get("scheduleId"),
        "status": "ok",
        "busy": busy,
    }


def _problem_of(error: dict[str, Any]) -> str:
    code = f"{error.get('responseCode', '')} {error.get('message', '')}"
    if "NoFreeBusyAccess" in code or "FreeBusyAccessDenied" in code:
        return "sharing_none"
    if "MailboxNotEnabled" in code or "OnPremises" in code:
        return "mailbox_on_premises"
    if "5009" in code or "RecipientNotFound" in code or "resolve" in code:
        return "not_found"
    return "unavailable"


def _blocked(ref: AttendeeRef, problem: str, email: str | None = None) -> dict[str, Any]:
    name = ref.email or ref.user_id or "This attendee"
    return {
        "attendee": ref.label,
        "email": email or ref.email,
        "status": problem,
        "message": MESSAGES[problem].format(name=name),
        "busy": [],
    }
