"""Conversations: created, listed, read, rescheduled and cancelled, with notes and actions."""

import azure.functions as func

from functions.http import api, authenticate, json_response, read_json, services
from shared.conversations.requests import (
    parse_change,
    parse_new_conversation,
    parse_window_query,
)
from shared.errors import BadRequest

blueprint = func.Blueprint()
ANONYMOUS = func.AuthLevel.ANONYMOUS
MAX_LIST_DAYS = 366
MAX_RECORD_TEXT = 4000


@blueprint.route(route="conversations", methods=["POST"], auth_level=ANONYMOUS)
@api
def create_conversation(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    new = parse_new_conversation(read_json(req))
    key = req.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise BadRequest("Idempotency-Key must be 1 to 200 characters.", code="invalid_key")
    view, created = services().conversations.create(caller, new, key)
    return json_response(
        view,
        status=201 if created else 200,
        headers={"Location": f"/api/conversations/{view['id']}", "ETag": f'"v{view["version"]}"'},
    )


@blueprint.route(route="conversations", methods=["GET"], auth_level=ANONYMOUS)
@api
def list_conversations(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    window = parse_window_query(dict(req.params), max_days=MAX_LIST_DAYS)
    return json_response({"value": services().conversations.list(caller, window)})


@blueprint.route(route="conversations/{id}", methods=["GET"], auth_level=ANONYMOUS)
@api
def get_conversation(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    view, etag = services().conversations.get(caller, req.route_params["id"])
    return json_response(view, headers={"ETag": etag})


@blueprint.route(route="conversations/{id}", methods=["PATCH"], auth_level=ANONYMOUS)
@api
def update_conversation(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    change = parse_change(read_json(req))
    view, etag = services().conversations.update(
        caller, req.route_params["id"], change, req.headers.get("If-Match")
    )
    return json_response(view, headers={"ETag": etag})


@blueprint.route(route="conversations/{id}", methods=["DELETE"], auth_level=ANONYMOUS)
@api
def cancel_conversation(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    outcome = services().conversations.cancel(caller, req.route_params["id"])
    if outcome == "deleted":
        return func.HttpResponse(status_code=204)
    return json_response(services().conversations.get(caller, req.route_params["id"])[0])


@blueprint.route(route="conversations/{id}/notes", methods=["POST"], auth_level=ANONYMOUS)
@api
def add_note(req: func.HttpRequest) -> func.HttpResponse:
    return _add_record(req, "note")


@blueprint.route(route="conversations/{id}/actions", methods=["POST"], auth_level=ANONYMOUS)
@api
def add_action(req: func.HttpRequest) -> func.HttpResponse:
    return _add_record(req, "action")


def _add_record(req: func.HttpRequest, kind: str) -> func.HttpResponse:
    caller = authenticate(req)
    text = read_json(req).get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_RECORD_TEXT:
        raise BadRequest(f"text must be 1 to {MAX_RECORD_TEXT} characters.", code="invalid_text")
    record = services().conversations.add_record(caller, req.route_params["id"], kind, text.strip())
    return json_response(record, status=201)
