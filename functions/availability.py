"""Availability while scheduling a conversation."""

import azure.functions as func

from functions.http import api, authenticate, json_response, services
from shared.availability.service import MAX_WINDOW_DAYS, attendees_asked
from shared.availability.views import availability_view
from shared.conversations.requests import parse_window_query

blueprint = func.Blueprint()


@blueprint.route(route="availability", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def availability(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    window = parse_window_query(dict(req.params), max_days=MAX_WINDOW_DAYS)
    attendees = attendees_asked(req.params.get("attendees", ""))
    found = services().availability.availability(caller, window, attendees)
    return json_response(availability_view(found))
