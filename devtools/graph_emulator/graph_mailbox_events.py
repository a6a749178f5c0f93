"""Events, calendarView and getSchedule on the user's mailbox (`/me/...`, `/users/{id}/...`).

Bodies are checked against Graph's schema; answers use UTC (the app sends
`Prefer: outlook.timezone="UTC"`). See README.md for what is simplified.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Response

from devtools.graph_emulator import odata, prefer
from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.graph_api import GraphRequest, GraphRoutes
from devtools.graph_emulator.graph_calendar import CALENDAR_READ
from devtools.graph_emulator.mailboxes import (
    Mailboxes,
    event_end,
    event_start,
    graph_time,
    parse_graph_time,
)
from devtools.graph_emulator.schema import validate_body
from devtools.graph_emulator.state import EmulatorState

CALENDAR_WRITE = ("Calendars.ReadWrite", "Calendars.ReadWrite.Shared")
MAX_SCHEDULES = 20
MAX_SCHEDULE_WINDOW = timedelta(days=62)
DEFAULT_PAGE = 10
_STATUS_DIGIT = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}


def mailboxes_of(state: EmulatorState) -> Mailboxes:
    """The state's mailboxes, created (and registered for reset) on first use."""
    existing = getattr(state, "mailboxes", None)
    if existing is None:
        existing = Mailboxes(state.directory, state.clock)
        state.mailboxes = existing  # type: ignore[attr-defined]
        state.register_store(existing)
    return existing


def register(routes: GraphRoutes, state: EmulatorState) -> None:
    mailboxes_of(state)
    write = {"self_scopes": CALENDAR_WRITE, "mailbox": True}
    routes.add_for_user("/events", create_event, ["POST"], **write)
    routes.add_for_user(
        "/events/<event_id>", get_event, ["GET"], self_scopes=CALENDAR_READ, mailbox=True
    )
    routes.add_for_user("/events/<event_id>", update_event, ["PATCH"], **write)
    routes.add_for_user("/events/<event_id>", delete_event, ["DELETE"], **write)
    routes.add_for_user("/events/<event_id>/cancel", cancel_event, ["POST"], **write)
    routes.add_for_user(
        "/calendarView", calendar_view, ["GET"], self_scopes=CALENDAR_READ, mailbox=True
    )
    routes.add_for_user(
        "/calendar/getSchedule", get_schedule, ["POST"], self_scopes=CALENDAR_READ, mailbox=True
    )


def _not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def _event_body(request: GraphRequest) -> dict[str, Any]:
    body = request.json_body()
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    validate_body("event", body)
    return body


def _answer(request: GraphRequest, event: dict[str, Any], status: int = 200) -> Response:
    shown = {k: v for k, v in event.items() if k != "transactionId" or v}
    return request.respond(
        odata.selected(shown, request.select(), "event"),
        status=status,
        headers=request.prefer.applied(prefer.IMMUTABLE_ID, prefer.OUTLOOK_TIMEZONE),
    )


def create_event(request: GraphRequest, target: DirectoryUser) -> Response:
    body = _event_body(request)
    for key in ("start", "end"):
        if not isinstance(body.get(key), dict) or "dateTime" not in body[key]:
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                f"Your request can't be completed. The {key} time is missing.",
            )
    if parse_graph_time(body["end"]) < parse_graph_time(body["start"]):
        raise GraphError(400, "ErrorInvalidRequest", "The end time must be after the start time.")
    event, _ = mailboxes_of(request.state).create(target, body, request.graph_base_url)
    return _answer(request, event, 201)


def get_event(request: GraphRequest, target: DirectoryUser, event_id: str) -> Response:
    event = mailboxes_of(request.state).event(target, event_id)
    if event is None:
        raise _not_found()
    return _answer(request, event)


def update_event(request: GraphRequest, target: DirectoryUser, event_id: str) -> Response:
    body = _event_body(request)
    updated = mailboxes_of(request.state).update(target, event_id, body)
    if updated is None:
        raise _not_found()
    return _answer(request, updated)


def delete_event(request: GraphRequest, target: DirectoryUser, event_id: str) -> Response:
    if not mailboxes_of(request.state).delete(target, event_id):
        raise _not_found()
    return Response(status=204)


def cancel_event(request: GraphRequest, target: DirectoryUser, event_id: str) -> Response:
    body = request.json_body() or {}
    if not isinstance(body, dict) or set(body) - {"Comment", "comment"}:
        raise GraphError(
            400, "RequestBodyRead", "The parameter 'comment' is the only one cancel takes."
        )
    mailboxes = mailboxes_of(request.state)
    event = mailboxes.event(target, event_id)
    if event is None:
        raise _not_found()
    if not event["isOrganizer"]:
        raise GraphError(
            400,
            "ErrorAccessDenied",
            "Your request can't be completed. You need to be an organizer to cancel a meeting.",
        )
    mailboxes.delete(target, event_id)
    return Response(status=202)


