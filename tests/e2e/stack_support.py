"""`make run`'s own stack (devtools.stack.LocalStack) on free ports, for tests that need all of
it: restarts, the shared clock, the functions host's log file."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.host_app import HostApp
from devtools.stack import LocalStack, free_port
from shared.storage import names
from shared.storage.account import StorageAccount

T = TypeVar("T")
POLL_SECONDS = 0.2  # between looks at an HTTP API while waiting for background work


class StackHome:
    """One state directory and fixed ports (as `make run` has), for stacks started one by one."""

    def __init__(self, state: Path, *, in_memory: bool) -> None:
        self.state = state
        self.in_memory = in_memory
        self.host_port, self.emulator_port = free_port(), free_port()

    @contextmanager
    def running(self) -> Iterator[LocalStack]:
        stack = LocalStack(self.state, host_port=self.host_port, emulator_port=self.emulator_port,
                           azurite_ports=(0, 0, 0), in_memory=self.in_memory)  # fmt: skip
        with stack:
            yield stack

    @property
    def host_log(self) -> Path:
        return self.state / "logs" / "functions-host.log"


def host_app(stack: LocalStack, org_id: str | None = None) -> HostApp:
    app = HostApp(stack.host_url, stack.emulator_url, stack.ca_file, stack.environ)
    if org_id is not None:
        app.org_id = org_id
    return app


def eventually(look: Callable[[], T | None], what: str, timeout: float = 30) -> T:
    """The first truthy answer of `look`; polled, as background work gives no other signal."""
    deadline = time.monotonic() + timeout
    while True:
        seen = look()
        if seen:
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(POLL_SECONDS)


def work_in_queue(storage: StorageAccount) -> int:
    """Maintenance work items in the queue, those being handled (hidden) included."""
    queue = storage.queue(names.MAINTENANCE_WORK_QUEUE)
    return int(queue.get_queue_properties().approximate_message_count)


def run_maintenance(base_url: str, storage: StorageAccount, timeout: float = 60) -> None:
    """The timer, run through the host's admin endpoint (it answers once the timer has handed
    out the work), then its queue workers until the work queue is empty."""
    import requests

    answer = requests.post(f"{base_url}/admin/functions/maintenance", json={}, timeout=60)
    assert answer.status_code == 202, answer.text
    eventually(lambda: work_in_queue(storage) == 0, "the maintenance work done", timeout)


def connect_both(app: HostApp) -> None:
    assert app.set_switches(MANAGER, allow=True).status_code == 200
    for who in (MANAGER, EMPLOYEE_ALEX):
        assert app.connect(who) == {"outlook": "connected"}


def check_in(day: Any, **extra: Any) -> dict[str, Any]:
    """The body of Manager's check-in with Alex, 09:00 UTC on `day`."""
    return {
        "type": "check_in",
        "title": "Weekly check-in",
        "attendees": [{"email": EMPLOYEE_ALEX.mail, "userId": EMPLOYEE_ALEX.host_user_id}],
        "start": f"{day}T09:00:00",
        "end": f"{day}T09:30:00",
        "timeZone": "UTC",
        "location": {"kind": "text", "text": "Room 1"},
        **extra,
    }


def schedule(app: HostApp, day: Any) -> dict[str, Any]:
    """Manager's check-in with Alex, 09:00 UTC on `day`."""
    answer = app.call("POST", "conversations", MANAGER, json=check_in(day))
    assert answer.status_code == 201, answer.text
    return answer.json()


def move_in_outlook(app: HostApp, conversation: dict[str, Any], day: Any) -> dict[str, Any]:
    """The manager moves the meeting to 14:00 in Outlook; answers the conversation once the app
    has followed (Graph notification, queue, delta)."""
    event_id = conversation["outlook"]["eventId"]
    app.control("PATCH", f"mailboxes/{MANAGER.mail}/events/{event_id}",
                start=f"{day}T14:00:00", end=f"{day}T14:30:00")  # fmt: skip
    app.control("POST", "notifications/flush")
    return eventually(
        lambda: _moved(app, conversation["id"], f"{day}T14:00:00+00:00"),
        "the Outlook move reaches the conversation",
    )


def _moved(app: HostApp, conversation_id: str, start: str) -> dict[str, Any] | None:
    seen = app.call("GET", f"conversations/{conversation_id}", MANAGER).json()
    return seen if seen.get("start") == start else None


def later_day(days: int = 10) -> Any:
    return (datetime.now(UTC) + timedelta(days=days)).date()
