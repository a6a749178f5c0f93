"""Issue 13's fault suite: Graph failing (503, 429, answers lost as timeouts are), storage down
between Graph and the app's record, and the host killed there, for create, update, delete and
notification processing. For each, after recovery (the host restarted, the maintenance timer run
through its admin endpoint, the queue drained), nothing is lost and nothing is duplicated: the
organiser's Outlook events, counted through the emulator, match `GET /api/conversations`."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import requests

from devtools.demo_directory import MANAGER
from devtools.host_app import HostApp
from shared.conversations.pushes import PUSH_GRACE
from shared.sync.service import FIRST_RETRY, LEASE
from tests.e2e.stack_support import check_in, eventually
from tests.faults.conftest import DAY, WAIT, FaultStack

AFTER_THE_GRACE = PUSH_GRACE + timedelta(seconds=5)
WINDOW = {
    "start": f"{DAY}T00:00:00",
    "end": f"{DAY + timedelta(days=14)}T00:00:00",
    "timeZone": "UTC",
}
TITLE = check_in(DAY)["title"]


def schedule(app: HostApp, **extra: Any) -> requests.Response:
    return app.call("POST", "conversations", MANAGER, json=check_in(DAY, **extra))


def scheduled(app: HostApp, **extra: Any) -> dict[str, Any]:
    answer = schedule(app, **extra)
    assert answer.status_code == 201, answer.text
    assert answer.json()["sync"]["state"] == "synced"
    return answer.json()


def listed(app: HostApp) -> list[dict[str, Any]]:
    answer = app.call("GET", "conversations", MANAGER, params=WINDOW)
    assert answer.status_code == 200, answer.text
    return answer.json()["value"]


def outlook_events(stack: FaultStack) -> list[dict[str, Any]]:
    return stack.control.mailbox_events(MANAGER.mail)


# --- create, update, delete ---------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """A user's change, the Graph request that carries it, and what must hold in the end."""

    name: str
    graph_method: str
    graph_path: str
    act: Callable[[HostApp, dict[str, Any] | None], requests.Response]
    needs_conversation: bool
    expected_start: str | None  # the one conversation's start afterwards; None: none at all

    def __str__(self) -> str:
        return self.name


def _create(app: HostApp, _: dict[str, Any] | None) -> requests.Response:
    return schedule(app)


def _update(app: HostApp, conversation: dict[str, Any] | None) -> requests.Response:
    assert conversation is not None
    times = {"start": f"{DAY}T11:00:00", "end": f"{DAY}T11:30:00", "timeZone": "UTC"}
    return app.call("PATCH", f"conversations/{conversation['id']}", MANAGER, json=times)


def _delete(app: HostApp, conversation: dict[str, Any] | None) -> requests.Response:
    assert conversation is not None
    return app.call("DELETE", f"conversations/{conversation['id']}", MANAGER)


CREATE = Operation("create", "POST", "/v1.0/me/events", _create, False, f"{DAY}T09:00:00+00:00")
UPDATE = Operation("update", "PATCH", "/v1.0/me/events/", _update, True, f"{DAY}T11:00:00+00:00")
DELETE = Operation("delete", "POST", "/v1.0/me/events/", _delete, True, None)  # .../cancel
OPERATIONS = [CREATE, UPDATE, DELETE]


def nothing_lost_nothing_duplicated(stack: FaultStack, app: HostApp, operation: Operation) -> None:
    """Outlook and the app agree: one synced conversation with one event, or neither."""
    events, conversations = outlook_events(stack), listed(app)
    if operation.expected_start is None:
        assert (events, conversations) == ([], [])
        return
    (event,) = events
    (conversation,) = conversations
    assert event["subject"] == TITLE
    assert conversation["outlook"]["eventId"] == event["id"]
    assert conversation["sync"] == {"state": "synced", "error": None}
    assert conversation["start"] == operation.expected_start
    assert event["start"]["dateTime"].startswith(operation.expected_start[:19])


def prepared(app: HostApp, operation: Operation) -> dict[str, Any] | None:
    return scheduled(app) if operation.needs_conversation else None