def calendar_view(request: GraphRequest, target: DirectoryUser) -> Response:
    args = request.http.args
    if "startDateTime" not in args or "endDateTime" not in args:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters "
            "StartDateTime and EndDateTime.",
        )
    start, end = _instant(args["startDateTime"]), _instant(args["endDateTime"])
    events = sorted(
        (
            e
            for e in mailboxes_of(request.state).events(target)
            if event_start(e) < end and event_end(e) > start
        ),
        key=event_start,
    )
    top = int(args.get("$top", DEFAULT_PAGE))
    skip = int(args.get("$skip", 0))
    page = [odata.selected(e, request.select(), "event") for e in events[skip : skip + top]]
    answer: dict[str, Any] = {"value": page}
    if skip + top < len(events):
        query = {k: v for k, v in args.items() if k != "$skip"} | {"$skip": str(skip + top)}
        answer["@odata.nextLink"] = (
            f"{request.graph_base_url}{request.http.path[len('/v1.0') :]}?"
            + "&".join(f"{k}={v}" for k, v in query.items())
        )
    return request.respond(answer, headers=request.prefer.applied(prefer.OUTLOOK_TIMEZONE))


def get_schedule(request: GraphRequest, target: DirectoryUser) -> Response:
    body = request.json_body()
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    schedules = body.get("schedules") or []
    if len(schedules) > MAX_SCHEDULES:
        raise GraphError(400, "ErrorInvalidParameter", "The number of schedules can't exceed 20.")
    start, end = parse_graph_time(body["startTime"]), parse_graph_time(body["endTime"])
    if end - start >= MAX_SCHEDULE_WINDOW:
        raise GraphError(
            400,
            "ErrorInvalidTimeInterval",
            "The time duration specified for FreeBusyViewOptions.TimeWindow is invalid.",
        )
    interval = int(body.get("availabilityViewInterval") or 30)
    mailboxes = mailboxes_of(request.state)
    value = [
        _schedule(mailboxes, request, str(address), start, end, interval) for address in schedules
    ]
    return request.respond({"value": value})


def _schedule(
    mailboxes: Mailboxes,
    request: GraphRequest,
    address: str,
    start: datetime,
    end: datetime,
    interval: int,
) -> dict[str, Any]:
    user = request.state.directory.user_by_sign_in_name(address)
    if user is None:
        return {
            "scheduleId": address,
            "error": {
                "message": f"Unable to resolve e-mail address {address} to an Active Directory "
                "object.",
                "responseCode": "5009",
            },
        }
    if user.mailbox_on_premises:
        return {
            "scheduleId": address,
            "error": {
                "message": "The mailbox is hosted on-premises and can't be reached through REST.",
                "responseCode": "MailboxNotEnabledForRESTAPI",
            },
        }
    sharing = mailboxes.sharing(user)
    if sharing == "none":
        return {
            "scheduleId": address,
            "error": {
                "message": "Microsoft.Exchange.InfoWorker.Common.Availability."
                "NoFreeBusyAccessException: No free/busy access.",
                "responseCode": "ErrorNoFreeBusyAccess",
            },
        }
    items = []
    for event in sorted(mailboxes.events(user), key=event_start):
        if event["isCancelled"] or event.get("showAs") == "free":
            continue
        if not (event_start(event) < end and event_end(event) > start):
            continue
        item: dict[str, Any] = {
            "isPrivate": False,
            "status": event.get("showAs", "busy"),
            "start": graph_time(event_start(event)),
            "end": graph_time(event_end(event)),
        }
        if sharing in ("limited", "full"):
            item["subject"] = event["subject"]
            item["location"] = (event.get("location") or {}).get("displayName", "")
        items.append(item)
    slots = max(1, math.ceil((end - start) / timedelta(minutes=interval)))
    view = ["0"] * slots
    for item in items:
        first = max(0, int((parse_graph_time(item["start"]) - start) / timedelta(minutes=interval)))
        last = min(
            slots, math.ceil((parse_graph_time(item["end"]) - start) / timedelta(minutes=interval))
        )
        for slot in range(first, last):
            view[slot] = max(view[slot], _STATUS_DIGIT.get(item["status"], "2"))
    return {
        "scheduleId": address,
        "availabilityView": "".join(view),
        "scheduleItems": items,
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": "UTC"},
        },
    }


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            f"The value '{text}' of parameter 'StartDateTime' is invalid.",
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
