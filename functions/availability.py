"""Availability while scheduling a conversation."""

import azure.functions as func

from functions.http import api, authenticate, json_response, services
from shared.availability import MAX_WINDOW_DAYS, AttendeeRef
from shared.conversations.requests import parse_window_query
from shared.errors import BadRequest

blueprint = func.Blueprint()
MAX_ATTENDEES = 100
MAX_ATTENDEES_PARAM = 4000  # 100 host-app ids with room to spare; URLs stay short
MAX_ATTENDEE_NAME = 320  # the longest email address; host-app user ids are far shorter


@blueprint.route(route="availability", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def availability(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    window = parse_window_query(dict(req.params), max_days=MAX_WINDOW_DAYS)
    listed = req.params.get("attendees", "")
    if len(listed) > MAX_ATTENDEES_PARAM:
        raise BadRequest(
            f"attendees may be at most {MAX_ATTENDEES_PARAM} characters.", code="invalid_attendees"
        )
    names = [n.strip() for n in listed.split(",") if n.strip()]
    if len(names) > MAX_ATTENDEES:
        raise BadRequest(f"At most {MAX_ATTENDEES} attendees.", code="too_many_attendees")
    if any(len(name) > MAX_ATTENDEE_NAME for name in names):
        raise BadRequest(
            f"An attendee is a user id or an email address of at most {MAX_ATTENDEE_NAME} "
            "characters.",
            code="invalid_attendees",
        )
    attendees = [
        AttendeeRef(email=n) if "@" in n else AttendeeRef(user_id=n) for n in dict.fromkeys(names)
    ]
    return json_response(services().availability.availability(caller, window, attendees))
