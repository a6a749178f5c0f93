"""A user's own Outlook calendar connection, and the OAuth redirect that completes it."""

import azure.functions as func

from functions.http import api, authenticate, json_response, read_json, redirect, services
from shared.errors import BadRequest

blueprint = func.Blueprint()


@blueprint.route(route="me/calendar", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def calendar_status(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    return json_response(services().connections.status(caller))


@blueprint.route(route="me/calendar/connect", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def connect_calendar(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    body = read_json(req) if req.get_body() else {}
    return_url = body.get("returnUrl")
    if return_url is not None and not isinstance(return_url, str):
        raise BadRequest("returnUrl must be a string.", code="invalid_return_url")
    return json_response(services().connections.begin_connect(caller, return_url))


@blueprint.route(route="me/calendar/check", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def check_calendar(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    return json_response(services().connections.check(caller))


@blueprint.route(route="me/calendar", methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def disconnect_calendar(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    services().connections.disconnect(caller)
    return func.HttpResponse(status_code=204)


@blueprint.route(route="auth/callback", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def auth_callback(req: func.HttpRequest) -> func.HttpResponse:
    return redirect(services().connections.complete_connect(dict(req.params)))


@blueprint.route(route="me/changes", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def my_changes(req: func.HttpRequest) -> func.HttpResponse:
    """Changes from Outlook and connection events for the caller, oldest first, from a cursor."""
    caller = authenticate(req)
    since = req.params.get("since") or None
    return json_response(services().changes.since(caller.org_id, caller.user_id, since))
