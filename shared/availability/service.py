"""Availability while scheduling: the caller's own events with titles, attendees' busy time.

Own events come from calendarView (titles, blue). Attendees come from one getSchedule per 20
addresses (Graph's limit) and are reduced to status and times only (green): whatever Graph
returns, no attendee's subject, location or body ever leaves this module.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from shared.caller import Caller
from shared.connections.model import Connection
from shared.conversations.requests import Window
from shared.conversations.time_zones import parse_graph_date_time
from shared.errors import (
    ErrorCode,
    InvalidRequest,
    NotConnected,
    OutlookUnavailable,
    ReconnectRequired,
)
from shared.graph.errors import GraphError
from shared.graph.headers import prefer_header
from shared.limits import (
    MAX_ATTENDEE_NAME,
    MAX_ATTENDEES,
    MAX_ATTENDEES_QUERY,
    MAX_AVAILABILITY_DAYS,
    MAX_HOST_ID,
)

if TYPE_CHECKING:
    from shared.directory import KnownPerson
    from shared.graph.client import GraphClient

logger = logging.getLogger(__name__)

SCHEDULES_PER_CALL = 20  # getSchedule's limit
MAILBOX_CONCURRENCY = 4  # Outlook's concurrent requests per app and mailbox
MAX_WINDOW_DAYS = MAX_AVAILABILITY_DAYS
_BUSY = {"busy", "tentative", "oof", "workingElsewhere"}


class AttendeeStatus(StrEnum):
    OK = "ok"
    NOT_CONNECTED = "not_connected"
    RECONNECT_REQUIRED = "reconnect_required"
    SHARING_NONE = "sharing_none"
    NOT_FOUND = "not_found"
    # The app holds no address to ask Outlook by: neither a UPN nor a `mail` on record for the
    # connection (saved before `mail` was kept, or a profile answer with neither). The code keeps
    # its original name for API compatibility; reconnecting stores the addresses again.
    NO_USER_PRINCIPAL_NAME = "no_user_principal_name"
    MAILBOX_ON_PREMISES = "mailbox_on_premises"
    UNAVAILABLE = "unavailable"  # Outlook could not answer for them just now


@dataclass(frozen=True)
class AttendeeRef:
    """An attendee as the host app names them: a host-app user id, or an email address."""

    user_id: str | None = None
    email: str | None = None

    @property
    def label(self) -> str:
        return self.user_id or self.email or "?"


@dataclass(frozen=True)
class OwnEvent:
    title: str
    start: datetime
    end: datetime
    show_as: str
    all_day: bool


@dataclass(frozen=True)
class Busy:
    start: datetime
    end: datetime
    status: str  # busy, tentative, oof or workingElsewhere


@dataclass(frozen=True)
class AttendeeAvailability:
    ref: AttendeeRef
    email: str | None
    status: AttendeeStatus
    busy: tuple[Busy, ...] = ()
    name: str | None = None  # their display name, when the app knows them


@dataclass(frozen=True)
class Resolved:
    """Whom an attendee names: the SMTP address to ask getSchedule for, or why not."""

    address: str
    problem: AttendeeStatus | None
    name: str | None


@dataclass(frozen=True)
class Availability:
    window: Window
    events: list[OwnEvent]
    attendees: list[AttendeeAvailability]  # in the order asked, each once


def attendees_asked(raw: str) -> list[AttendeeRef]:
    """`attendees=` of the query: comma-separated host-app user ids or email addresses."""
    if len(raw) > MAX_ATTENDEES_QUERY:
        raise InvalidRequest(
            f"attendees may be at most {MAX_ATTENDEES_QUERY} characters.",
            ErrorCode.INVALID_ATTENDEES,
        )
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if len(names) > MAX_ATTENDEES:
        raise InvalidRequest(f"At most {MAX_ATTENDEES} attendees.", ErrorCode.TOO_MANY_ATTENDEES)
    if any(len(name) > (MAX_ATTENDEE_NAME if "@" in name else MAX_HOST_ID) for name in names):
        raise InvalidRequest(  # a storage key could not hold it
            f"An attendee is a user id of at most {MAX_HOST_ID} characters or an email address "
            f"of at most {MAX_ATTENDEE_NAME}.",
            ErrorCode.INVALID_ATTENDEES,
        )
    return [
        AttendeeRef(email=name) if "@" in name else AttendeeRef(user_id=name)
        for name in dict.fromkeys(names)
    ]


class Connections(Protocol):
    def connection_of(self, org_id: str, user_id: str) -> Connection | None: ...

    def graph_for(self, org_id: str, user_id: str) -> GraphClient: ...


class People(Protocol):
    def person(self, org_id: str, user_id: str) -> KnownPerson | None: ...

    def user_with_mail(self, org_id: str, mail: str) -> str | None: ...


class AvailabilityService:
    def __init__(self, connections: Connections, people: People) -> None:
        self._connections = connections
        self._people = people

    def availability(
        self, caller: Caller, window: Window, attendees: list[AttendeeRef]
    ) -> Availability:
        try:
            graph = self._connections.graph_for(caller.org_id, caller.user_id)
        except (NotConnected, ReconnectRequired) as error:
            raise type(error)("Connect your Outlook calendar to see availability.") from error
        answers: dict[str, AttendeeAvailability] = {}
        lookups: dict[str, list[tuple[AttendeeRef, str | None]]] = {}
        for ref in attendees:
            resolved = self._resolve(caller, ref)
            if resolved.problem is not None:
                answers[ref.label] = AttendeeAvailability(
                    ref, ref.email, resolved.problem, name=resolved.name
                )
            else:  # the same person asked for by id and by email: asked once, answered alike
                lookups.setdefault(resolved.address.lower(), []).append((ref, resolved.name))
        addresses = list(lookups)
        chunks = [
            addresses[i : i + SCHEDULES_PER_CALL]
            for i in range(0, len(addresses), SCHEDULES_PER_CALL)
        ]
        try:
            # Own events and the getSchedule chunks in parallel (Outlook: 4 at once per mailbox).
            with ThreadPoolExecutor(max_workers=MAILBOX_CONCURRENCY) as pool:
                own_future = pool.submit(_own_events, graph, window)
                schedule_futures = [
                    pool.submit(self._schedules_of, graph, chunk, window) for chunk in chunks
                ]
                own = own_future.result()
                schedules = [s for future in schedule_futures for s in future.result()]
        except GraphError as error:
            if error.transient:
                raise OutlookUnavailable(
                    "Outlook is busy; try again in a moment.", error.retry_after
                ) from error
            raise
        for schedule in schedules:
            for ref, name in lookups.get(str(schedule.get("scheduleId", "")).lower(), []):
                answers[ref.label] = replace(_attendee_answer(ref, schedule), name=name)
        for address, refs in lookups.items():
            for ref, name in refs:
                answers.setdefault(
                    ref.label,
                    AttendeeAvailability(ref, address, AttendeeStatus.NOT_FOUND, name=name),
                )
        asked = [answers[ref.label] for ref in attendees if ref.label in answers]
        return Availability(window, own, asked)

    def _resolve(self, caller: Caller, ref: AttendeeRef) -> Resolved:
        """A host-app user (by id, or by the address Graph gave them when they connected) is
        asked for by their connection's SMTP address, `mail`, never their userPrincipalName
        (getSchedule resolves SMTP addresses only); an id the app never met is not found; any
        other address is Outlook's to answer."""
        user_id = ref.user_id
        if user_id is None:
            user_id = self._people.user_with_mail(caller.org_id, str(ref.email))
            if user_id is None:
                return Resolved(str(ref.email), None, None)
        connection = self._connections.connection_of(caller.org_id, user_id)
        person = self._people.person(caller.org_id, user_id)
        if connection is not None:
            name = connection.account.display_name or (person.display_name if person else None)
        else:
            name = person.display_name if person else None
        if connection is None:
            known = person is not None
            return Resolved(
                "", AttendeeStatus.NOT_CONNECTED if known else AttendeeStatus.NOT_FOUND, name
            )
        if connection.needs_reconnect:
            return Resolved("", AttendeeStatus.RECONNECT_REQUIRED, name)
        address = connection.account.smtp_address
        if not address:
            return Resolved("", AttendeeStatus.NO_USER_PRINCIPAL_NAME, name)
        return Resolved(address, None, name)

    def _schedules_of(
        self, graph: GraphClient, addresses: list[str], window: Window
    ) -> list[dict[str, Any]]:
        """One getSchedule for the chunk. Where Graph refuses the whole call as a bad request,
        one per attendee, so one address it cannot take does not hide everyone else's time;
        where it fails otherwise, those attendees are shown as unavailable, not the whole page."""
        try:
            return _schedule_chunk(graph, addresses, window)
        except GraphError as error:
            if error.status != 400 or len(addresses) == 1:
                logger.warning("getSchedule for %d attendees failed: %s", len(addresses), error)
                return [_failed_schedule(address, error) for address in addresses]
            return [s for a in addresses for s in self._schedules_of(graph, [a], window)]


