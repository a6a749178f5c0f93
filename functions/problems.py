"""The one place where what went wrong becomes an HTTP answer: application/problem+json.

PROBLEMS gives each ErrorCode (shared/errors.py, the complete list) its status and title; the
OpenAPI document reads both. A failure that is not an AppError is named first (`named`), so
Graph's own error codes and the details of a configuration problem only ever reach the log.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import azure.functions as func

from shared.errors import (
    AppError,
    ErrorCode,
    InternalError,
    NotConfigured,
    OutlookRefused,
    OutlookUnavailable,
    StorageUnavailable,
    Unauthenticated,
)
from shared.graph.errors import GraphError
from shared.secrets import SecretUnavailable
from shared.settings import SettingsError
from shared.storage.entities import storage_outage
from shared.token_cipher import TokenCipherError

logger = logging.getLogger("functions.problems")
# On every answer: never cached, and readable from the host app's origin (CORS) beyond the
# headers browsers show JavaScript anyway, so a frontend can send the ETag back in If-Match.
ANSWER_HEADERS: Final[Mapping[str, str]] = {
    "Cache-Control": "no-store",
    "Access-Control-Expose-Headers": "ETag, Location, Retry-After",
}

STORAGE_RETRY_AFTER = 10.0  # seconds: an outage of the storage service is usually brief


@dataclass(frozen=True)
class Problem:
    status: int
    title: str


_BAD_REQUEST = Problem(400, "Bad request")
_UNAUTHORIZED = Problem(401, "Unauthorized")
_FORBIDDEN = Problem(403, "Forbidden")
_CONFLICT = Problem(409, "Conflict")
_UNAVAILABLE = Problem(503, "Service unavailable")

PROBLEMS: Final[Mapping[ErrorCode, Problem]] = {
    ErrorCode.INVALID_JSON: _BAD_REQUEST,
    ErrorCode.UNKNOWN_FIELDS: _BAD_REQUEST,
    ErrorCode.INVALID_SETTINGS: _BAD_REQUEST,
    ErrorCode.INVALID_TENANT: _BAD_REQUEST,
    ErrorCode.INVALID_RETURN_URL: _BAD_REQUEST,
    ErrorCode.RETURN_URL_NOT_ALLOWED: _BAD_REQUEST,
    ErrorCode.INVALID_STATE: _BAD_REQUEST,
    ErrorCode.INVALID_CONSENT_RESPONSE: _BAD_REQUEST,
    ErrorCode.TOO_MANY_ATTENDEES: _BAD_REQUEST,
    ErrorCode.INVALID_KEY: _BAD_REQUEST,
    ErrorCode.INVALID_TEXT: _BAD_REQUEST,
    ErrorCode.INVALID_TYPE: _BAD_REQUEST,
    ErrorCode.INVALID_TITLE: _BAD_REQUEST,
    ErrorCode.TITLE_READ_ONLY: _BAD_REQUEST,
    ErrorCode.EMPTY: _BAD_REQUEST,
    ErrorCode.INVALID_TIME: _BAD_REQUEST,
    ErrorCode.INVALID_ATTENDEES: _BAD_REQUEST,
    ErrorCode.INVALID_LOCATION: _BAD_REQUEST,
    ErrorCode.INVALID_RECURRENCE: _BAD_REQUEST,
    ErrorCode.INVALID_WINDOW: _BAD_REQUEST,
    ErrorCode.INVALID_CURSOR: _BAD_REQUEST,
    ErrorCode.INVALID_NOTIFICATION: _BAD_REQUEST,
    ErrorCode.KEY_REUSED: Problem(422, "Unprocessable content"),
    ErrorCode.TOO_LARGE: Problem(413, "Content too large"),
    ErrorCode.INVALID_TOKEN: _UNAUTHORIZED,
    ErrorCode.TOKEN_EXPIRED: _UNAUTHORIZED,
    ErrorCode.ADMIN_ONLY: _FORBIDDEN,
    ErrorCode.SIGN_IN_NOT_YOURS: _FORBIDDEN,
    ErrorCode.ORGANISER_ONLY: _FORBIDDEN,
    ErrorCode.GUEST: _FORBIDDEN,
    ErrorCode.DISABLED: _FORBIDDEN,
    ErrorCode.NOT_FOUND: Problem(404, "Not found"),
    ErrorCode.OCCURRENCE_NOT_FOUND: Problem(404, "Not found"),
    ErrorCode.NOT_CONNECTED: _CONFLICT,
    ErrorCode.RECONNECT_REQUIRED: _CONFLICT,
    ErrorCode.CANCELLED: _CONFLICT,
    ErrorCode.UNREADABLE: _CONFLICT,
    ErrorCode.BUSY: _CONFLICT,
    ErrorCode.STALE: Problem(412, "Precondition failed"),
    ErrorCode.SIGN_IN_UNAVAILABLE: _UNAVAILABLE,
    ErrorCode.OUTLOOK_UNAVAILABLE: _UNAVAILABLE,
    ErrorCode.OUTLOOK_REFUSED: Problem(502, "Bad gateway"),
    ErrorCode.STORAGE_UNAVAILABLE: _UNAVAILABLE,
    ErrorCode.NOT_CONFIGURED: Problem(503, "Not configured"),
    ErrorCode.INTERNAL_ERROR: Problem(500, "Internal error"),
}


def named(failure: Exception) -> AppError:
    """The failure as the app names it to callers."""
    match failure:
        case AppError():
            return failure
        case SettingsError():
            return NotConfigured("The service is not configured yet.")
        case SecretUnavailable() | TokenCipherError():
            return NotConfigured("The service's secrets are not usable.")
        case GraphError() if failure.transient:
            return OutlookUnavailable(
                "Microsoft Graph is unavailable; try again shortly.", failure.retry_after
            )
        case GraphError():
            return OutlookRefused("Microsoft Graph refused the request.")
        case _ if storage_outage(failure):
            return StorageUnavailable(
                "The service's storage is unavailable; nothing was lost, try again shortly.",
                STORAGE_RETRY_AFTER,
            )
        case _:
            return InternalError("Something went wrong on our side.")


def problem_response(failure: Exception, where: str) -> func.HttpResponse:
    """Log the failure (never a token or a secret), and answer it as problem+json."""
    error = named(failure)
    problem = PROBLEMS[error.code]
    if isinstance(failure, GraphError):
        logger.error("%s: Graph answered %s %s", where, failure.status, failure.code)
    elif error.code is ErrorCode.INTERNAL_ERROR:
        logger.error("%s: failed", where, exc_info=failure)
    elif error.code is ErrorCode.NOT_CONFIGURED:
        logger.error("%s: %s: %s", where, error.detail, failure)
    elif error.code is ErrorCode.STORAGE_UNAVAILABLE:
        logger.error("%s: storage unavailable: %s", where, type(failure).__name__)
    else:
        logger.info("%s: %s %s", where, problem.status, error.code)
    body: dict[str, object] = {
        "type": "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": error.detail,
        "code": error.code.value,
    }
    headers = dict(ANSWER_HEADERS)
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if isinstance(error, OutlookUnavailable | StorageUnavailable) and error.retry_after is not None:
        body["retry_after"] = error.retry_after
        headers["Retry-After"] = str(math.ceil(error.retry_after))
    return func.HttpResponse(
        json.dumps(body),
        status_code=problem.status,
        mimetype="application/problem+json",
        headers=headers,
    )
