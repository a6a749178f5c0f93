"""HTTP triggers behind a werkzeug server, plus the host's admin API for non-HTTP functions.

One log line per request: method, path (never the query: it can carry codes), status, the
function that answered and how long it took.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import azure.functions as func
from werkzeug.wrappers import Request, Response

from devtools.localhost.catalog import Catalog, HttpFunction
from devtools.localhost.invoker import Invocation, invoke

logger = logging.getLogger("localhost.http")

AdminInvoke = Callable[[str, str], bool]


class FunctionsWsgiApp:
    def __init__(
        self,
        catalog: Catalog,
        on_result: Callable[[Invocation], None],
        admin_invoke: AdminInvoke,
    ) -> None:
        self._catalog = catalog
        self._on_result = on_result
        self._admin_invoke = admin_invoke

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        started = time.perf_counter()
        request = Request(environ)
        response, served_by = self._dispatch(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        logger.info("%s %s -> %s %s (%.0f ms)", request.method, request.path,
                    response.status_code, served_by, elapsed_ms)  # fmt: skip
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> tuple[Response, str]:
        if request.path.startswith("/admin/"):
            return self._admin(request), "host admin"
        for entry in self._catalog.http:
            route_params = entry.route.match(request.path)
            if route_params is not None and request.method in entry.methods:
                return self._call(entry, request, route_params), f"Functions.{entry.name}"
        return Response(status=404), "no function"

    def _call(
        self, entry: HttpFunction, request: Request, route_params: dict[str, str]
    ) -> Response:
        http_request = func.HttpRequest(
            method=request.method,
            url=request.url,
            headers=dict(request.headers.items()),
            params={key: request.args[key] for key in request.args},
            route_params=route_params,
            body=request.get_data(),
        )
        try:
            invocation = invoke(entry, http_request)
            self._on_result(invocation)
        except Exception:
            logger.exception("Executed 'Functions.%s' (Failed)", entry.name)
            return Response(status=500)
        return _to_werkzeug(invocation.result)

    def _admin(self, request: Request) -> Response:
        if request.path == "/admin/host/status" and request.method == "GET":
            return Response(json.dumps({"state": "Running"}), mimetype="application/json")
        prefix = "/admin/functions/"
        if request.path.startswith(prefix) and request.method == "POST":
            name = request.path[len(prefix) :]
            body = request.get_json(silent=True) or {}
            if self._admin_invoke(name, str(body.get("input", ""))):
                return Response(status=202)
        return Response(status=404)


def _to_werkzeug(result: Any) -> Response:
    if result is None:
        return Response(status=204)
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"HTTP function returned {type(result).__name__}, not HttpResponse")
    headers = dict(result.headers.items())
    if not any(key.lower() == "content-type" for key in headers) and result.mimetype:
        headers["Content-Type"] = f"{result.mimetype}; charset={result.charset}"
    return Response(result.get_body(), status=result.status_code, headers=headers)
