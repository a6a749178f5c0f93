"""The local host serves a sample app's HTTP, queue and timer functions over real Azurite queues."""

import queue
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devtools.localhost.host import LocalHost
from devtools.localhost.hostconfig import HostConfig, QueueOptions
from devtools.localhost.timers import TimerRunner
from shared.storage.account import StorageAccount
from tests.localhost import sample_app

pytestmark = pytest.mark.integration
SETTLE_TIMEOUT = 30  # seconds: an upper bound on waiting for a queue outcome, never a delay


@pytest.fixture(scope="module")
def settled() -> "queue.Queue[tuple[str, str, str]]":
    return queue.Queue()


@pytest.fixture(scope="module")
def host(storage: StorageAccount, settled) -> Iterator[LocalHost]:
    config = HostConfig(
        route_prefix="api",
        queues=QueueOptions(
            max_dequeue_count=3,
            visibility_timeout=timedelta(0),
            max_polling_interval=timedelta(seconds=1),
            batch_size=4,
        ),
    )
    local = LocalHost(
        sample_app.app,
        config=config,
        environ={"SAMPLE_SCHEDULE": "0 0 3 * * *"},
        storage=storage,
        port=0,
        on_queue_settled=lambda *outcome: settled.put(outcome),
    )
    local.start()
    yield local
    local.stop()


def wait_for(settled, expected_text: str) -> list[tuple[str, str, str]]:
    """Outcomes up to and including the one for `expected_text` settling for good."""
    seen = []
    while True:
        outcome = settled.get(timeout=SETTLE_TIMEOUT)
        seen.append(outcome)
        if outcome[1] == expected_text and outcome[2] != "retried":
            return seen


def wait_for_all(settled, expected: set[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Outcomes until every expected one has settled, in whatever order the workers finish."""
    seen: list[tuple[str, str, str]] = []
    while not expected <= set(seen):
        seen.append(settled.get(timeout=SETTLE_TIMEOUT))
    return seen


def test_routes_resolve_by_precedence_and_bind_parameters(host):
    def call(path):
        answer = requests.get(f"{host.base_url}{path}", timeout=5)
        assert answer.status_code == 200, path
        return answer.json()

    assert call("/api/items/special")["function"] == "special_item"
    assert call("/api/items/12") == {
        "function": "item_by_number",
        "route": {"id": "12"},
        "query": {},
    }
    assert call("/api/items/pen?colour=red") == {
        "function": "item_by_name",
        "route": {"name": "pen"},
        "query": {"colour": "red"},
    }
    assert call("/api/pages")["route"] == {}
    assert call("/api/files/a/b.txt")["route"] == {"path": "a/b.txt"}


def test_unknown_paths_and_methods_answer_404(host):
    assert requests.get(f"{host.base_url}/api/nowhere", timeout=5).status_code == 404
    assert requests.delete(f"{host.base_url}/api/items/1", timeout=5).status_code == 404


def test_queue_output_reaches_the_queue_trigger_and_its_own_output(host, storage, settled):
    answer = requests.post(f"{host.base_url}/api/work", data="job-1", timeout=5)
    assert answer.status_code == 202
    # The two functions run on separate workers: either may report first.
    wait_for_all(
        settled, {("do_work", "job-1", "succeeded"), ("record_done", "did job-1", "succeeded")}
    )


def test_a_failing_message_is_retried_then_moved_to_the_poison_queue(host, storage, settled):
    requests.post(f"{host.base_url}/api/work", data="fail-7", timeout=5).raise_for_status()
    outcomes = [o for o in wait_for(settled, "fail-7") if o[1] == "fail-7"]
    assert outcomes == [
        ("do_work", "fail-7", "retried"),
        ("do_work", "fail-7", "retried"),
        ("do_work", "fail-7", "poisoned"),
    ]
    poisoned = [
        m.content for m in storage.queue("sample-work-poison").peek_messages(max_messages=32)
    ]
    assert "fail-7" in poisoned


def test_timers_resolve_app_setting_schedules_and_fire_on_demand(host):
    assert [t.schedule for t in host.catalog.timers] == ["0 0 3 * * *"]
    sample_app.timer_ran.clear()
    answer = requests.post(f"{host.base_url}/admin/functions/tick", json={"input": ""}, timeout=5)
    assert answer.status_code == 202
    assert sample_app.timer_ran.is_set()
    assert sample_app.timer_runs[-1] is False


def test_admin_invocation_of_a_queue_function_enqueues_its_input(host, settled):
    answer = requests.post(
        f"{host.base_url}/admin/functions/do_work", json={"input": "job-9"}, timeout=5
    )
    assert answer.status_code == 202
    wait_for_all(
        settled, {("do_work", "job-9", "succeeded"), ("record_done", "did job-9", "succeeded")}
    )
    assert (
        requests.post(f"{host.base_url}/admin/functions/nope", json={}, timeout=5).status_code
        == 404
    )


def timer_runs_on(host: LocalHost, readings: list[datetime]) -> list[bool]:
    """Each run's past_due, for the first two runs of a five-minute timer whose clock gives
    `readings`, then the last of them for ever."""
    clock = iter(readings)
    stopping = threading.Event()
    results: list[object] = []

    def on_result(invocation: object) -> None:
        results.append(invocation)
        if len(results) == 2:
            stopping.set()

    entry = replace(host.catalog.timers[0], schedule="0 */5 * * * *")
    sample_app.timer_runs.clear()
    runner = TimerRunner(entry, on_result, stopping, clock=lambda: next(clock, readings[-1]))
    give_up = threading.Timer(SETTLE_TIMEOUT, stopping.set)  # an upper bound, never a delay
    give_up.start()
    runner.start()
    runner.join()
    give_up.cancel()
    return list(sample_app.timer_runs)


def test_a_timer_fires_on_its_schedule_and_says_when_it_is_past_due(host):
    start = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    readings = [
        start,  # the schedule is checked at start
        start,  # next occurrence: 12:05:00
        start + timedelta(minutes=5, milliseconds=500),  # due: fires on time; next at 12:10:00
        start + timedelta(minutes=5, milliseconds=500),  # not due yet
        start + timedelta(minutes=12),  # two minutes late: fires past due
    ]

    assert timer_runs_on(host, readings) == [False, True]


def test_a_clock_moved_while_the_timer_runs_runs_it_again(host):
    """The local stack's clock can be moved at any moment (devtools.clock): not even a move made
    during a run is lost."""
    start = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    readings = [
        start,  # the schedule is checked at start
        start,  # next occurrence: 12:05:00
        start + timedelta(minutes=5, milliseconds=500),  # due: fires; meanwhile, the move...
        start + timedelta(days=8),  # ...past 12:10:00, so it runs again, past due
    ]

    assert timer_runs_on(host, readings) == [False, True]
