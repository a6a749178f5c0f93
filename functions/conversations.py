"""Conversations: created, listed, read, rescheduled and cancelled, with notes and actions."""

import re

import azure.functions as func

from functions.http import api, authenticate, json_response, read_json, services
from shared.conversations.model import CancelOutcome, RecordKind
from shared.conversations.requests import (
    parse_change,
    parse_new_conversation,
    parse_record_text,
    parse_window_query,
)
from shared.conversations.views import (
    conversation_view,
    etag,
    expected_version,
    listed_view,
    record_view,
)
from shared.errors import ErrorCode, InvalidRequest
from shared.limits import MAX_IDEMPOTENCY_KEY, MAX_LIST_DAYS

blueprint = func.Blueprint()
ANONYMOUS = func.AuthLevel.ANONYMOUS
_IDEMPOTENCY_KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_IDEMPOTENCY_KEY}}}")


@blueprint.route(route="conversations", methods=["POST"], auth_level=ANONYMOUS)
@api
def create_conversation(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    new = parse_new_conversation(read_json(req))
    key = req.headers.get("Idempotency-Key")
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidRequest(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters.",
            ErrorCode.INVALID_KEY,
        )
    created = services().conversations.create(caller, new, key)
    conversation = created.conversation
    return json_response(
        conversation_view(conversation),
        status=201 if created.new else 200,
        headers={"Location": f"/api/conversations/{conversation.id}", "ETag": etag(conversation)},
    )


@blueprint.route(route="conversations", methods=["GET"], auth_level=ANONYMOUS)
@api
def list_conversations(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    window = parse_window_query(dict(req.params), max_days=MAX_LIST_DAYS)
    listed = services().conversations.in_window(caller, window)
    return json_response({"value": [listed_view(c.conversation, c.occurrences) for c in listed]})


@blueprint.route(route="conversations/{id}", methods=["GET"], auth_level=ANONYMOUS)
@api
def get_conversation(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    conversation = services().conversations.get(caller, req.route_params["id"])
    return json_response(conversation_view(conversation), headers={"ETag": etag(conversation)})


@blueprint.route(route="conversations/{id}", methods=["PATCH"], auth_level=ANONYMOUS)
@api
def update_conversation(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    change = parse_change(read_json(req))
    version = expected_version(req.headers.get("If-Match"))
    conversation = services().conversations.update(caller, req.route_params["id"], change, version)
    return json_response(conversation_view(conversation), headers={"ETag": etag(conversation)})


@blueprint.route(route="conversations/{id}", methods=["DELETE"], auth_level=ANONYMOUS)
@api
def cancel_conversation(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    cancelled = services().conversations.cancel(caller, req.route_params["id"])
    if cancelled.outcome is CancelOutcome.REMOVED or cancelled.conversation is None:
        return func.HttpResponse(status_code=204)
    return json_response(conversation_view(cancelled.conversation))


@blueprint.route(route="conversations/{id}/notes", methods=["POST"], auth_level=ANONYMOUS)
@api
def add_note(req: func.HttpRequest) -> func.HttpResponse:
    return _add_record(req, RecordKind.NOTE)


@blueprint.route(route="conversations/{id}/actions", methods=["POST"], auth_level=ANONYMOUS)
@api
def add_action(req: func.HttpRequest) -> func.HttpResponse:
    return _add_record(req, RecordKind.ACTION)


def _add_record(req: func.HttpRequest, kind: RecordKind) -> func.HttpResponse:
    caller = authenticate(req)
    text = parse_record_text(read_json(req))
    record = services().conversations.add_record(caller, req.route_params["id"], kind, text)
    return json_response(record_view(record), status=201)


@blueprint.route(
    route="conversations/{id}/occurrences/{occurrenceId}", methods=["PATCH"], auth_level=ANONYMOUS
)
@api
def update_occurrence(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    change = parse_change(read_json(req))
    version = expected_version(req.headers.get("If-Match"))
    conversation = services().conversations.update_occurrence(
        caller, req.route_params["id"], req.route_params["occurrenceId"], change, version
    )
    return json_response(conversation_view(conversation), headers={"ETag": etag(conversation)})


@blueprint.route(
    route="conversations/{id}/occurrences/{occurrenceId}", methods=["DELETE"], auth_level=ANONYMOUS
)
@api
def cancel_occurrence(req: func.HttpRequest) -> func.HttpResponse:
    caller = authenticate(req)
    conversation = services().conversations.cancel_occurrence(
        caller, req.route_params["id"], req.route_params["occurrenceId"]
    )
    return json_response(conversation_view(conversation), headers={"ETag": etag(conversation)})
