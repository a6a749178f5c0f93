"""Graph requests per scheduling operation, next to the minimum Graph allows, and the latency of
GET /api/availability with the emulator answering every Graph call after a fixed delay.

Runs its own stack (Azurite in memory, the emulator, the local host) on free ports.
Run: make bench   (or .venv/bin/python -m bench.scheduling [--latency-ms 20] [--calls 100])
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from datetime import UTC, datetime, timedelta

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.host_app import HostApp
from devtools.stack import LocalStack


def graph_calls(app: HostApp) -> int:
    log = app.control("GET", "requests")["requests"]
    return sum(1 for entry in log if entry["area"] == "graph")


def counted(app: HostApp, action) -> tuple[int, object]:
    app.control("DELETE", "requests")
    result = action()
    return graph_calls(app), result


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
        run(app, args.latency_ms, args.calls)


def run(app: HostApp, latency_ms: int, calls: int) -> None:
    day = (datetime.now(UTC) + timedelta(days=14)).date()
    window = {
        "start": f"{day}T00:00:00",
        "end": f"{day + timedelta(days=5)}T00:00:00",
        "timeZone": "Europe/London",
    }

    def availability(n: int):
        guests = [f"guest{i}@northwind.example" for i in range(n - 1)]
        people = ",".join([EMPLOYEE_ALEX.host_user_id, *guests])
        answer = app.call("GET", "availability", MANAGER, params={**window, "attendees": people})
        answer.raise_for_status()
        return answer

    print("Graph requests per operation (measured / minimum Graph allows)")
    for n in (1, 5, 20, 50):
        used, _ = counted(app, lambda n=n: availability(n))
        minimum = 1 + math.ceil(n / 20)  # calendarView + getSchedule per 20 schedules
        print(f"  availability, {n:2d} attendees: {used:3d} / {minimum}")
    body = {
        "type": "check_in",
        "title": "Bench",
        "start": f"{day}T09:00:00",
        "end": f"{day}T09:30:00",
        "timeZone": "Europe/London",
        "attendees": [{"email": EMPLOYEE_ALEX.mail}],
        "location": {"kind": "teams"},
    }
    used, created = counted(app, lambda: app.call("POST", "conversations", MANAGER, json=body))
    conversation = created.json()
    print(f"  create (Teams):               {used:3d} / 1")
    path = f"conversations/{conversation['id']}"
    change = {"start": f"{day}T10:00:00", "end": f"{day}T10:30:00", "timeZone": "Europe/London"}
    used, _ = counted(app, lambda: app.call("PATCH", path, MANAGER, json=change))
    print(f"  update (time):                {used:3d} / 1")
    used, _ = counted(app, lambda: app.call("DELETE", path, MANAGER))
    print(f"  delete (cancel):              {used:3d} / 1")

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
