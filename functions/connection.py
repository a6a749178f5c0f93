"""A user's own Outlook calendar connection, and the OAuth redirect that completes it."""

import azure.functions as func

from functions.http import (
    api,
    authenticate,
    completion_code,
    json_response,
    read_json,
    redirect,
    services,
    sign_in_answer,
)
from shared.changes.views import page_view
from shared.connections.views import completed_view, sign_in_view, status_view
from shared.errors import ErrorCode, InvalidRequest

blueprint = func.Blueprint()


@blueprint.route(route="me/calendar", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def calendar_status(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    return json_response(status_view(services().connections.status(caller)))


@blueprint.route(route="me/calendar/connect", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def connect_calendar(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    body = read_json(req) if req.get_body() else {}
    return_url = body.get("returnUrl")
    if return_url is not None and not isinstance(return_url, str):
        raise InvalidRequest("returnUrl must be a string.", ErrorCode.INVALID_RETURN_URL)
    started = services().connections.begin_connect(caller, return_url)
    return json_response(sign_in_view("authorizationUrl", started.url, started.expires_at))


@blueprint.route(route="me/calendar/check", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def check_calendar(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    return json_response(status_view(services().connections.check(caller)))


@blueprint.route(route="me/calendar", methods=["DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def disconnect_calendar(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    services().lifecycle.disconnect(caller)
    return func.HttpResponse(status_code=204)


@blueprint.route(
    route="auth/callback", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS
)
@api
def auth_callback(req: func.HttpRequest) -> func.HttpResponse:
    """Microsoft's answer, posted by the browser (form_post: the code and state never sit in a
    URL, so no request log holds them); GET for sign-ins started before form_post."""
    return redirect(services().connections.sign_in_returned(sign_in_answer(req)))


@blueprint.route(
    route="me/calendar/complete", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS
)
@api
def complete_calendar_connection(req: func.HttpRequest) -> func.HttpResponse:
    """The host app's page, back from Microsoft with `outlookCompletion`, completes the sign-in
    with its user's token: only the user who started it can."""
    caller = authenticate(req)
    finished = services().lifecycle.complete_connect(caller, completion_code(req))
    return json_response(completed_view(finished, services().connections.status(caller)))


@blueprint.route(route="me/changes", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@api
def my_changes(req: func.HttpRequest) -> func.HttpResponse:
    """Changes from Outlook and connection events for the caller, oldest first, from a cursor."""
    caller = authenticate(req)
    since = req.params.get("since") or None
    return json_response(page_view(services().changes.since(caller.org_id, caller.user_id, since)))