def _own_events(graph: GraphClient, window: Window) -> list[OwnEvent]:
    page: str | None = "me/calendarView"
    params: dict[str, str] | None = {
        "startDateTime": window.start.isoformat(),
        "endDateTime": window.end.isoformat(),
        "$select": "subject,start,end,showAs,isAllDay,isCancelled",
        "$top": "250",
    }
    events = []
    while page:
        answer = graph.request("GET", page, params=params, headers=prefer_header(utc=True))
        for event in answer.get("value", []):
            if event.get("isCancelled") or event.get("showAs") == "free":
                continue
            events.append(
                OwnEvent(
                    title=event.get("subject") or "",
                    start=parse_graph_date_time(event["start"]),
                    end=parse_graph_date_time(event["end"]),
                    show_as=event.get("showAs", "busy"),
                    all_day=bool(event.get("isAllDay")),
                )
            )
        page, params = answer.get("@odata.nextLink"), None
    return events


def _schedule_chunk(
    graph: GraphClient, addresses: list[str], window: Window
) -> list[dict[str, Any]]:
    body = {
        "schedules": addresses,
        "startTime": _utc(window.start),
        "endTime": _utc(window.end),
        "availabilityViewInterval": 15,
    }
    answer = graph.request(
        "POST", "me/calendar/getSchedule", body=body, headers=prefer_header(utc=True)
    )
    return list(answer.get("value", []))


