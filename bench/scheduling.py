"""Graph requests per scheduling operation, next to the minimum Graph allows, and the latency of
GET /api/availability with the emulator answering every Graph call after a fixed delay.

Each write is answered by Graph at once (its direct requests), then echoed a moment later: Graph
notifies every mailbox the meeting is in, and the app reads each one's changes (delta). The
bench holds the notifications while an operation runs, so the direct requests are counted
alone, then releases them and waits until the app has processed every one (the host logs a
"graph notification" line per message) before counting the echo and going on.

Runs its own stack (Azurite in memory, the emulator, the local host) on free ports.
Run: make bench   (or .venv/bin/python -m bench.scheduling [--latency-ms 20] [--calls 100])
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.host_app import HostApp
from devtools.stack import LocalStack

PROCESSED = "graph notification"  # functions/sync.py logs one line per queue message
ECHO_TIMEOUT = 60.0
POLL_SECONDS = 0.01  # the bench polls the host's log file for the processed messages
_EVENT_ID = re.compile(r"(events/)[^/]+")


class Echo:
    """Webhook echoes of writes: delivered by the emulator, then processed by the queue worker."""

    def __init__(self, app: HostApp, host_log: Path) -> None:
        self._app = app
        self._host_log = host_log

    def hold(self) -> None:
        self._app.control("POST", "notifications/hold")

    def settle(self) -> None:
        """Deliver every notification now and wait until the app has processed each of them."""
        self._app.control("POST", "notifications/release")
        delivered = len(self._app.control("POST", "notifications/flush")["delivered"])
        started = time.perf_counter()
        while self._processed() < delivered:
            if time.perf_counter() - started > ECHO_TIMEOUT:
                raise TimeoutError(
                    f"{delivered - self._processed()} notifications not processed in "
                    f"{ECHO_TIMEOUT:.0f}s; see {self._host_log}"
                )
            time.sleep(POLL_SECONDS)

    def _processed(self) -> int:
        return self._host_log.read_text(errors="replace").count(PROCESSED)


@dataclass
class Counted:
    direct: list[str]  # "METHOD path" of each Graph request made while answering
    echo: list[str]  # the Graph requests the webhook echo made afterwards
    answer: requests.Response

    def echo_summary(self) -> str:
        deltas = sum(1 for r in self.echo if "/delta" in r)
        others = len(self.echo) - deltas
        return f"echo: {deltas} delta reads" + (f" + {others} other" if others else "")


def graph_requests(app: HostApp) -> list[str]:
    log = app.control("GET", "requests")["requests"]
    return [f"{e['method']} {_short(e['path'])}" for e in log if e["area"] == "graph"]


def _short(path: str) -> str:
    return _EVENT_ID.sub(r"\1{id}", path.removeprefix("/v1.0/"))


def counted(app: HostApp, echo: Echo, action: Callable[[], requests.Response]) -> Counted:
    echo.settle()  # nothing of the operation before is still to come
    echo.hold()
    app.control("DELETE", "requests")
    answer = action()
    direct = graph_requests(app)
    app.control("DELETE", "requests")
    echo.settle()
    return Counted(direct, graph_requests(app), answer)


def expect(answer: requests.Response, status: int, sync_state: str | None = None) -> None:
    if answer.status_code != status:
        raise SystemExit(f"expected {status}, got {answer.status_code}: {answer.text}")
    if sync_state is not None and answer.json()["sync"]["state"] != sync_state:
        raise SystemExit(f"expected sync state {sync_state}: {answer.text}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--calls", type=int, default=100)
    args = parser.parse_args()
    with LocalStack.throwaway() as stack:
        app = HostApp(stack.host_url, stack.emulator_url, stack.ca_file, stack.environ)
        app.set_switches(MANAGER, allow=True).raise_for_status()
        for person in (MANAGER, EMPLOYEE_ALEX):
            assert app.connect(person) == {"outlook": "connected"}
        run(
            app, Echo(app, stack.state / "logs" / "functions-host.log"), args.latency_ms, args.calls
        )


def run(app: HostApp, echo: Echo, latency_ms: int, calls: int) -> None:
    day = (datetime.now(UTC) + timedelta(days=14)).date()
    window = {
        "start": f"{day}T00:00:00",
        "end": f"{day + timedelta(days=5)}T00:00:00",
        "timeZone": "Europe/London",
    }

    def availability(n: int) -> requests.Response:
        guests = [f"guest{i}@northwind.example" for i in range(n - 1)]
        people = ",".join([EMPLOYEE_ALEX.host_user_id, *guests])
        answer = app.call("GET", "availability", MANAGER, params={**window, "attendees": people})
        answer.raise_for_status()
        return answer

    def line(name: str, result: Counted, minimum: int, *, echo_too: bool = True) -> None:
        figures = f"  {name:<30} {len(result.direct):3d} / {minimum}"
        if echo_too:
            figures += f"   ({', '.join(result.direct)}; {result.echo_summary()})"
        print(figures)

    print("Graph requests per operation (direct / minimum Graph allows)")
    for n in (1, 5, 20, 50):
        result = counted(app, echo, lambda n=n: availability(n))
        minimum = 1 + math.ceil(n / 20)  # calendarView + getSchedule per 20 schedules
        line(f"availability, {n:2d} attendees:", result, minimum, echo_too=False)
    body: dict[str, Any] = {
        "type": "check_in",
        "title": "Bench",
        "start": f"{day}T09:00:00",
        "end": f"{day}T09:30:00",
        "timeZone": "Europe/London",
        "attendees": [{"email": EMPLOYEE_ALEX.mail}],
        "location": {"kind": "teams"},
    }
    created = counted(app, echo, lambda: app.call("POST", "conversations", MANAGER, json=body))
    expect(created.answer, 201, "synced")
    line("create (Teams):", created, 1)
    path = f"conversations/{created.answer.json()['id']}"
    change = {"start": f"{day}T10:00:00", "end": f"{day}T10:30:00", "timeZone": "Europe/London"}
    updated = counted(app, echo, lambda: app.call("PATCH", path, MANAGER, json=change))
    expect(updated.answer, 200, "synced")
    line("update (time):", updated, 1)
    deleted = counted(app, echo, lambda: app.call("DELETE", path, MANAGER))
    expect(deleted.answer, 204)
    line("delete (cancel):", deleted, 1)
    print("  (echo: Graph notifies each mailbox the meeting is in; minimum 1 delta read each)")

    app.control("POST", "faults", latency_ms=latency_ms)
    for n in (1, 20):
        samples = []
        for _ in range(calls):
            started = time.perf_counter()
            availability(n)
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        p99 = samples[min(len(samples) - 1, math.ceil(0.99 * len(samples)) - 1)]
        print(
            f"availability latency, {n:2d} attendees, Graph at {latency_ms} ms, {calls} calls: "
            f"p50 {statistics.median(samples):.1f} ms, p99 {p99:.1f} ms"
        )
    app.control("DELETE", "faults")


if __name__ == "__main__":
    main()
