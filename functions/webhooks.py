"""Graph's change and lifecycle notifications: validated, queued, answered in milliseconds."""

import azure.functions as func

from functions.http import api
from shared.errors import ErrorCode, InvalidRequest
from shared.limits import MAX_VALIDATION_TOKEN
from shared.storage.names import GRAPH_NOTIFICATIONS_QUEUE
from shared.sync.notifications import NotificationKind

blueprint = func.Blueprint()


def _handle(
    req: func.HttpRequest, out: func.Out[list[str]], kind: NotificationKind
) -> func.HttpResponse:
    token = req.params.get("validationToken")
    if token is not None:  # subscription handshake: echo the (already URL-decoded) token
        if len(token) > MAX_VALIDATION_TOKEN:
            raise InvalidRequest("validationToken is too long.", ErrorCode.INVALID_NOTIFICATION)
        # Plain text that no browser may take for anything else: the token is the caller's.
        return func.HttpResponse(
            token,
            status_code=200,
            mimetype="text/plain",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
        )
    from shared.webhook_inbox import webhook_inbox  # light: not the whole composition root

    messages = webhook_inbox().accept(req.get_body(), kind)
    if messages:
        out.set(messages)
    return func.HttpResponse(status_code=202)


@blueprint.route(route="graph/notifications", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@blueprint.queue_output(
    arg_name="out", queue_name=GRAPH_NOTIFICATIONS_QUEUE, connection="AzureWebJobsStorage"
)
@api
def graph_notifications(req: func.HttpRequest, out: func.Out[list[str]]) -> func.HttpResponse:
    return _handle(req, out, NotificationKind.CHANGE)


@blueprint.route(route="graph/lifecycle", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@blueprint.queue_output(
    arg_name="out", queue_name=GRAPH_NOTIFICATIONS_QUEUE, connection="AzureWebJobsStorage"
)
@api
def graph_lifecycle(req: func.HttpRequest, out: func.Out[list[str]]) -> func.HttpResponse:
    return _handle(req, out, NotificationKind.LIFECYCLE)
