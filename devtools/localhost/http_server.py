"""HTTP triggers behind a werkzeug server, plus the host's admin API for non-HTTP functions."""

from __future__ import annotations

import json
import logging
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
        request = Request(environ)
        response = self._dispatch(request)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        if request.path.startswith("/admin/"):
            return self._admin(request)
        for entry in self._catalog.http:
            route_params = entry.route.match(request.path)
            if route_params is not None and request.method in entry.methods:
                return self._call(entry, request, route_params)
        return Response(status=404)

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
        logger.info("Executed 'Functions.%s' (Succeeded)", entry.name)
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
