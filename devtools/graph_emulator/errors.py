"""Graph's error answer: `{"error": {"code", "message", "innerError": {"date", "request-id",
"client-request-id"}}}` with `request-id` and `client-request-id` response headers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Response

GRAPH_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)


@dataclass
class GraphError(Exception):
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


@dataclass(frozen=True)
class RequestIds:
    request_id: str
    client_request_id: str
    at: datetime

    def headers(self) -> dict[str, str]:
        return {"request-id": self.request_id, "client-request-id": self.client_request_id}


def graph_json(
    body: Any, ids: RequestIds, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status=status,
        headers={**ids.headers(), **(headers or {})},
        content_type=GRAPH_JSON,
    )


def graph_error_response(error: GraphError, ids: RequestIds) -> Response:
    body = {
        "error": {
            "code": error.code,
            "message": error.message,
            "innerError": {
                "date": ids.at.strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            },
        }
    }
    return Response(
        json.dumps(body, separators=(",", ":")),
        status=error.status,
        headers={**ids.headers(), **error.headers},
        content_type="application/json",
    )


# --- errors Graph answers, by workload ----------------------------------------------------


def invalid_authentication_token(message: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        {
            "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.microsoftonline'
            '.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"'
        },
    )


def directory_access_denied() -> GraphError:
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def mailbox_access_denied() -> GraphError:
    return GraphError(
        403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
    )


def directory_object_not_found(reference: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{reference}' does not exist or one of its queried reference-property objects "
        "are not present.",
    )


def mailbox_not_enabled() -> GraphError:
    return GraphError(
        404,
        "MailboxNotEnabledForRESTAPI",
        "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
    )


def segment_not_found(segment: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def method_not_allowed() -> GraphError:
    return GraphError(
        405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
    )


def request_body_read(message: str) -> GraphError:
    return GraphError(400, "RequestBodyRead", message)


def unknown_select_property(name: str, type_name: str) -> GraphError:
    return GraphError(
        400, "BadRequest", f"Could not find a property named '{name}' on type '{type_name}'."
    )
