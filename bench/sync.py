"""Two-way sync figures: time from an Outlook change to the conversation updated (p50/p99),
Graph requests for a burst of changes in one mailbox next to the minimum (one delta round), and
the time for a move to be applied after a storm of notifications that arrive while the mailbox
is being read (each its own Outlook edit, several people at once: issue 13, finding 4), and a
series burst: many occurrences of a weekly series relocated in Outlook at once, the Graph
requests the app made to learn them (delta gives occurrences without their place: issue 12) and
the time until the last shows in the list.

Runs its own stack (Azurite in memory, the emulator, the local host) on free ports.
Run: .venv/bin/python -m bench.sync [--changes 30] [--burst 100] [--storm 300] [--series 20]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.host_app import HostApp
from devtools.stack import LocalStack

POLL_SECONDS = 0.005  # the bench polls the app's API to time when the change shows


def create_conversation(app: HostApp) -> dict:
    day = (datetime.now(UTC) + timedelta(days=5)).date()
    answer = app.call(
        "POST",
        "conversations",
        MANAGER,
        json={
            "type": "check_in",
            "title": "Bench",
            "start": f"{day}T09:00:00",
            "end": f"{day}T09:30:00",
            "timeZone": "UTC",
            "attendees": [{"email": EMPLOYEE_ALEX.mail}],
            "location": {"kind": "text", "text": "Room 0"},
        },
    )
    answer.raise_for_status()
    return answer.json()


def location_of(app: HostApp, conversation_id: str) -> str | None:
    return app.call("GET", f"conversations/{conversation_id}", MANAGER).json()["location"]["text"]


def wait_for_location(app: HostApp, conversation_id: str, text: str, limit: float = 60) -> float:
    started = time.perf_counter()
    while location_of(app, conversation_id) != text:
        if time.perf_counter() - started > limit:
            raise TimeoutError(f"location {text!r} did not arrive in {limit}s")
        time.sleep(POLL_SECONDS)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--changes", type=int, default=30)
    parser.add_argument("--burst", type=int, default=100)
    parser.add_argument("--storm", type=int, default=300)
    parser.add_argument("--series", type=int, default=20)
    args = parser.parse_args()
    with LocalStack.throwaway() as stack:
        app = HostApp(stack.host_url, stack.emulator_url, stack.ca_file, stack.environ)
        app.set_switches(MANAGER, allow=True).raise_for_status()
        assert app.connect(MANAGER) == {"outlook": "connected"}
        conversation = create_conversation(app)
        event_path = f"mailboxes/{MANAGER.mail}/events/{conversation['outlook']['eventId']}"
        wait_for_location(app, conversation["id"], "Room 0")

        samples = []
        for i in range(1, args.changes + 1):
            started = time.perf_counter()
            app.control("PATCH", event_path, location=f"Room {i}")
            wait_for_location(app, conversation["id"], f"Room {i}")
            samples.append((time.perf_counter() - started) * 1000)
        samples.sort()
        p99 = samples[math.ceil(0.99 * len(samples)) - 1]
        print(
            f"Outlook change -> conversation updated, {len(samples)} changes: "
            f"p50 {statistics.median(samples):.0f} ms, p99 {p99:.0f} ms"
        )

        app.control("POST", "notifications/hold")
        app.control("DELETE", "requests")
        for i in range(args.burst):
            app.control("PATCH", event_path, location=f"Burst {i}")
        app.control("POST", "notifications/release")
        app.control("POST", "notifications/flush")
        wait_for_location(app, conversation["id"], f"Burst {args.burst - 1}")
        graph = [r for r in app.control("GET", "requests")["requests"] if r["area"] == "graph"]
        delta_calls = sum(1 for r in graph if "/delta" in r["path"])
        print(
            f"burst of {args.burst} changes in one mailbox: {len(graph)} Graph requests "
            f"({delta_calls} delta reads; minimum 1 delta read)"
        )
        storm_then_move(app, event_path, conversation["id"], args.storm)
        series_burst(app, args.series)


def storm_then_move(app: HostApp, event_path: str, conversation_id: str, storm: int) -> None:
    """Edits of another event by several people at once, each notified while the mailbox is
    being read, then a move of the conversation's: the seconds until that move is applied."""
    day = (datetime.now(UTC) + timedelta(days=5)).date()
    own = app.control("POST", f"mailboxes/{MANAGER.mail}/events", subject="Storm",
                      start=f"{day}T07:00:00", end=f"{day}T08:00:00")  # fmt: skip
    own_path = f"mailboxes/{MANAGER.mail}/events/{own['id']}"
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as people:
        list(people.map(lambda n: app.control("PATCH", own_path, location=f"Storm {n}"),
                        range(storm)))  # fmt: skip
    edited = time.perf_counter() - started
    app.control("PATCH", event_path, location="After the storm")
    moved = wait_for_location(app, conversation_id, "After the storm")
    print(
        f"{storm} Outlook edits in {edited:.1f} s, each notified, then a change of the "
        f"conversation: applied {moved:.1f} s after it was made"
    )


