"""The WSGI application: one origin serving the identity platform, Graph and the control API.

    /_emulator/...   control API (not logged)
    /v1.0/...        Microsoft Graph
    everything else  the Microsoft identity platform (`/{tenant}/...`)

New Graph resource modules are added to GRAPH_MODULES.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from werkzeug.wrappers import Request, Response

from devtools.graph_emulator import (
    control_sync,
    graph_calendar,
    graph_calendar_view,
    graph_delta,
    graph_mailbox_events,
    graph_schedule,
    graph_users,
    graph_webhooks,
)
from devtools.graph_emulator.control import PREFIX as CONTROL_PREFIX
from devtools.graph_emulator.control import ControlApi
from devtools.graph_emulator.control_outlook import PREFIX as MAILBOX_CONTROL_PREFIX
from devtools.graph_emulator.control_outlook import OutlookControl
from devtools.graph_emulator.graph_api import GRAPH_VERSION, USER_KEY, GraphApi, GraphModule
from devtools.graph_emulator.identity import IdentityApi
from devtools.graph_emulator.request_log import LoggedRequest
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.web import json_response

logger = logging.getLogger("devtools.graph_emulator")

GRAPH_MODULES: tuple[GraphModule, ...] = (
    graph_users.register,
    graph_calendar.register,
    graph_mailbox_events.register,
    graph_calendar_view.register,
    graph_schedule.register,
    graph_webhooks.register,
    graph_delta.register,
)


class EmulatorApp:
    def __init__(self, state: EmulatorState, graph_modules: Iterable[GraphModule] = GRAPH_MODULES):
        self.state = state
        self._identity = IdentityApi(state)
        self._graph = GraphApi(state, graph_modules)
        self._control = ControlApi(state)
        self._mailbox_control = OutlookControl(state)
        self._sync_control = control_sync.SyncControl(state)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith(MAILBOX_CONTROL_PREFIX + "/"):
            return self._mailbox_control.handle(request)
        if control_sync.handles(path):
            return self._sync_control.handle(request)
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            try:
                return self._control.handle(request)
            except Exception:
                logger.exception("control %s %s failed", request.method, path)
                return json_response({"error": "the emulator failed; see its log"}, status=500)
        area = (
            "graph"
            if path == GRAPH_VERSION or path.startswith(GRAPH_VERSION + "/")
            else ("identity")
        )
        started = time.perf_counter()
        at = self.state.clock.now_utc()
        try:
            if area == "graph":
                response = self._graph.handle(request)
            else:
                response = self._identity.handle(request)
        except Exception:
            logger.exception("%s %s failed", request.method, path)
            response = json_response(
                {"error": {"code": "InternalServerError", "message": "The emulator failed."}},
                status=500,
            )
        self.state.requests.add(
            LoggedRequest(
                area=area,
                method=request.method,
                path=path,
                query=request.query_string.decode("latin-1") if area == "graph" else "",
                status=response.status_code,
                time=at.isoformat(),
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                user=request.environ.get(USER_KEY),
            )
        )
        return response
