"""HTTP plumbing shared by the triggers: authentication, JSON in and out, problem+json errors."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import azure.functions as func

from functions.problems import ANSWER_HEADERS, problem_response
from shared import limits
from shared.caller import Caller
from shared.errors import ErrorCode, InvalidRequest, TooLarge

if TYPE_CHECKING:
    from shared.bootstrap import AppServices

Handler = Callable[..., func.HttpResponse]


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body),
        status_code=status,
        mimetype="application/json",
        headers={**ANSWER_HEADERS, **(headers or {})},
    )


def redirect(location: str) -> func.HttpResponse:
    return func.HttpResponse(
        status_code=302, headers={"Location": location, "Cache-Control": "no-store"}
    )


def services() -> AppServices:
    """The process's services, built on first use (imported here to keep app import cheap)."""
    from shared.bootstrap import services as build

    return build()


def authenticate(req: func.HttpRequest) -> Caller:
    caller = services().host_tokens.verify(req.headers.get("Authorization"))
    services().people.seen(caller)  # who uses the app, by name (availability names them)
    return caller


def read_json(req: func.HttpRequest) -> dict[str, Any]:
    """The body as a JSON object, within the limits of shared/limits.py."""
    body = limits.parse_json(req.get_body() or b"")
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.", ErrorCode.INVALID_JSON)
    return body


def completion_code(req: func.HttpRequest) -> str:
    """`{"code"}` of a sign-in's completion: the one-time code the browser brought back."""
    body = read_json(req)
    unknown = sorted(set(body) - {"code"})
    if unknown:
        raise InvalidRequest(
            f"Unknown fields: {', '.join(unknown)} (allowed: code).", ErrorCode.UNKNOWN_FIELDS
        )
    code = body.get("code")
    if not isinstance(code, str) or not 0 < len(code) <= limits.MAX_STATE:
        raise InvalidRequest(
            "code is the completion code the sign-in sent back.", ErrorCode.INVALID_STATE
        )
    return code


def sign_in_answer(req: func.HttpRequest) -> dict[str, str]:
    """Microsoft's answer at a sign-in callback: a form post (response_mode=form_post) or the
    query string."""
    if req.method == "POST":
        body = req.get_body() or b""
        if len(body) > limits.MAX_SIGN_IN_ANSWER_BYTES:
            raise TooLarge("The sign-in answer is too large.")
        try:
            pairs = parse_qsl(body.decode("ascii"), max_num_fields=limits.MAX_SIGN_IN_FIELDS)
        except (UnicodeDecodeError, ValueError):
            raise InvalidRequest(
                "The sign-in answer is not a form.", ErrorCode.INVALID_STATE
            ) from None
        return dict(pairs)
    return dict(req.params)


def api(handler: Handler) -> Handler:
    """Answer every failure as problem+json (functions/problems.py), logged without secrets."""

    @functools.wraps(handler)  # the worker binds by the wrapped function's parameters
    def wrapper(req: func.HttpRequest, **bindings: Any) -> func.HttpResponse:
        try:
            return handler(req, **bindings)
        except Exception as failure:
            return problem_response(failure, f"{req.method} {req.url.split('?', 1)[0]}")

    return wrapper
