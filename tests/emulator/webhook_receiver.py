"""A webhook endpoint for tests: answers Graph's validation handshake and records notifications.

receiver = WebhookReceiver().start()      # http://127.0.0.1:<free port>
receiver.url("/notify"), receiver.url("/lifecycle")
receiver.handshake_mode = "wrong-token"    # echo | wrong-token | status-500 | html | slow
receiver.answer_next(500, 500)             # statuses for the next notification posts
receiver.slow_next(3, 0.2)                 # the next 3 posts take 0.2 s each
receiver.posts("/notify")                  # [{"value": [...]}, ...] in arrival order
receiver.stop()

Graph posts from background threads; the emulator's flush control tells a test when they are
done, so nothing here waits.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Received:
    path: str
    body: Any
    status: int


@dataclass
class WebhookReceiver:
    handshake_mode: str = "echo"
    handshake_delay: float = 0.0
    default_status: int = 202
    handshakes: list[tuple[str, str]] = field(default_factory=list)  # (path, token)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._statuses: deque[int] = deque()
        self._delays: deque[float] = deque()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> WebhookReceiver:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def url(self, path: str = "/notify") -> str:
        return f"http://127.0.0.1:{self._server.server_port}{path}"

    # --- behaviour ---------------------------------------------------------------------------

    def answer_next(self, *statuses: int) -> None:
        with self._lock:
            self._statuses.extend(statuses)

    def slow_next(self, count: int, seconds: float) -> None:
        with self._lock:
            self._delays.extend([seconds] * count)

    # --- what arrived ------------------------------------------------------------------------

    def posts(self, path: str = "/notify", *, delivered_only: bool = True) -> list[Any]:
        with self._lock:
            return [
                r.body
                for r in self.received
                if r.path == path and (not delivered_only or 200 <= r.status < 300)
            ]

    def items(self, path: str = "/notify") -> list[dict[str, Any]]:
        """Every notification item of the posts answered 2xx, in arrival order."""
        return [item for body in self.posts(path) for item in body["value"]]

    # --- the WSGI app ------------------------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        token = request.args.get("validationToken")
        if token is not None:
            response = self._handshake(request.path, token)
        else:
            response = self._notification(request)
        return response(environ, start_response)

    def _handshake(self, path: str, token: str) -> Response:
        with self._lock:
            self.handshakes.append((path, token))
        if self.handshake_delay:
            time.sleep(self.handshake_delay)  # a slow endpoint, not synchronisation
        mode = self.handshake_mode
        if mode == "wrong-token":
            return Response(token + "x", status=200, content_type="text/plain")
        if mode == "status-500":
            return Response("no", status=500, content_type="text/plain")
        if mode == "html":
            return Response(token, status=200, content_type="text/html")
        return Response(token, status=200, content_type="text/plain")

    def _notification(self, request: Request) -> Response:
        with self._lock:
            status = self._statuses.popleft() if self._statuses else self.default_status
            delay = self._delays.popleft() if self._delays else 0.0
        if delay:
            time.sleep(delay)  # a slow endpoint, not synchronisation
        body = json.loads(request.get_data(as_text=True) or "null")
        with self._lock:
            self.received.append(Received(request.path, body, status))
        return Response(status=status)