def graph_faults(retry_after: int) -> list[Any]:
    """Graph answering 503, throttling with Retry-After, and answers lost (as timeouts are)."""
    return [
        pytest.param({"status": 503}, id="503"),
        pytest.param({"status": 429, "retry_after": retry_after}, id="429"),
        pytest.param({"drop": True}, id="timeout"),
    ]


def inject(
    stack: FaultStack, path: str, method: str, fault: dict[str, Any], count: int | None
) -> None:
    if fault.get("drop"):
        stack.control.drop_answers(path, method=method, count=count)
    else:
        stack.control.add_fault(path, fault["status"], count=count, method=method,
                                retry_after=fault.get("retry_after"))  # fmt: skip


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
@pytest.mark.parametrize("fault", graph_faults(retry_after=3))
def test_graph_failing_leaves_the_push_pending_and_the_timer_finishes_it(
    stack: FaultStack, app: HostApp, operation: Operation, fault: dict[str, Any]
):
    conversation = prepared(app, operation)
    inject(stack, operation.graph_path, operation.graph_method, fault, count=1)

    answer = operation.act(app, conversation)

    assert answer.status_code in (200, 201), answer.text
    assert answer.json()["sync"]["state"] == "pending", "answered at once, Outlook later"
    stack.move_clock(timedelta(seconds=5))  # past the 429's Retry-After
    stack.run_timer()
    nothing_lost_nothing_duplicated(stack, app, operation)


def in_background(work: Callable[[], requests.Response]) -> Future[requests.Response]:
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(work)
    pool.shutdown(wait=False)
    return future


def interrupted(
    stack: FaultStack, app: HostApp, operation: Operation
) -> tuple[Future[requests.Response], dict[str, Any] | None]:
    """The operation under way, Graph's work done and its answer held."""
    conversation = prepared(app, operation)
    stack.control.hold_answers(operation.graph_path, method=operation.graph_method)
    answer = in_background(lambda: operation.act(app, conversation))
    eventually(lambda: stack.control.held_answers() == 1, "Graph did it and holds the answer")
    return answer, conversation


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_storage_down_between_graph_and_the_record(
    stack: FaultStack, app: HostApp, operation: Operation
):
    answer, _ = interrupted(stack, app, operation)
    stack.proxy.down()
    stack.control.release_answers()

    failed = answer.result(timeout=60)
    assert failed.status_code == 503, failed.text
    assert failed.json()["code"] == "storage_unavailable"
    assert int(failed.headers["Retry-After"]) > 0
    listing = app.call("GET", "conversations", MANAGER, params=WINDOW)
    assert (listing.status_code, listing.json()["code"]) == (503, "storage_unavailable")

    stack.proxy.up()
    stack.move_clock(AFTER_THE_GRACE)
    stack.run_timer()
    nothing_lost_nothing_duplicated(stack, app, operation)


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_host_killed_between_graph_and_the_record(
    stack: FaultStack, app: HostApp, operation: Operation
):
    answer, _ = interrupted(stack, app, operation)
    stack.kill_host()
    stack.control.release_answers()
    with pytest.raises(requests.ConnectionError):
        answer.result(timeout=60)

    stack.restart_host()
    stack.move_clock(AFTER_THE_GRACE)
    stack.run_timer()
    stack.drain()
    nothing_lost_nothing_duplicated(stack, app, operation)


