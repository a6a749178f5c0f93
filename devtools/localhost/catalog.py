"""What the app declares: its functions grouped by trigger, read from `app.get_functions()`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from devtools.localhost.routes import RouteTemplate

SUPPORTED_OUTPUTS = {"http", "queue"}


@dataclass(frozen=True)
class QueueOutput:
    arg_name: str
    queue_name: str


@dataclass(frozen=True)
class FunctionEntry:
    name: str
    user_function: Callable[..., Any]
    trigger_arg: str
    queue_outputs: tuple[QueueOutput, ...] = ()


@dataclass(frozen=True)
class HttpFunction(FunctionEntry):
    route: RouteTemplate = field(default=None)  # type: ignore[assignment]
    methods: frozenset[str] = frozenset()
    auth_level: str = "anonymous"


@dataclass(frozen=True)
class TimerFunction(FunctionEntry):
    schedule: str = ""
    run_on_startup: bool = False


@dataclass(frozen=True)
class QueueFunction(FunctionEntry):
    queue_name: str = ""


@dataclass(frozen=True)
class Catalog:
    http: tuple[HttpFunction, ...]
    timers: tuple[TimerFunction, ...]
    queues: tuple[QueueFunction, ...]

    def by_name(self, name: str) -> FunctionEntry | None:
        for entry in (*self.http, *self.timers, *self.queues):
            if entry.name.lower() == name.lower():
                return entry
        return None

    def output_queue_names(self) -> set[str]:
        return {
            out.queue_name
            for entry in (*self.http, *self.timers, *self.queues)
            for out in entry.queue_outputs
        }


def build_catalog(app: Any, route_prefix: str, environ: Mapping[str, str]) -> Catalog:
    """Index the app; raise ValueError naming any binding the local host cannot serve."""
    http, timers, queues = [], [], []
    for function in app.get_functions():
        bindings = [json.loads(raw) for raw in function.get_raw_bindings()]
        trigger = next(b for b in bindings if b["type"].endswith("Trigger"))
        outputs = []
        for binding in bindings:
            if binding is trigger or binding["direction"] != "OUT":
                if binding is not trigger:
                    raise ValueError(
                        f"{function.get_function_name()}: input binding "
                        f"{binding['type']!r} is not supported by the local host"
                    )
                continue
            if binding["type"] not in SUPPORTED_OUTPUTS:
                raise ValueError(
                    f"{function.get_function_name()}: output binding "
                    f"{binding['type']!r} is not supported by the local host"
                )
            if binding["type"] == "queue":
                outputs.append(
                    QueueOutput(binding["name"], _resolve(binding["queueName"], environ))
                )
        common: dict[str, Any] = {
            "name": function.get_function_name(),
            "user_function": function.get_user_function(),
            "trigger_arg": trigger["name"],
            "queue_outputs": tuple(outputs),
        }
        kind = trigger["type"]
        if kind == "httpTrigger":
            route = trigger.get("route") or function.get_function_name()
            http.append(
                HttpFunction(
                    **common,
                    route=RouteTemplate.compile(_resolve(route, environ), route_prefix),
                    methods=frozenset(
                        m.upper()
                        for m in trigger.get("methods")
                        or ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
                    ),
                    auth_level=str(trigger.get("authLevel", "function")).lower(),
                )
            )
        elif kind == "timerTrigger":
            timers.append(
                TimerFunction(
                    **common,
                    schedule=_resolve(trigger["schedule"], environ),
                    run_on_startup=bool(trigger.get("runOnStartup", False)),
                )
            )
        elif kind == "queueTrigger":
            queues.append(
                QueueFunction(**common, queue_name=_resolve(trigger["queueName"], environ))
            )
        else:
            raise ValueError(
                f"{common['name']}: trigger {kind!r} is not supported by the local host"
            )
    http.sort(key=lambda f: f.route.sort_key())
    return Catalog(tuple(http), tuple(timers), tuple(queues))


def _resolve(value: str, environ: Mapping[str, str]) -> str:
    """`%NAME%` binding expressions read app settings, as in Azure."""
    if value.startswith("%") and value.endswith("%") and len(value) > 2:
        name = value[1:-1]
        if name not in environ:
            raise ValueError(f"binding expression {value} names an app setting that is not set")
        return environ[name]
    return value
