"""The API's contract: the OpenAPI document (functions/openapi.json) and a page that lists it."""

import functools
import json
from pathlib import Path
from typing import Any

import azure.functions as func

from functions.api_docs import render_docs

blueprint = func.Blueprint()
DOCUMENT = Path(__file__).with_name("openapi.json")
_CACHED = {"Cache-Control": "public, max-age=300"}
_NOTHING_FROM_ELSEWHERE = "default-src 'none'; style-src 'unsafe-inline'"


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document, read once per process (it ships with the app, next to this module)."""
    document: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return document


@blueprint.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi_json(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        _document_bytes(), mimetype="application/json", charset="utf-8", headers=_CACHED
    )


@blueprint.route(route="docs", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def api_docs(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        _docs_page(),
        mimetype="text/html",
        charset="utf-8",
        headers={**_CACHED, "Content-Security-Policy": _NOTHING_FROM_ELSEWHERE},
    )


@functools.cache
def _document_bytes() -> bytes:
    return DOCUMENT.read_bytes()


@functools.cache
def _docs_page() -> str:
    return render_docs(openapi_document(), spec_url="openapi.json")
