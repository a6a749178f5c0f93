"""Control API acting as people working in Outlook: their events, edits, responses, sharing.

Under /_emulator/mailboxes/{upn or mail}:
    GET     /events                  the mailbox's stored items (single events, series masters,
                                     meeting copies), as Graph objects with UTC times
    POST    /events                  create an event {subject, start, end, timeZone?, location?,
                                     showAs?, sensitivity?, isOnlineMeeting?, body?, recurrence?,
                                     attendees?: [{email, name?}]}; times are wall-clock in
                                     `timeZone` (Windows or IANA, default UTC)
    PATCH   /events/{id}             edit as the owner {start?, end?, timeZone?, location?,
                                     subject?, isOnlineMeeting?, showAs?, sensitivity?,
                                     recurrence?}: an organiser's edit reaches attendees; Teams
                                     can be removed. A series master's id edits the whole series
                                     (a new time or pattern drops its exceptions); an
                                     occurrence's id that occurrence only (an exception)
    DELETE  /events/{id}             delete (an organiser's delete cancels for the attendees);
                                     an occurrence's id deletes that occurrence only
    GET     /events/{id}/instances?start=&end=
                                     a series' occurrences and exceptions in [start, end) (UTC
                                     ISO 8601), with the ids to edit or delete one of them
    POST    /events/{id}/respond     {response: accepted | declined | tentativelyAccepted,
                                      proposedNewTime?: {start, end, timeZone?}}: an
                                     attendee answers their copy; with declined or tentative,
                                     Outlook's "Propose new time" (wall-clock in timeZone)
    POST    /events/{id}/attendees   {email, name?}: the organiser invites someone
    GET|PUT /sharing                 {free_busy: none | free_busy | limited | full}
    GET|PUT /online-meetings         {allowed_providers?: [] | ["teamsForBusiness"],
                                      join_url_delay_seconds?: number | null}: what the
                                     calendar allows, and how long a new Teams meeting's join
                                     URL takes to appear (null: at once, the default)
    GET     /changes?since=N         the mailbox's change feed after sequence N
Errors answer `{"error": "..."}` with 400, 403, 404 or 409.
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.mailboxes import (
    CalendarError,
    EventNotFound,
    IsOrganizer,
    Mailboxes,
    NotOrganizer,
    mailboxes_of,
)
from devtools.graph_emulator.schema import validate_body
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.time_zones import instant, query_instant, utc_value
from devtools.graph_emulator.web import json_response

PREFIX = "/_emulator/mailboxes"
_COPIED = ("subject", "showAs", "sensitivity", "isOnlineMeeting", "recurrence", "categories")


class OutlookControl:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        p = f"{PREFIX}/<upn>"
        self._map = Map(
            [
                Rule(f"{p}/events", endpoint="events", methods=["GET", "POST"]),
                Rule(f"{p}/events/<event_id>", endpoint="event", methods=["PATCH", "DELETE"]),
                Rule(f"{p}/events/<event_id>/instances", endpoint="instances", methods=["GET"]),
                Rule(f"{p}/events/<event_id>/respond", endpoint="respond", methods=["POST"]),
                Rule(f"{p}/events/<event_id>/attendees", endpoint="invite", methods=["POST"]),
                Rule(f"{p}/sharing", endpoint="sharing", methods=["GET", "PUT"]),
                Rule(f"{p}/online-meetings", endpoint="online_meetings", methods=["GET", "PUT"]),
                Rule(f"{p}/changes", endpoint="changes", methods=["GET"]),
            ],
            strict_slashes=False,
        )

    def handle(self, request: Request) -> Response:
        try:
            endpoint, values = self._map.bind("control").match(request.path, request.method)
            user = self._state.directory.user_by_sign_in_name(values.pop("upn"))
            if user is None:
                return json_response({"error": "no such mailbox in the directory"}, status=404)
            if user.mailbox_on_premises:
                return json_response(
                    {"error": "this mailbox is on premises, not in Exchange Online"}, status=404
                )
            return getattr(self, f"_{endpoint}")(request, user, **values)
        except HTTPException as error:
            return json_response({"error": error.description}, status=error.code or 400)
        except EventNotFound:
            return json_response({"error": "no such event in this mailbox"}, status=404)
        except NotOrganizer:
            return json_response({"error": "only the organiser can do that"}, status=403)
        except IsOrganizer:
            return json_response({"error": "the organiser does not respond"}, status=409)
        except CalendarError as error:
            return json_response({"error": f"not supported: {type(error).__name__}"}, status=400)
        except GraphError as error:
            return json_response({"error": f"{error.code}: {error.message}"}, status=400)
        except (ValueError, TypeError, KeyError) as error:
            return json_response({"error": f"bad request: {error}"}, status=400)

    @property
    def _mailboxes(self) -> Mailboxes:
        return mailboxes_of(self._state)

    def _events(self, request: Request, user: DirectoryUser) -> Response:
        if request.method == "GET":
            return json_response({"value": self._mailboxes.events(user)})
        body = _body(request)
        event = _times(body) | {k: body[k] for k in _COPIED if k in body}
        event["subject"] = str(body["subject"])
        if "location" in body:
            event["location"] = {"displayName": str(body["location"])}
        if "body" in body:
            event["body"] = {"contentType": "text", "content": str(body["body"])}
        if "attendees" in body:
            event["attendees"] = [_attendee(a) for a in body["attendees"]]
        validate_body("event", event)
        created, _ = self._mailboxes.create(user, event)
        return json_response(created, status=201)

    def _event(self, request: Request, user: DirectoryUser, event_id: str) -> Response:
        if request.method == "DELETE":
            self._mailboxes.delete(user, event_id)
            return Response(status=204)
        body = _body(request)
        changes = _times(body, required=False) | {k: body[k] for k in _COPIED if k in body}
        if "location" in body:
            changes["location"] = {"displayName": str(body["location"])}
        validate_body("event", changes)
        updated = self._mailboxes.update(user, event_id, changes, in_outlook=True)
        return json_response(updated)

    def _instances(self, request: Request, user: DirectoryUser, event_id: str) -> Response:
        start = query_instant(str(request.args["start"]), "start")
        end = query_instant(str(request.args["end"]), "end")
        if self._mailboxes.event(user, event_id) is None:
            raise EventNotFound(event_id)
        found = [
            e
            for e in self._mailboxes.instances(user, start, end)
            if e.get("seriesMasterId") == event_id
        ]
        return json_response({"value": found})

    def _respond(self, request: Request, user: DirectoryUser, event_id: str) -> Response:
        body = _body(request)
        response = str(body["response"])
        proposed = body.get("proposedNewTime")
        slot = None
        if proposed is not None:
            if not isinstance(proposed, dict):
                raise ValueError("proposedNewTime must be {start, end, timeZone?}")
            times = _times(proposed)
            start, end = instant(times["start"]), instant(times["end"])
            if end <= start:
                raise ValueError("proposedNewTime must end after it starts")
            slot = {"start": utc_value(start), "end": utc_value(end)}  # Graph's timeSlot
        return json_response(self._mailboxes.respond(user, event_id, response, slot))

    def _invite(self, request: Request, user: DirectoryUser, event_id: str) -> Response:
        body = _body(request)
        name = str(body["name"]) if body.get("name") else None
        return json_response(self._mailboxes.invite(user, event_id, str(body["email"]), name))

    def _sharing(self, request: Request, user: DirectoryUser) -> Response:
        if request.method == "PUT":
            self._mailboxes.set_sharing(user, str(_body(request)["free_busy"]))
        return json_response({"mailbox": user.mail, "free_busy": self._mailboxes.sharing(user)})

    def _online_meetings(self, request: Request, user: DirectoryUser) -> Response:
        if request.method == "PUT":
            body = _body(request)
            changes: dict[str, Any] = {}
            if "allowed_providers" in body:
                providers = body["allowed_providers"]
                if providers is not None and not set(providers) <= {"teamsForBusiness"}:
                    raise ValueError('allowed_providers: [] or ["teamsForBusiness"] (or null)')
                changes["providers"] = None if providers is None else tuple(providers)
            if "join_url_delay_seconds" in body:
                delay = body["join_url_delay_seconds"]
                changes["join_url_delay"] = None if delay is None else float(delay)
            self._mailboxes.set_online_meetings(user, **changes)
        current = self._mailboxes.online_meetings(user)
        return json_response(
            {
                "mailbox": user.mail,
                "allowed_providers": list(current.providers or ()),
                "join_url_delay_seconds": current.join_url_delay,
            }
        )

    def _changes(self, request: Request, user: DirectoryUser) -> Response:
        after = int(request.args.get("since", "0"))
        changes = [
            {
                "sequence": c.sequence,
                "mailbox": c.mailbox,
                "event_id": c.event_id,
                "change_type": c.change_type,
                "at": c.at.isoformat(),
            }
            for c in self._mailboxes.changes(user.object_id, after)
        ]
        return json_response({"value": changes, "position": self._mailboxes.position()})


def _times(body: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    zone_name = str(body.get("timeZone") or "UTC")
    keys = ("start", "end") if required else [k for k in ("start", "end") if k in body]
    return {k: {"dateTime": str(body[k]), "timeZone": zone_name} for k in keys}


def _attendee(value: dict[str, Any]) -> dict[str, Any]:
    address = {"address": str(value["email"])}
    if value.get("name"):
        address["name"] = str(value["name"])
    return {"type": str(value.get("type") or "required"), "emailAddress": address}


def _body(request: Request) -> dict[str, Any]:
    data = json.loads(request.get_data(as_text=True) or "{}")
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data
