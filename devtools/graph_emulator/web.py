"""Small HTTP helpers shared by the emulator's endpoints."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response


def origin(request: Request) -> str:
    """`https://127.0.0.1:<port>` as the client addressed us (127.0.0.1 and localhost both work)."""
    return request.host_url.rstrip("/")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status=status,
        headers=headers or {},
        content_type="application/json; charset=utf-8",
    )


def html_response(markup: str, status: int = 200) -> Response:
    return Response(markup, status=status, content_type="text/html; charset=utf-8")


def loopback_origins(request: Request) -> tuple[str, ...]:
    """This server's origins under both loopback names (the port is the one the client used)."""
    port = request.host.rpartition(":")[2] if ":" in request.host else "443"
    return (f"https://127.0.0.1:{port}", f"https://localhost:{port}")
