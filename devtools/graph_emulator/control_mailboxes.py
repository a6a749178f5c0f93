"""Control API acting as people working in Outlook: their events, edits, responses, sharing.

Under /_emulator/mailboxes/{upn}:
    GET, POST    /events                       list; create a personal event
                                               {subject, start, end, timeZone, location?, showAs?}
    PATCH        /events/{id}                  edit in Outlook {start?, end?, timeZone?,
                                               location?, subject?, isOnlineMeeting?}
    DELETE       /events/{id}                  delete in Outlook (an organiser's cancels it)
    POST         /events/{id}/respond          {response: accepted|declined|tentativelyAccepted}
    POST         /events/{id}/attendees        {email, name?}: the organiser invites someone
    PUT          /sharing                      {free_busy: none|free_busy|limited|full}
"""

from __future__ import annotations

import json
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.graph_mailbox_events import mailboxes_of
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.web import json_response

PREFIX = "/_emulator/mailboxes"
RESPONSES = ("accepted", "declined", "tentativelyAccepted")


class MailboxControl:
    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._map = Map(
            [
                Rule(f"{PREFIX}/<upn>/events", endpoint="events", methods=["GET", "POST"]),
                Rule(
                    f"{PREFIX}/<upn>/events/<event_id>",
                    endpoint="event",
                    methods=["PATCH", "DELETE"],
                ),
                Rule(
                    f"{PREFIX}/<upn>/events/<event_id>/respond",
                    endpoint="respond",
                    methods=["POST"],
                ),
                Rule(
                    f"{PREFIX}/<upn>/events/<event_id>/attendees",
                    endpoint="invite",
                    methods=["POST"],
                ),
                Rule(f"{PREFIX}/<upn>/sharing", endpoint="sharing", methods=["PUT"]),
            ]
        )

    def handle(self, request: Request) -> Response:
        try:
            endpoint, values = self._map.bind("control").match(request.path, request.method)
            user = self._state.directory.user_by_sign_in_name(values.pop("upn"))
            if user is None:
                return json_response({"error": "no such mailbox"}, status=404)
            return getattr(self, f"_{endpoint}")(request, user, **values)
        except HTTPException as error:
            return json_response({"error": error.description}, status=error.code or 400)
        except (ValueError, TypeError, KeyError) as error:
            return json_response({"error": f"bad request: {error}"}, status=400)

    @property
    def _mailboxes(self):  # type: ignore[no-untyped-def]
        return mailboxes_of(self._state)

    def _events(self, request: Request, user: DirectoryUser) -> Response:
        if request.method == "GET":
            return json_response({"value": self._mailboxes.events(user)})
        body = _body(request)
        zone = body.get("timeZone", "UTC")
        event, _ = self._mailboxes.create(
            user,
            {
                "subject": body["subject"],
                "start": {"dateTime": body["start"], "timeZone": zone},
                "end": {"dateTime": body["end"], "timeZone": zone},
                "location": {"displayName": body.get("location", "")},
                "showAs": body.get("showAs", "busy"),
            },
            "",
        )
        return json_response(event, status=201)

    def _event(self, request: Request, user: DirectoryUser, event_id: str) -> Response:
        if request.method == "DELETE":
            found = self._mailboxes.delete(user, event_id)
            return Response(status=204 if found else 404)
        body = _body(request)
        zone = body.pop("timeZone", "UTC")
        changes: dict[str, Any] = {}
        for key in ("start", "end"):
            if key in body:
                changes[key] = {"dateTime": body[key], "timeZone": zone}
        if "location" in body:
            changes["location"] = {"displayName": body["location"]}
        for key in ("subject", "isOnlineMeeting"):
            if key in body:
                changes[key] = body[key]
        updated = self._mailboxes.update(user, event_id, changes)
        return (
            json_response(updated)
            if updated
            else json_response({"error": "no such event"}, status=404)
        )

    def _respond(self, request: Request, user: DirectoryUser, event_id: str) -> Response:
        response = _body(request)["response"]
        if response not in RESPONSES:
            raise ValueError(f"response must be one of {RESPONSES}")
        answered = self._mailboxes.respond(user, event_id, response)
        return (
            json_response(answered)
            if answered
            else json_response({"error": "no such invitation"}, status=404)
        )

    def _invite(self, request: Request, user: DirectoryUser, event_id: str) -> Response:
        body = _body(request)
        event = self._mailboxes.event(user, event_id)
        if event is None or not event["isOrganizer"]:
            return json_response({"error": "no such meeting organised by this mailbox"}, status=404)
        address = {"address": body["email"], **({"name": body["name"]} if body.get("name") else {})}
        attendees = [*event["attendees"], {"type": "required", "emailAddress": address}]
        return json_response(self._mailboxes.update(user, event_id, {"attendees": attendees}))

    def _sharing(self, request: Request, user: DirectoryUser) -> Response:
        level = _body(request)["free_busy"]
        self._mailboxes.set_sharing(user, level)
        return json_response({"mailbox": user.mail, "free_busy": level})


def _body(request: Request) -> dict[str, Any]:
    data = json.loads(request.get_data(as_text=True) or "{}")
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data