@pytest.mark.parametrize(
    "recurrence",
    [
        pytest.param(None, id="one-off"),
        pytest.param(
            {
                "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["saturday"]},
                "range": {"type": "numbered", "startDate": str(DAY), "numberOfOccurrences": 3},
            },
            id="series",
        ),
    ],
)
def test_a_create_killed_after_graph_made_it_then_cancelled_leaves_no_meeting(
    stack: FaultStack, app: HostApp, recurrence: dict[str, Any] | None
):
    """The event exists, its id never reached the app, and the organiser cancels before the
    timer finished the create: the cancel finds the event by its transactionId."""
    stack.control.hold_answers(CREATE.graph_path, method="POST")
    body = {"recurrence": recurrence} if recurrence else {}
    answer = in_background(lambda: schedule(app, **body))
    eventually(lambda: stack.control.held_answers() == 1, "Graph made it and holds the answer")
    stack.kill_host()
    stack.control.release_answers()
    with pytest.raises(requests.ConnectionError):
        answer.result(timeout=60)
    stack.restart_host()
    (conversation,) = listed(app)
    assert len(outlook_events(stack)) == 1

    deleted = app.call("DELETE", f"conversations/{conversation['id']}", MANAGER)
    assert deleted.status_code == 200, deleted.text  # kept until Outlook has caught up
    stack.move_clock(AFTER_THE_GRACE)
    stack.run_timer()

    assert outlook_events(stack) == []
    assert listed(app) == []


# --- notification processing --------------------------------------------------------------------


def moved_in_outlook(stack: FaultStack, conversation: dict[str, Any]) -> None:
    stack.control.edit_outlook_event(
        MANAGER.mail,
        conversation["outlook"]["eventId"],
        start=f"{DAY}T14:00:00",
        end=f"{DAY}T14:30:00",
    )


def the_move_applied_once(stack: FaultStack, app: HostApp) -> None:
    (conversation,) = listed(app)
    assert conversation["start"] == f"{DAY}T14:00:00+00:00"
    changes = app.call("GET", "me/changes", MANAGER).json()["value"]
    assert [c["kind"] for c in changes if c["kind"] == "conversation_moved"] == [
        "conversation_moved"
    ], "told once"
    assert len(outlook_events(stack)) == 1
    assert stack.poisoned() == [], "nothing valid in the poison queue"


def not_moved(app: HostApp) -> bool:
    (conversation,) = listed(app)
    return conversation["start"] == f"{DAY}T09:00:00+00:00"


DELTA = "/v1.0/me/calendarView/delta"
# A guest from outside as the only attendee: the organiser's is the one mailbox that changes, so
# the one delta read a test interrupts is the one that carries the move.
OUTSIDE_GUEST = {"attendees": [{"email": "guest@northwind.example"}]}


@pytest.mark.parametrize("fault", graph_faults(retry_after=30))
def test_graph_failing_while_a_notification_is_read_leaves_the_read_to_the_timer(
    stack: FaultStack, app: HostApp, fault: dict[str, Any]
):
    """Issue 13, finding 6: an outage (every read fails until it ends) loses nothing, and the
    message is not poisoned for it."""
    conversation = scheduled(app, **OUTSIDE_GUEST)
    inject(stack, DELTA, "GET", fault, count=None)

    moved_in_outlook(stack, conversation)
    stack.drain()
    assert not_moved(app)
    stack.control.clear_faults()  # Graph is back

    stack.move_clock(FIRST_RETRY + timedelta(seconds=31))  # past the backoff or Retry-After
    stack.run_timer()

    the_move_applied_once(stack, app)


@pytest.mark.parametrize("interruption", ["storage down", "host killed"])
def test_a_notification_interrupted_while_it_is_applied(
    stack: FaultStack, app: HostApp, interruption: str
):
    conversation = scheduled(app, **OUTSIDE_GUEST)
    stack.control.hold_answers(DELTA, method="GET")
    moved_in_outlook(stack, conversation)
    eventually(lambda: stack.control.held_answers() == 1, "the delta read is under way")
    if interruption == "host killed":
        stack.kill_host()
        stack.control.release_answers()
        stack.restart_host()
    else:
        assert stack.host is not None
        stack.host.skip_log()
        stack.proxy.down()
        stack.control.release_answers()  # the changes arrive; storing them fails
        stack.host.wait_for("Functions.process_graph_notification' (Failed", timeout=WAIT)
        stack.proxy.up()

    stack.drain()  # the message comes back once its lease runs out
    stack.move_clock(LEASE + timedelta(seconds=5))  # the interrupted sync's lease on the mailbox
    stack.run_timer()

    the_move_applied_once(stack, app)
