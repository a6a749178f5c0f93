"""HTTP answers in the shapes the host web app relies on: JSON, and problem+json (RFC 9457)."""

import json
import logging
from typing import Any

import azure.functions as func

logger = logging.getLogger(__name__)


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body),
        status_code=status,
        mimetype="application/json",
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def problem_response(
    status: int, title: str, detail: str, *, type_: str = "about:blank", **extra: Any
) -> func.HttpResponse:
    logger.info("answering %s %s: %s", status, title, detail)
    return func.HttpResponse(
        json.dumps({"type": type_, "title": title, "status": status, "detail": detail, **extra}),
        status_code=status,
        mimetype="application/problem+json",
        headers={"Cache-Control": "no-store"},
    )
