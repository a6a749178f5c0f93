"""Events in the user's calendar: `POST /me/events`, `GET | PATCH | DELETE /me/events/{id}`,
`POST /me/events/{id}/cancel` and `GET /me/events/{id}/instances` (also under `/users/{id}`).

Bodies are checked against Graph's schema; answers follow `Prefer: outlook.timezone`. The store
(mailboxes.py) does what Exchange does with meetings: invitations, updates, cancellations. An
occurrence's id works for GET, PATCH (it becomes an exception), DELETE and cancel (that
occurrence only), as event-update / event-delete / event-cancel allow for any event id.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from devtools.graph_emulator import event_ids
from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.event_views import answer_zone, applied, shown
from devtools.graph_emulator.graph_api import GraphRequest, GraphRoutes
from devtools.graph_emulator.graph_calendar import CALENDAR_READ
from devtools.graph_emulator.graph_calendar_view import required_window
from devtools.graph_emulator.mailboxes import (
    CalendarError,
    NotOrganizer,
    OccurrenceReadOnly,
    mailboxes_of,
)
from devtools.graph_emulator.schema import validate_body
from devtools.graph_emulator.state import EmulatorState

__all__ = ["CALENDAR_WRITE", "mailboxes_of", "register"]

CALENDAR_WRITE = ("Calendars.ReadWrite", "Calendars.ReadWrite.Shared")


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
        "/events/<event_id>/instances",
        list_instances,
        ["GET"],
        self_scopes=CALENDAR_READ,
        mailbox=True,
    )


def create_event(request: GraphRequest, target: DirectoryUser) -> Response:
    zone_name = answer_zone(request)
    # A repeated transactionId answers 201 with the event the first POST made.
    event, _ = mailboxes_of(request.state).create(target, _event_body(request))
    return _answer(request, target, event, zone_name, status=201)


def get_event(request: GraphRequest, target: DirectoryUser, event_id: str) -> Response:
    zone_name = answer_zone(request)
    mailboxes = mailboxes_of(request.state)
    event = mailboxes.event(target, _checked(event_id))
    if event is None:
        raise not_found()
    if "cancelledOccurrences" in (request.select() or ()):
        # Returned only when selected, and for a series master only (event resource).
        event["cancelledOccurrences"] = mailboxes.cancelled_occurrences(target, event_id) or []
    return _answer(request, target, event, zone_name)


def list_instances(request: GraphRequest, target: DirectoryUser, event_id: str) -> Response:
    """The occurrences and exceptions of a series in a window, not the cancelled ones
    (event-list-instances; `startDateTime` and `endDateTime` are required)."""
    zone_name = answer_zone(request)
    start, end = required_window(request)
    mailboxes = mailboxes_of(request.state)
    master = mailboxes.event(target, _checked(event_id))
    if master is None:
        raise not_found()
    found = [
        shown(e, zone_name, request.select())
        for e in mailboxes.instances(target, start, end)
        if e.get("seriesMasterId") == event_id
    ]
    context = f"{request.graph_base_url}/$metadata#Collection(event)"
    return request.respond({"@odata.context": context, "value": found}, headers=applied(request))


def update_event(request: GraphRequest, target: DirectoryUser, event_id: str) -> Response:
    zone_name = answer_zone(request)
    body = _event_body(request)
    try:
        event = mailboxes_of(request.state).update(target, _checked(event_id), body)
    except CalendarError as error:
        raise graph_error(error) from error
    return _answer(request, target, event, zone_name)


def delete_event(request: GraphRequest, target: DirectoryUser, event_id: str) -> Response:
    try:
        mailboxes_of(request.state).delete(target, _checked(event_id))
    except CalendarError as error:
        raise graph_error(error) from error
    return Response(status=204, headers=request.ids.headers())


def cancel_event(request: GraphRequest, target: DirectoryUser, event_id: str) -> Response:
    body = request.json_body()
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    # The one action parameter, `comment` (the documented example spells it `Comment`).
    unknown = sorted(k for k in body if k.lower() != "comment")
    if unknown:
        raise GraphError(
            400,
            "RequestBodyRead",
            f"The parameter '{unknown[0]}' in the request payload is not a valid parameter for "
            "the operation 'cancel'.",
        )
    if not all(isinstance(v, str | None) for v in body.values()):
        raise GraphError(
            400,
            "RequestBodyRead",
            "Cannot convert a value to the expected type 'Edm.String' of the parameter 'comment'.",
        )
    try:
        mailboxes_of(request.state).cancel(target, _checked(event_id))
    except CalendarError as error:
        raise graph_error(error) from error
    return Response(status=202, headers=request.ids.headers())


def not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def graph_error(error: CalendarError) -> GraphError:
    if isinstance(error, NotOrganizer):
        return GraphError(
            400,
            "ErrorAccessDenied",
            "Your request can't be completed. You need to be an organizer to cancel a meeting.",
        )
    if isinstance(error, OccurrenceReadOnly):
        return GraphError(
            501,
            "NotImplemented",
            "The emulator does not take responses or invitations for a single occurrence of a "
            "series; use the series master.",
        )
    return not_found()


def _checked(event_id: str) -> str:
    if not event_ids.well_formed(event_id):
        raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
    return event_id


def _event_body(request: GraphRequest) -> dict[str, Any]:
    body = request.json_body()
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "Empty Payload. JSON content expected.")
    validate_body("event", body)
    return body


def _answer(
    request: GraphRequest,
    target: DirectoryUser,
    event: dict[str, Any],
    zone_name: str,
    status: int = 200,
) -> Response:
    select = request.select()
    context = f"{request.graph_base_url}/$metadata#users('{target.object_id}')/events"
    if select:
        context += f"({','.join(select)})"
    body = {"@odata.context": f"{context}/$entity", **shown(event, zone_name, select)}
    return request.respond(body, status=status, headers=applied(request))
