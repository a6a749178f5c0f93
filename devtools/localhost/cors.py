"""CORS as Core Tools does it for `Host.CORS` in local.settings.json (or `func start --cors`).

Core Tools puts ASP.NET Core's CORS middleware in front of the functions with the listed
origins, any method and any header (credentials when `Host.CORSCredentials` is true). A
preflight from an allowed origin is answered by the host itself; one from another origin gets
no CORS headers, so the browser blocks the call. The app's own headers (e.g. its
`Access-Control-Expose-Headers`) pass through.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def settings_cors(path: Path) -> tuple[str | None, bool]:
    """Core Tools' `Host.CORS` and `Host.CORSCredentials` from a local.settings.json."""
    if not path.exists():
        return None, False
    host = json.loads(path.read_text()).get("Host", {})
    return host.get("CORS"), bool(host.get("CORSCredentials", False))


@dataclass(frozen=True)
class CorsPolicy:
    origins: tuple[str, ...]
    credentials: bool = False

    @classmethod
    def parse(cls, value: str | None, credentials: bool = False) -> CorsPolicy | None:
        """`Host.CORS`: comma-separated origins, or `*`; empty or missing means no CORS."""
        origins = tuple(o.strip().rstrip("/") for o in (value or "").split(",") if o.strip())
        return cls(origins, credentials) if origins else None

    def allows(self, origin: str) -> bool:
        return "*" in self.origins or origin.rstrip("/") in self.origins

    def headers_for(self, origin: str) -> dict[str, str]:
        any_origin = "*" in self.origins and not self.credentials
        headers = {"Access-Control-Allow-Origin": "*" if any_origin else origin}
        if not any_origin:
            headers["Vary"] = "Origin"
        if self.credentials:
            headers["Access-Control-Allow-Credentials"] = "true"
        return headers


class CorsMiddleware:
    def __init__(self, app: WsgiApp, policy: CorsPolicy) -> None:
        self._app = app
        self._policy = policy

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        origin = request.headers.get("Origin")
        if origin is None:
            return self._app(environ, start_response)
        preflight = (
            request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        )
        if preflight:
            return self._preflight(request, origin)(environ, start_response)
        if not self._policy.allows(origin):
            return self._app(environ, start_response)
        added = self._policy.headers_for(origin)

        def with_cors(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            names = {name.lower() for name, _ in headers}
            extra = [(k, v) for k, v in added.items() if k.lower() not in names]
            return start_response(status, headers + extra, *rest)

        return self._app(environ, with_cors)

    def _preflight(self, request: Request, origin: str) -> Response:
        response = Response(status=204)
        if not self._policy.allows(origin):
            return response
        response.headers.update(self._policy.headers_for(origin))
        response.headers["Access-Control-Allow-Methods"] = request.headers[
            "Access-Control-Request-Method"
        ]
        requested = request.headers.get("Access-Control-Request-Headers")
        if requested:
            response.headers["Access-Control-Allow-Headers"] = requested
        return response
