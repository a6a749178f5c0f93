"""The timer schedules, queue workers do the work: claims, duplicates, stale items, tenant pauses,
unreadable messages and the poison queue's reason."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.errors import UnreadableMessage
from shared.graph.gate import MailboxGate
from shared.schedule import CLAIM, WorkItem, WorkKind
from shared.storage.keys import table_key
from shared.sync.subscriptions import LIFETIME, RENEW_BEFORE
from tests.unit.world import ADELE, ALEX, ORG, World

RENEW = WorkKind.RENEW_SUBSCRIPTION


def renewal_due() -> World:
    world = World.connected(ADELE)
    world.timer()
    world.clock.advance(LIFETIME - RENEW_BEFORE)
    return world


def patches(world: World) -> int:
    return sum(1 for r in world.graph.requests if r.startswith("PATCH subscriptions"))


def test_the_timer_only_enqueues_and_a_worker_renews():
    world = renewal_due()

    assert world.app.maintenance_timer.run()[RENEW] == {"enqueued": 1}
    assert patches(world) == 0
    assert world.work()[RENEW] == {"renewed": 1}
    assert patches(world) == 1


def test_an_item_in_the_queue_is_not_enqueued_again_until_its_claim_lapses():
    world = renewal_due()
    world.app.maintenance_timer.run()
    (message,) = world.work_queue.messages

    assert world.app.maintenance_timer.run()[RENEW] == {"in the queue": 1}
    world.work_queue.messages.clear()  # the message is lost (or its worker died for good)
    world.clock.advance(CLAIM)
    assert world.app.maintenance_timer.run()[RENEW] == {"enqueued": 1}
    assert world.work_queue.messages[0].text == message.text


def test_a_work_item_enqueued_twice_is_done_once():
    world = renewal_due()
    world.app.maintenance_timer.run()
    world.work_queue.send([world.work_queue.messages[0].text])  # the queue delivers it twice

    assert world.work()[RENEW] == {"renewed": 1, "not due any more": 1}
    assert patches(world) == 1


def test_a_copy_of_a_message_whose_item_another_worker_is_running_does_nothing():
    world = renewal_due()
    world.app.maintenance_timer.run()
    (message,) = world.work_queue.messages
    (item,) = world.app.schedule.due(RENEW, world.clock(), 10)
    assert world.app.schedule.take(item, "the first copy", world.clock())  # running there

    assert world.app.maintenance_worker.process(message.text, "a copy") == (
        "taken by another worker"
    )
    assert patches(world) == 0
    assert world.app.maintenance_worker.process(message.text, "the first copy") == "renewed"


def test_an_item_that_stopped_being_due_before_its_worker_came_does_nothing():
    world = renewal_due()
    world.app.maintenance_timer.run()
    world.app.lifecycle.disconnect(ADELE.caller)  # its subscription and renewal go
    before = list(world.graph.requests)

    assert world.work()[RENEW] == {"not due any more": 1}
    assert world.graph.requests == before


def test_a_claim_never_brings_back_an_item_removed_meanwhile():
    world = renewal_due()
    (item,) = world.app.schedule.due(RENEW, world.clock(), 10)
    world.app.schedule.remove(item.kind, item.due, item.key, lane=item.lane)

    assert world.app.schedule.claim(item, world.clock()) is False
    assert world.app.schedule.due(RENEW, world.clock(), 10) == []


def test_retry_after_pauses_the_tenants_work_and_the_item_returns_when_the_pause_ends():
    world = renewal_due()
    world.graph.fail("PATCH", "subscriptions", 429, code="TooManyRequests", retry_after=60)

    assert world.timer()[RENEW] == {"throttled: tenant paused": 1}
    assert world.app.tenant_pauses.until(ORG) == world.clock() + timedelta(seconds=60)
    (waiting,) = world.work_queue.messages
    assert waiting.visible_at == world.clock() + timedelta(seconds=60), "back when it ends"
    assert world.app.maintenance_timer.run()[RENEW] == {"in the queue": 1}

    world.clock.advance(timedelta(seconds=61))
    assert world.work()[RENEW] == {"renewed": 1}


def test_a_paused_tenants_items_are_not_enqueued_and_another_tenants_are():
    world = renewal_due()
    world.app.tenant_pauses.pause(ORG, 120)
    other = table_key("org-fabrikam", "u-pradeep")
    world.app.schedule.add(
        WorkKind.WARN_RECONNECT, world.clock(), other, OrgId="org-fabrikam", UserId="u-pradeep"
    )

    report = world.app.maintenance_timer.run()

    assert report[RENEW] == {"tenant paused": 1}
    assert report[WorkKind.WARN_RECONNECT] == {"enqueued": 1}
    assert world.work()[WorkKind.WARN_RECONNECT] != {}, "fabrikam's item ran"
    assert patches(world) == 0
    world.clock.advance(timedelta(seconds=121))
    assert world.timer()[RENEW] == {"renewed": 1}


def test_a_message_already_queued_for_a_tenant_paused_since_waits_for_the_pause():
    world = renewal_due()
    world.app.maintenance_timer.run()
    world.app.tenant_pauses.pause(ORG, 30)

    assert world.work()[RENEW] == {"tenant paused": 1}
    assert patches(world) == 0
    world.clock.advance(timedelta(seconds=31))
    assert world.work()[RENEW] == {"renewed": 1}


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"kind": "renew-subscription", "key": "k"}),
        json.dumps({"kind": "renew-subscription", "due": "yesterday", "key": "k"}),
        json.dumps({"kind": "no-such-kind", "due": "20261201T080000Z", "key": "k"}),
        json.dumps(
            {"kind": "renew-subscription", "due": "20261201T080000Z", "key": "k", "lane": 3}
        ),
    ],
)
def test_a_message_no_retry_can_help_is_unreadable(text):
    with pytest.raises(UnreadableMessage):
        World().app.maintenance_worker.process(text, "m1")


class _Message:
    def __init__(self, body: str, dequeue_count: int) -> None:
        self._body, self.dequeue_count, self.id = body.encode(), dequeue_count, "m1"

    def get_body(self) -> bytes:
        return self._body


class _Out:
    value: Any = None

    def set(self, value: Any) -> None:
        self.value = value


def test_a_failing_item_is_retried_then_poisoned_with_its_reason(monkeypatch):
    import functions.sync as sync

    world = renewal_due()
    world.app.maintenance_timer.run()
    (message,) = world.work_queue.messages
    world.graph.fail("PATCH", "subscriptions", 500, code="Boom", times=100)
    world.graph.fail("POST", "subscriptions", 500, code="Boom", times=100)
    monkeypatch.setattr(sync, "services", lambda: world.app)
    monkeypatch.setattr(world.app.connections, "graph_for", _raising)

    with pytest.raises(RuntimeError):  # the host retries it after visibilityTimeout
        sync.do_maintenance_work(_Message(message.text, 1), _Out())
    poison = _Out()
    sync.do_maintenance_work(_Message(message.text, sync.MAX_DEQUEUE_COUNT), poison)

    parked = json.loads(poison.value)
    assert parked["message"] == message.text
    assert "RuntimeError: Graph is down" in parked["reason"]


def _raising(org_id: str, user_id: str) -> Any:
    raise RuntimeError("Graph is down")


def test_the_poison_rule_counts_as_host_json_does():
    import functions.sync as sync

    host = json.loads((Path(__file__).parents[2] / "host.json").read_text())
    assert host["extensions"]["queues"]["maxDequeueCount"] == sync.MAX_DEQUEUE_COUNT


def test_a_kind_registered_by_another_area_is_enqueued_and_run():
    world = World()
    ran: list[str] = []

    def handle(item: WorkItem) -> str:
        ran.append(item.key)
        return "done"

    world.app.maintenance.handlers.register(WorkKind.WARN_RECONNECT, handle)
    world.app.schedule.add(WorkKind.WARN_RECONNECT, world.clock(), table_key(ORG, ALEX.user_id))

    assert world.timer()[WorkKind.WARN_RECONNECT] == {"done": 1}
    assert ran == [table_key(ORG, ALEX.user_id)]


def test_at_most_four_requests_to_one_mailbox_at_once_and_others_are_not_held_up():
    gate = MailboxGate()
    inside, release = threading.Semaphore(0), threading.Event()
    peak = {"a": 0}
    current = {"a": 0}
    lock = threading.Lock()

    def request() -> None:
        with gate.slot("a"):
            with lock:
                current["a"] += 1
                peak["a"] = max(peak["a"], current["a"])
            inside.release()
            release.wait()
            with lock:
                current["a"] -= 1

    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for _ in range(4):
        inside.acquire()
    with gate.slot("b"):  # another mailbox goes at once
        pass
    assert current["a"] == 4
    release.set()
    for thread in threads:
        thread.join()
    assert peak["a"] == 4
    assert gate.in_flight() == 0, "nothing kept for idle mailboxes"


def test_an_item_that_cannot_be_sent_waits_and_the_others_go(monkeypatch):
    world = World.connected(ADELE, ALEX)
    world.timer()
    world.clock.advance(LIFETIME - RENEW_BEFORE)
    sent: list[str] = []

    def send(messages: list[str], *, delay: float = 0) -> None:
        if not sent:
            sent.append("failed")
            raise ConnectionError("queue unreachable")
        sent.extend(messages)

    monkeypatch.setattr(world.work_queue, "send", send)

    assert world.app.maintenance_timer.run()[RENEW] == {"not handed out": 1, "enqueued": 1}
