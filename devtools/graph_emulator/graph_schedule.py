"""`POST /me/calendar/getSchedule` (and `/users/{id}/calendar/getSchedule`): free/busy of up to
20 people over a window under 62 days, each with its own error when it cannot be read.

What another person's items show follows their free/busy sharing (control API):
`free_busy` status and times only (as Graph's documented example), `limited` and `full` also
subject and location (the default for directory members: the app must drop them itself),
`none` an `ErrorNoFreeBusyAccess` error. Private items never show subject or location to others.
The caller's own schedule is always in full. `schedules` are SMTP addresses (calendar-getschedule:
"A collection of SMTP addresses of users, distribution lists, or resources"): a person's `mail`
or another proxy address; a userPrincipalName that is no SMTP address of theirs resolves to
nobody. Errors (sources in README.md):
- an address that resolves to nobody in the caller's directory: responseCode `5009`, "Unable to
  resolve e-mail address <x> to an Active Directory object." (seen from Graph in
  microsoft-graph-docs #11225),
- an on-premises mailbox: `MailboxNotEnabledForRESTAPI` (as the REST endpoints answer).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from werkzeug.wrappers import Response

from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.event_fields import event_end, event_start
from devtools.graph_emulator.event_views import answer_zone, applied
from devtools.graph_emulator.graph_api import GraphRequest, GraphRoutes
from devtools.graph_emulator.graph_calendar import CALENDAR_READ
from devtools.graph_emulator.mailboxes import mailboxes_of
from devtools.graph_emulator.schema import validate_body
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.time_zones import in_zone, instant

MAX_SCHEDULES = 20
MAX_WINDOW = timedelta(days=62)  # the window must be shorter
DEFAULT_INTERVAL = 30
# availabilityView digits; working elsewhere counts as free ("0") for backward compatibility.
_DIGIT = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "0"}
_WORKING_HOURS = {
    "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
    "startTime": "08:00:00.0000000",
    "endTime": "17:00:00.0000000",
    "timeZone": {"name": "UTC"},
}


def register(routes: GraphRoutes, state: EmulatorState) -> None:
    mailboxes_of(state)
    routes.add_for_user(
        "/calendar/getSchedule", get_schedule, ["POST"], self_scopes=CALENDAR_READ, mailbox=True
    )


def get_schedule(request: GraphRequest, target: DirectoryUser) -> Response:
    zone_name = answer_zone(request)
    schedules, start, end, interval = _parameters(request.json_body())
    value = [
        _schedule(request.state, target, str(address), (start, end), interval, zone_name)
        for address in schedules
    ]
    context = f"{request.graph_base_url}/$metadata#Collection(microsoft.graph.scheduleInformation)"
    return request.respond({"@odata.context": context, "value": value}, headers=applied(request))


def _parameters(body: Any) -> tuple[list[Any], datetime, datetime, int]:
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    fields = {k[0].lower() + k[1:]: v for k, v in body.items()}  # `Schedules` works too
    unknown = sorted(
        set(fields) - {"schedules", "startTime", "endTime", "availabilityViewInterval"}
    )
    if unknown:
        raise GraphError(
            400,
            "RequestBodyRead",
            f"The parameter '{unknown[0]}' in the request payload is not a valid parameter for "
            "the operation 'getSchedule'.",
        )
    schedules = fields.get("schedules")
    if not isinstance(schedules, list) or not schedules:
        raise _invalid("The schedules parameter must list at least one SMTP address.")
    if not all(isinstance(s, str) for s in schedules):
        raise _invalid("The schedules parameter must list SMTP addresses.")
    if len(schedules) > MAX_SCHEDULES:
        raise _invalid(f"The number of schedules can't exceed {MAX_SCHEDULES}.")
    for name in ("startTime", "endTime"):
        if not isinstance(fields.get(name), dict):
            raise _invalid(f"The {name} parameter is missing.")
        validate_body("dateTimeTimeZone", fields[name])
    start, end = instant(fields["startTime"]), instant(fields["endTime"])
    if end <= start:
        raise _invalid("The endTime must be after the startTime.")
    if end - start >= MAX_WINDOW:
        raise GraphError(
            400,
            "ErrorTimeIntervalTooBig",
            "The time window is larger than the allowed limit: it must be less than 62 days.",
        )
    interval = fields.get("availabilityViewInterval")
    interval = DEFAULT_INTERVAL if interval is None else interval
    if not isinstance(interval, int) or isinstance(interval, bool) or not 5 <= interval <= 1440:
        raise _invalid("availabilityViewInterval must be between 5 and 1440 minutes.")
    return schedules, start, end, interval


def _schedule(
    state: EmulatorState,
    caller: DirectoryUser,
    address: str,
    window: tuple[datetime, datetime],
    interval: int,
    zone_name: str,
) -> dict[str, Any]:
    person = state.directory.user_by_smtp_address(address)
    if person is None or person.tenant_id != caller.tenant_id:
        return _error(
            address,
            f"Unable to resolve e-mail address {address} to an Active Directory object.",
            "5009",
        )
    if person.mailbox_on_premises:
        return _error(
            address,
            "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            "MailboxNotEnabledForRESTAPI",
        )
    mailboxes = mailboxes_of(state)
    own = person.object_id == caller.object_id
    sharing = "full" if own else mailboxes.sharing(person)
    if sharing == "none":
        return _error(
            address,
            "The caller does not have free/busy viewing rights on the Calendar folder in question.",
            "ErrorNoFreeBusyAccess",
        )
    events = mailboxes.instances(person, *window)
    return {
        "scheduleId": address,
        "availabilityView": _availability(events, window, interval),
        "scheduleItems": [_item(event, sharing, own, zone_name) for event in events],
        "workingHours": _WORKING_HOURS,
    }


def _item(event: dict[str, Any], sharing: str, own: bool, zone_name: str) -> dict[str, Any]:
    status = event.get("showAs") if event.get("showAs") in _DIGIT else "free"
    times = {
        "start": in_zone(event_start(event), zone_name),
        "end": in_zone(event_end(event), zone_name),
    }
    if sharing == "free_busy":
        return {"status": status, **times}
    private = event.get("sensitivity") in ("private", "confidential")
    item: dict[str, Any] = {"isPrivate": private, "status": status}
    if own or not private:
        item["subject"] = event.get("subject", "")
        item["location"] = (event.get("location") or {}).get("displayName", "")
    return {**item, **times}


def _availability(
    events: list[dict[str, Any]], window: tuple[datetime, datetime], interval: int
) -> str:
    start, end = window
    step = timedelta(minutes=interval)
    view = ["0"] * max(1, math.ceil((end - start) / step))
    for event in events:
        digit = _DIGIT.get(event.get("showAs", "busy"), "0")
        first = max(0, math.floor((event_start(event) - start) / step))
        last = min(len(view), math.ceil((event_end(event) - start) / step))
        for slot in range(first, last):
            view[slot] = max(view[slot], digit)
    return "".join(view)


def _error(address: str, message: str, code: str) -> dict[str, Any]:
    return {"scheduleId": address, "error": {"message": message, "responseCode": code}}


def _invalid(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidParameter", message)