def series_burst(app: HostApp, edits: int) -> None:
    """`edits` occurrences of a weekly series relocated in Outlook, notified together."""
    first = datetime.now(UTC).date() + timedelta(days=7)
    answer = app.call(
        "POST",
        "conversations",
        MANAGER,
        json={
            "type": "check_in",
            "title": "Bench series",
            "start": f"{first}T10:00:00",
            "end": f"{first}T10:30:00",
            "timeZone": "UTC",
            "attendees": [{"email": EMPLOYEE_ALEX.mail}],
            "location": {"kind": "text", "text": "Room 0"},
            "recurrence": {
                "pattern": {"type": "weekly", "daysOfWeek": [first.strftime("%A").lower()]},
                "range": {"type": "numbered", "numberOfOccurrences": edits},
            },
        },
    )
    answer.raise_for_status()
    conversation = answer.json()
    master = conversation["outlook"]["eventId"]
    end = first + timedelta(weeks=edits + 1)
    occurrences = app.control(
        "GET",
        f"mailboxes/{MANAGER.mail}/events/{master}/instances?start={first}T00:00:00Z"
        f"&end={end}T00:00:00Z",
    )["value"]
    app.control("POST", "notifications/hold")
    app.control("DELETE", "requests")
    started = time.perf_counter()
    for n, occurrence in enumerate(occurrences):
        app.control(
            "PATCH", f"mailboxes/{MANAGER.mail}/events/{occurrence['id']}", location=f"Room {n}"
        )
    app.control("POST", "notifications/release")
    app.control("POST", "notifications/flush")
    last = f"Room {len(occurrences) - 1}"
    window = {"start": f"{first}T00:00:00", "end": f"{end}T00:00:00", "timeZone": "UTC"}
    while True:
        listed = app.call("GET", "conversations", MANAGER, params=window).json()["value"]
        (mine,) = [c for c in listed if c["id"] == conversation["id"]]
        if mine["occurrences"][-1]["location"]["text"] == last:
            break
        if time.perf_counter() - started > 120:
            raise TimeoutError("the series burst did not arrive in 120 s")
        time.sleep(POLL_SECONDS)
    took = time.perf_counter() - started
    graph = [r for r in app.control("GET", "requests")["requests"] if r["area"] == "graph"]
    instances = sum(1 for r in graph if r["path"].endswith("/instances"))
    delta = sum(1 for r in graph if "/delta" in r["path"])
    print(
        f"series burst: {len(occurrences)} occurrences relocated in Outlook: all listed "
        f"{took:.1f} s after the first edit; {len(graph)} Graph requests ({delta} delta reads, "
        f"{instances} instance lists)"
    )


if __name__ == "__main__":
    main()