def _utc(moment: datetime) -> dict[str, str]:
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _failed_schedule(address: str, error: GraphError) -> dict[str, Any]:
    """A getSchedule call Graph refused, shaped as the per-schedule error Graph returns."""
    problem = "" if error.transient else f"{error.code} {error.message}"
    return {"scheduleId": address, "error": {"responseCode": problem, "message": ""}}


def _attendee_answer(ref: AttendeeRef, schedule: dict[str, Any]) -> AttendeeAvailability:
    email = schedule.get("scheduleId")
    error = schedule.get("error")
    if error:
        return AttendeeAvailability(ref, email, _problem_of(error))
    busy = tuple(
        Busy(
            parse_graph_date_time(item["start"]),
            parse_graph_date_time(item["end"]),
            item["status"],
        )
        for item in schedule.get("scheduleItems", [])
        if item.get("status") in _BUSY
    )  # only these: subject, location and privacy flags are dropped here
    return AttendeeAvailability(ref, email, AttendeeStatus.OK, busy)


def _problem_of(error: dict[str, Any]) -> AttendeeStatus:
    code = f"{error.get('responseCode', '')} {error.get('message', '')}"
    if "NoFreeBusyAccess" in code or "FreeBusyAccessDenied" in code:
        return AttendeeStatus.SHARING_NONE
    if "MailboxNotEnabled" in code or "OnPremises" in code:
        return AttendeeStatus.MAILBOX_ON_PREMISES
    if "5009" in code or "RecipientNotFound" in code or "resolve" in code:
        return AttendeeStatus.NOT_FOUND
    return AttendeeStatus.UNAVAILABLE
