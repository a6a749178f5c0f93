"""`POST /v1.0/$batch`: JSON batching through the same pipeline as direct calls.

Each inner request becomes a real request to the Graph pipeline (`GraphApi.handle`): the outer
request's bearer token, injected faults, the per-app-per-mailbox throttle (a 429 is that
request's answer, with its `Retry-After` in its `headers`), latency, handlers. Inner requests
run in parallel, at most `mailbox_parallelism` (4, Outlook's rule) for the same mailbox at once;
`dependsOn` orders them, and a request whose dependency failed answers 424 without running.
Each inner request is written to the request log with `batch_id` (the outer request id) and
`batch_request_id`, so the app's Graph calls can still be counted.

The batch itself answers 400 when its payload is malformed: not `{"requests": [...]}`, more
than 20 requests, a request without id/method/url, a duplicate id, a `dependsOn` naming a
request that is not in the batch, or a dependency cycle.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from devtools.graph_emulator.consent import GRAPH_DELEGATED_PERMISSIONS, OIDC_SCOPES
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.graph_api import GRAPH_VERSION, USER_KEY, GraphRequest, GraphRoutes
from devtools.graph_emulator.request_log import LoggedRequest
from devtools.graph_emulator.state import EmulatorState

MAX_REQUESTS = 20
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
# Any signed-in caller may post a batch; each inner request is authorized on its own.
ANY_SCOPE = tuple(GRAPH_DELEGATED_PERMISSIONS) + tuple(OIDC_SCOPES)
_SKIPPED_HEADERS = {"content-length"}

Pipeline = Callable[[Request], Response]


@dataclass(frozen=True)
class BatchLoggedRequest(LoggedRequest):
    """A request log entry for a request that came inside a `$batch`."""

    batch_id: str = ""  # the request-id of the outer $batch request
    batch_request_id: str = ""  # the inner request's `id` in the batch


class BatchSettings:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.mailbox_parallelism = 4

    def configure(self, values: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if "mailbox_parallelism" in values:
                parallelism = int(values["mailbox_parallelism"])
                if parallelism < 1:
                    raise ValueError("mailbox_parallelism must be at least 1")
                self.mailbox_parallelism = parallelism
            return self.view()

    def view(self) -> dict[str, Any]:
        return {"mailbox_parallelism": self.mailbox_parallelism, "max_requests": MAX_REQUESTS}


def settings_of(state: EmulatorState) -> BatchSettings:
    existing = getattr(state, "batch_settings", None)
    if existing is None:
        existing = BatchSettings()
        state.batch_settings = existing  # type: ignore[attr-defined]
        state.register_store(existing)
    return existing


def bind(state: EmulatorState, pipeline: Pipeline) -> None:
    """Give `$batch` the Graph pipeline to run inner requests through (app.py does this)."""
    state.graph_pipeline = pipeline  # type: ignore[attr-defined]


def register(routes: GraphRoutes, state: EmulatorState) -> None:
    settings_of(state)
    routes.add("/$batch", post_batch, ["POST"], scopes=ANY_SCOPE)


# --- the payload ---------------------------------------------------------------------------------


def _invalid(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _steps(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("requests"), list):
        raise _invalid("Invalid batch payload format.")
    steps = body["requests"]
    if not steps:
        raise _invalid("Invalid batch payload format: the batch has no requests.")
    if len(steps) > MAX_REQUESTS:
        raise _invalid(
            f"A batch can hold at most {MAX_REQUESTS} requests; this one has {len(steps)}."
        )
    seen: dict[str, dict[str, Any]] = {}
    for step in steps:
        if not isinstance(step, dict) or not all(
            isinstance(step.get(k), str) and step.get(k) for k in ("id", "method", "url")
        ):
            raise _invalid(
                "Invalid batch payload format: each request needs an id, a method and a url."
            )
        key = step["id"].lower()
        if key in seen:
            raise _invalid(f"The batch has more than one request with the id '{step['id']}'.")
        depends = step.get("dependsOn", [])
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise _invalid(f"dependsOn of request '{step['id']}' must be a list of ids.")
        headers = step.get("headers", {})
        if not isinstance(headers, dict):
            raise _invalid(f"headers of request '{step['id']}' must be an object.")
        seen[key] = step
    for step in steps:
        for dependency in step.get("dependsOn", []):
            if dependency.lower() not in seen:
                raise _invalid(
                    f"Request '{step['id']}' depends on '{dependency}', which is not in the batch."
                )
    _no_cycles(seen)
    return steps


def _no_cycles(steps: dict[str, dict[str, Any]]) -> None:
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(key: str) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            raise _invalid(f"The dependencies of request '{steps[key]['id']}' form a cycle.")
        state[key] = 1
        for dependency in steps[key].get("dependsOn", []):
            visit(dependency.lower())
        state[key] = 2

    for key in steps:
        visit(key)


# --- running it ----------------------------------------------------------------------------------


def post_batch(request: GraphRequest) -> Response:
    steps = _steps(request.json_body())
    pipeline: Pipeline | None = getattr(request.state, "graph_pipeline", None)
    if pipeline is None:
        raise GraphError(501, "NotImplemented", "$batch is not wired to the Graph pipeline.")
    runner = _BatchRun(request, pipeline, settings_of(request.state).mailbox_parallelism)
    results = runner.run(steps)
    return request.respond({"responses": [results[s["id"].lower()] for s in steps]})


class _BatchRun:
    def __init__(self, outer: GraphRequest, pipeline: Pipeline, parallelism: int) -> None:
        self._outer = outer
        self._pipeline = pipeline
        self._parallelism = parallelism
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()

    def run(self, steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        results: dict[str, dict[str, Any]] = {}
        waiting = {s["id"].lower(): s for s in steps}
        running: dict[Future[dict[str, Any]], str] = {}
        with ThreadPoolExecutor(max_workers=MAX_REQUESTS, thread_name_prefix="batch") as pool:
            while waiting or running:
                progressed = True
                while progressed:
                    progressed = False
                    for key, step in list(waiting.items()):
                        depends = [d.lower() for d in step.get("dependsOn", [])]
                        if not all(d in results for d in depends):
                            continue
                        del waiting[key]
                        progressed = True
                        if any(results[d]["status"] >= 400 for d in depends):
                            results[key] = _failed_dependency(step)
                        else:
                            running[pool.submit(self._one, step)] = key
                if not running:
                    continue
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    results[running.pop(future)] = future.result()
        return results

    def _one(self, step: dict[str, Any]) -> dict[str, Any]:
        try:
            inner = self._inner_request(step)
        except GraphError as error:
            return _error_result(step, error)
        slot = self._slot(inner)
        started = time.perf_counter()
        at = self._outer.state.clock.now_utc()
        with slot:
            response = self._pipeline(inner)
        self._outer.state.requests.add(
            BatchLoggedRequest(
                area="graph",
                method=inner.method,
                path=inner.path,
                query=inner.query_string.decode("latin-1"),
                status=response.status_code,
                time=at.isoformat(),
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
                user=inner.environ.get(USER_KEY),
                batch_id=self._outer.ids.request_id,
                batch_request_id=step["id"],
            )
        )
        return _result(step, response)

    def _inner_request(self, step: dict[str, Any]) -> Request:
        method = step["method"].upper()
        url = step["url"]
        if method not in METHODS:
            raise _invalid(f"The method '{step['method']}' is not supported in a batch.")
        if "://" in url:
            raise _invalid("The url of a request in a batch must be relative, e.g. '/me'.")
        path, _, query = url.partition("?")
        path = "/" + path.lstrip("/")
        if path.lower().rstrip("/") == "/$batch":
            raise _invalid("A batch cannot contain another batch.")
        headers = {str(k): str(v) for k, v in step.get("headers", {}).items()}
        lowered = {k.lower() for k in headers}
        body = step.get("body")
        data: bytes | None = None
        if body is not None:
            if "content-type" not in lowered:
                raise _invalid("A request with a body must have a Content-Type header.")
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
        outer = self._outer.http
        headers["Authorization"] = outer.headers.get("Authorization", "")
        if "client-request-id" not in lowered:
            headers["client-request-id"] = self._outer.ids.client_request_id
        builder = EnvironBuilder(
            path=GRAPH_VERSION + path,
            base_url=outer.host_url,
            query_string=query,
            method=method,
            headers=headers,
            data=data,
        )
        try:
            return Request(builder.get_environ())
        finally:
            builder.close()

    def _slot(self, inner: Request) -> Any:
        mailbox = self._mailbox_key(inner.path)
        if mailbox is None:
            return nullcontext()
        with self._slots_lock:
            slot = self._slots.get(mailbox)
            if slot is None:
                slot = threading.BoundedSemaphore(self._parallelism)
                self._slots[mailbox] = slot
            return slot

    def _mailbox_key(self, path: str) -> str | None:
        parts = [p for p in path.split("/") if p][1:]  # without "v1.0"
        if not parts:
            return None
        caller = self._outer.caller.user
        if parts[0].lower() == "me":
            return caller.object_id
        if parts[0].lower() == "users" and len(parts) > 1:
            user = self._outer.state.directory.user_in_tenant(caller.tenant_id, parts[1])
            return user.object_id if user else parts[1].lower()
        return None


def _result(step: dict[str, Any], response: Response) -> dict[str, Any]:
    headers = {k: v for k, v in response.headers.items() if k.lower() not in _SKIPPED_HEADERS}
    result: dict[str, Any] = {"id": step["id"], "status": response.status_code, "headers": headers}
    data = response.get_data()
    if data:
        try:
            result["body"] = json.loads(data)
        except ValueError:
            result["body"] = data.decode("utf-8", "replace")
    return result


def _error_result(step: dict[str, Any], error: GraphError) -> dict[str, Any]:
    return {
        "id": step["id"],
        "status": error.status,
        "headers": {"Content-Type": "application/json", **error.headers},
        "body": {"error": {"code": error.code, "message": error.message}},
    }


def _failed_dependency(step: dict[str, Any]) -> dict[str, Any]:
    return _error_result(
        step,
        GraphError(424, "FailedDependency", "A request this one depends on failed."),
    )
