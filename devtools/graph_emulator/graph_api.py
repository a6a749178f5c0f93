"""Graph's request pipeline and the registry its resource modules plug into.

Every request under `/v1.0`: request ids -> injected fault -> bearer token -> route -> target user
-> permission -> (Outlook routes) mailbox checks and the per-app-per-mailbox throttle -> latency ->
handler -> (an injected fault that holds or drops the answer once the work is done). Resource
modules (graph_users, graph_calendar, and later events, calendarView, subscriptions,
delta) only add routes:

    def register(routes: GraphRoutes, state: EmulatorState) -> None:
        routes.add_for_user("/events", list_events, ["GET"], self_scopes=CALENDAR_READ,
                            mailbox=True)

`add_for_user` registers `/me{suffix}` and `/users/{id | userPrincipalName}{suffix}` at once; the
handler gets the resolved `target` user. Paths match case-insensitively on their fixed segments,
as Graph's do.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from devtools.graph_emulator import errors
from devtools.graph_emulator.consent import GraphResource
from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.errors import GraphError, RequestIds, graph_error_response
from devtools.graph_emulator.prefer import Preferences
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.tokens import AccessTokenRejected, check_access_token
from devtools.graph_emulator.web import loopback_origins, origin

GRAPH_VERSION = "/v1.0"
USER_KEY = "emulator.user"  # WSGI environ key: the caller's object id, for the request log


@dataclass(frozen=True)
class Caller:
    user: DirectoryUser
    app_id: str
    permissions: frozenset[str]


@dataclass
class GraphRequest:
    http: Request
    ids: RequestIds
    caller: Caller
    prefer: Preferences
    state: EmulatorState

    @property
    def graph_base_url(self) -> str:
        return origin(self.http) + GRAPH_VERSION

    def json_body(self) -> Any:
        try:
            return json.loads(self.http.get_data(as_text=True) or "null")
        except ValueError as error:
            raise GraphError(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure "
                "Content-Type header is set and payload is of valid JSON format.",
            ) from error

    def select(self) -> list[str] | None:
        raw = self.http.args.get("$select")
        return [part.strip() for part in raw.split(",") if part.strip()] if raw else None

    def respond(
        self, body: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        return errors.graph_json(body, self.ids, status, headers)


Handler = Callable[..., Response]


@dataclass(frozen=True)
class Route:
    handler: Handler
    self_scopes: frozenset[str]  # any one of these lets a caller use the route on themselves
    other_scopes: frozenset[str]  # ... on another user (empty: never)
    mailbox: bool  # an Outlook (Exchange) resource: throttled, needs a cloud mailbox
    for_user: bool


@dataclass
class GraphRoutes:
    _rules: list[Rule] = field(default_factory=list)
    _routes: dict[str, Route] = field(default_factory=dict)

    def add(
        self,
        path: str,
        handler: Handler,
        methods: Iterable[str],
        *,
        scopes: Iterable[str],
        mailbox: bool = False,
    ) -> None:
        """A route that is not about one user (e.g. `/subscriptions`)."""
        endpoint = f"{handler.__module__}.{handler.__name__}:{path}"
        self._routes[endpoint] = Route(handler, frozenset(scopes), frozenset(), mailbox, False)
        self._rules.append(Rule(GRAPH_VERSION + path, endpoint=endpoint, methods=list(methods)))

    def add_for_user(
        self,
        suffix: str,
        handler: Handler,
        methods: Iterable[str],
        *,
        self_scopes: Iterable[str],
        other_scopes: Iterable[str] = (),
        mailbox: bool = False,
    ) -> None:
        methods = list(methods)
        route = Route(handler, frozenset(self_scopes), frozenset(other_scopes), mailbox, True)
        for prefix in ("/me", "/users/<user_ref>"):
            endpoint = f"{handler.__module__}.{handler.__name__}:{prefix}{suffix}"
            self._routes[endpoint] = route
            self._rules.append(
                Rule(f"{GRAPH_VERSION}{prefix}{suffix}", endpoint=endpoint, methods=methods)
            )

    def build(self) -> tuple[Map, dict[str, Route]]:
        return Map(self._rules, strict_slashes=False, merge_slashes=False), dict(self._routes)


GraphModule = Callable[[GraphRoutes, EmulatorState], None]


class GraphApi:
    def __init__(self, state: EmulatorState, modules: Iterable[GraphModule]) -> None:
        self._state = state
        routes = GraphRoutes()
        for register in modules:
            register(routes, state)
        self._map, self._routes = routes.build()
        self._fixed_segments = {
            segment.lower(): segment
            for rule in self._map.iter_rules()
            for segment in rule.rule.split("/")
            if segment and "<" not in segment
        }

    def handle(self, request: Request) -> Response:
        ids = RequestIds(
            request_id=str(uuid.uuid4()),
            client_request_id=request.headers.get("client-request-id") or str(uuid.uuid4()),
            at=self._state.clock.now_utc(),
        )
        fault = self._state.faults.take(request.method, request.path)
        if fault is not None and not fault.after_the_work:
            return graph_error_response(fault.graph_error(), ids)
        try:
            response = self._handle(request, ids)
        except GraphError as error:
            response = graph_error_response(error, ids)
        if fault is not None:  # the work is done: its answer is held, or lost
            send = not fault.drop and (not fault.hold or self._state.faults.hold_answer())
            if not send:
                _drop_connection(request)
        return response

    def _handle(self, request: Request, ids: RequestIds) -> Response:
        caller = self._authenticate(request)
        request.environ[USER_KEY] = caller.user.object_id
        throttled = self._state.faults.take(
            request.method, request.path, tenant_id=caller.user.tenant_id
        )
        if throttled is not None:  # the tenant's rule: the tenant is over its limit
            raise throttled.graph_error()
        route, values = self._match(request)
        target = None
        if route.for_user:
            target = self._target(caller, values.pop("user_ref", None))
            values["target"] = target
        self._authorize(route, caller, target)
        graph_request = GraphRequest(
            http=request,
            ids=ids,
            caller=caller,
            prefer=Preferences.parse(request.headers.getlist("Prefer")),
            state=self._state,
        )
        if not route.mailbox:
            self._simulate_latency()
            return route.handler(graph_request, **values)
        mailbox = target or caller.user
        if mailbox.mailbox_on_premises:
            raise errors.mailbox_not_enabled()
        with self._state.throttle.slot(caller.app_id, mailbox.object_id):
            self._simulate_latency()
            return route.handler(graph_request, **values)

    def _authenticate(self, request: Request) -> Caller:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header or scheme.lower() != "bearer" or not token.strip():
            raise errors.invalid_authentication_token("Access token is empty.")
        audiences = sorted(GraphResource.for_origins(*loopback_origins(request)).identifiers)
        try:
            claims = check_access_token(
                self._state.signing_key, token.strip(), audiences, self._state.clock.now()
            )
        except AccessTokenRejected as rejected:
            raise errors.invalid_authentication_token(str(rejected)) from rejected
        user = self._state.directory.user(str(claims.get("oid", "")))
        if user is None or user.tenant_id != claims.get("tid"):
            raise errors.invalid_authentication_token("Access token validation failure.")
        return Caller(
            user=user,
            app_id=str(claims.get("appid", "")),
            permissions=frozenset(str(claims.get("scp", "")).split()),
        )

    def _match(self, request: Request) -> tuple[Route, dict[str, Any]]:
        path = "/".join(self._fixed_segments.get(s.lower(), s) for s in request.path.split("/"))
        try:
            endpoint, values = self._map.bind("graph").match(path, request.method)
        except MethodNotAllowed as error:
            raise errors.method_not_allowed() from error
        except NotFound as error:
            segments = [s for s in path.split("/") if s][1:]
            raise errors.segment_not_found(_first_unknown(segments, self._fixed_segments)) from (
                error
            )
        return self._routes[str(endpoint)], dict(values)

    def _target(self, caller: Caller, user_ref: str | None) -> DirectoryUser:
        if user_ref is None:
            return caller.user
        target = self._state.directory.user_in_tenant(caller.user.tenant_id, user_ref)
        if target is None:
            raise errors.directory_object_not_found(user_ref)
        return target

    def _authorize(self, route: Route, caller: Caller, target: DirectoryUser | None) -> None:
        on_self = target is None or target.object_id == caller.user.object_id
        allowed = route.self_scopes if on_self else route.other_scopes
        if not allowed & caller.permissions:
            if route.mailbox:
                raise errors.mailbox_access_denied()
            raise errors.directory_access_denied()

    def _simulate_latency(self) -> None:
        delay = self._state.faults.latency_seconds
        if delay > 0:
            time.sleep(delay)  # simulated service time, not synchronisation


def _drop_connection(request: Request) -> None:
    """Close the client's connection without an answer (the work is done): what a client sees
    when the network or a gateway loses Graph's answer. The server's later write finds it shut."""
    connection = request.environ.get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)


def _first_unknown(segments: list[str], known: dict[str, str]) -> str:
    return next((s for s in segments if s.lower() not in known), segments[-1] if segments else "")
