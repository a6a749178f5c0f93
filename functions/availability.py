"""Availability while scheduling a conversation."""

import azure.functions as func

from functions.http import api, authenticate, json_response, services
from shared.availability import MAX_WINDOW_DAYS, AttendeeRef
from shared.conversations.model import MAX_ATTENDEES
from shared.conversations.requests import parse_window_query
from shared.errors import BadRequest

blueprint = func.Blueprint()


@blueprint.route(route="availability", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def availability(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    window = parse_window_query(dict(req.params), max_days=MAX_WINDOW_DAYS)
    names = [n.strip() for n in req.params.get("attendees", "").split(",") if n.strip()]
    if len(names) > MAX_ATTENDEES:
        raise BadRequest(f"At most {MAX_ATTENDEES} attendees.", code="too_many_attendees")
    attendees = [
        AttendeeRef(email=n) if "@" in n else AttendeeRef(user_id=n) for n in dict.fromkeys(names)
    ]
    return json_response(services().availability.availability(caller, window, attendees))
