"""HTTP plumbing shared by the triggers: authentication, JSON in and out, problem+json errors."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import azure.functions as func

from shared.caller import Caller, Unauthenticated
from shared.errors import BadRequest, DomainError
from shared.graph.errors import GraphError
from shared.secrets import SecretUnavailable
from shared.settings import SettingsError
from shared.token_cipher import TokenCipherError

if TYPE_CHECKING:
    from shared.bootstrap import AppServices

logger = logging.getLogger("functions.http")

Handler = Callable[..., func.HttpResponse]
# Browsers calling from the host app's origin (CORS) may read these, not only the safelisted ones.
_COMMON_HEADERS = {
    "Cache-Control": "no-store",
    "Access-Control-Expose-Headers": "ETag, Location, Retry-After",
}


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body),
        status_code=status,
        mimetype="application/json",
        headers={**_COMMON_HEADERS, **(headers or {})},
    )


def redirect(location: str) -> func.HttpResponse:
    return func.HttpResponse(
        status_code=302, headers={"Location": location, "Cache-Control": "no-store"}
    )


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> func.HttpResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return func.HttpResponse(
        json.dumps(body),
        status_code=status,
        mimetype="application/problem+json",
        headers={**_COMMON_HEADERS, **(headers or {})},
    )


def services() -> AppServices:
    """The process's services, built on first use (imported here to keep app import cheap)."""
    from shared.bootstrap import services as build

    return build()


def authenticate(req: func.HttpRequest) -> Caller:
    return services().host_tokens.verify(req.headers.get("Authorization"))


def read_json(req: func.HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(req.get_body() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("The request body is not valid JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    return body


def api(handler: Handler) -> Handler:
    """Turn failures into problem+json answers; log each one without secrets or tokens."""

    @functools.wraps(handler)  # the worker binds by the wrapped function's parameters
    def wrapper(req: func.HttpRequest, **bindings: Any) -> func.HttpResponse:
        where = f"{req.method} {req.url.split('?', 1)[0]}"
        try:
            return handler(req, **bindings)
        except Unauthenticated as error:
            logger.info("%s: 401 %s", where, error)
            return problem_response(
                401,
                "Unauthorized",
                str(error),
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        except DomainError as error:
            logger.info("%s: %s %s", where, error.status, error.code or error.title)
            return problem_response(
                error.status, error.title, error.detail, code=error.code, **error.extra
            )
        except SettingsError as error:
            logger.error("%s: the app is not configured: %s", where, error)
            return problem_response(503, "Not configured", "The service is not configured yet.")
        except (SecretUnavailable, TokenCipherError) as error:
            logger.error("%s: secrets unusable: %s", where, error)
            return problem_response(503, "Not configured", "The service's secrets are not usable.")
        except GraphError as error:
            logger.error("%s: unexpected Graph answer %s %s", where, error.status, error.code)
            return problem_response(
                502, "Bad gateway", "Microsoft Graph refused the request.", code=error.code
            )
        except Exception:
            logger.exception("%s: failed", where)
            return problem_response(500, "Internal error", "Something went wrong on our side.")

    return wrapper
