"""Change notifications and delta tokens, piece by piece, with a tiny fake change feed.

No HTTPS server here: the delivery hub runs against a fake feed (so it does not depend on the
calendar store) and posts to a loopback receiver.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devtools.demo_directory import MANAGER
from devtools.graph_emulator.change_feed import FeedChange, Listener
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.graph_delta import DeltaTokens
from devtools.graph_emulator.notifications import DeliverySettings, EndpointHealth, hub_of
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.subscriptions import (
    Subscription,
    checked_expiry,
    checked_url,
    graph_instant,
    handshake,
    parse_instant,
)
from tests.emulator.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeFeed:
    """The smallest `CalendarFeed`: changes are emitted by hand."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []
        self.log: list[FeedChange] = []
        self.items: dict[str, dict[str, Any]] = {}

    def on_change(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def emit(self, event_id: str, change_type: str, mailbox: str = MANAGER.object_id) -> None:
        if change_type == "deleted":
            self.items.pop(event_id, None)
        else:
            self.items[event_id] = {"id": event_id, "changeKey": f"ck-{len(self.log)}"}
        change = FeedChange(len(self.log) + 1, mailbox, event_id, change_type, NOW)
        self.log.append(change)
        for listener in self.listeners:
            listener(change)

    def position(self) -> int:
        return len(self.log)

    def changes(self, mailbox: str, after: int) -> list[FeedChange]:
        return [c for c in self.log if c.sequence > after and c.mailbox == mailbox]

    def instances(self, owner: Any, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return list(self.items.values())

    def event(self, owner: Any, event_id: str) -> dict[str, Any] | None:
        return self.items.get(event_id)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    endpoint = WebhookReceiver().start()
    yield endpoint
    endpoint.stop()


def subscription(receiver: WebhookReceiver, **changes: Any) -> Subscription:
    values: dict[str, Any] = {
        "id": "sub-1",
        "app_id": "app",
        "creator_id": MANAGER.object_id,
        "tenant_id": MANAGER.tenant_id,
        "mailbox": MANAGER.object_id,
        "resource": "me/events",
        "change_types": ("created", "updated", "deleted"),
        "notification_url": receiver.url("/notify"),
        "lifecycle_url": receiver.url("/lifecycle"),
        "client_state": "state",
        "expires": datetime.now(UTC) + timedelta(hours=1),
    }
    values.update(changes)
    return Subscription(**values)


def test_the_hub_delivers_what_a_fake_feed_emits(receiver):
    state = EmulatorState()
    feed = FakeFeed()
    state.calendar_feed = feed  # type: ignore[attr-defined]
    hub = hub_of(state)
    hub.subscriptions.add(subscription(receiver, change_types=("created", "deleted")))

    feed.emit("e1", "created")
    feed.emit("e1", "updated")  # not subscribed
    feed.emit("e2", "created", mailbox="someone-else")
    feed.emit("e1", "deleted")
    flushed = hub.flush(timeout=10)

    items = receiver.items()
    assert flushed["delivered"] == items
    assert [(i["changeType"], i["resourceData"]["id"]) for i in items] == [
        ("created", "e1"),
        ("deleted", "e1"),
    ]
    assert items[0]["resourceData"]["@odata.etag"] == 'W/"ck-0"'
    assert items[1]["resourceData"]["@odata.etag"] == 'W/"ck-0"'  # the last one known
    assert items[0]["resource"] == f"Users/{MANAGER.object_id}/Events/e1"


def test_reset_drops_the_queue_and_ignores_answers_already_on_their_way(receiver):
    state = EmulatorState()
    state.calendar_feed = FakeFeed()  # type: ignore[attr-defined]
    hub = hub_of(state)
    hub.subscriptions.add(subscription(receiver))
    hub.hold()
    state.calendar_feed.emit("e1", "created")  # type: ignore[attr-defined]

    state.reset()

    assert hub.flush(timeout=5) == {
        "delivered": [],
        "pending": 0,
        "inFlight": 0,
        "held": False,
        "timedOut": False,
    }
    assert hub.subscriptions.all_live() == []


@pytest.mark.parametrize(
    ("slow", "total", "state"),
    [(0, 10, "normal"), (1, 10, "normal"), (2, 19, "slow"), (2, 13, "drop"), (1, 4, "normal")],
)
def test_endpoint_health_follows_the_share_of_slow_answers(slow, total, state):
    settings = DeliverySettings(slow_min_samples=5)
    health = EndpointHealth()
    for n in range(total):
        health.record(1000.0 + n, n >= total - slow, settings)  # the slow ones come last
    assert health.state == state


def test_a_dropped_endpoint_recovers_after_the_drop_period():
    settings = DeliverySettings(slow_min_samples=1, drop_seconds=600, slow_window_seconds=600)
    health = EndpointHealth()
    health.record(0.0, True, settings)
    assert health.state == "drop"
    health.refresh(599.0, settings)
    assert health.state == "drop"
    health.refresh(601.0, settings)
    assert health.state == "normal"


def test_delivery_settings_refuse_unknown_and_negative_values():
    with pytest.raises(ValueError, match="unknown"):
        DeliverySettings().changed({"colour": 1})
    with pytest.raises(ValueError, match="negative"):
        DeliverySettings().changed({"timeout_seconds": -1})
    assert DeliverySettings().changed({"batch_size": "3"}).batch_size == 3


def test_delta_tokens_are_signed_and_invalidated_per_mailbox():
    tokens = DeltaTokens()
    token = tokens.encode({"m": "a", "p": 3})
    assert tokens.decode(token) == ({"m": "a", "p": 3}, True)
    mac = token.partition(".")[2]
    forged = tokens.encode({"m": "a", "p": 1}).partition(".")[0] + "." + mac
    assert tokens.decode(forged)[1] is False
    assert tokens.decode("not a token") == (None, False)

    assert tokens.generation("a") == 0
    tokens.invalidate("a")
    assert (tokens.generation("a"), tokens.generation("b")) == (1, 0)
    tokens.invalidate()
    assert tokens.decode(token)[1] is False  # everything issued before is unsigned now


def test_instants_read_and_write_graphs_seven_digit_form():
    moment = parse_instant("2026-03-02T09:00:00.1234567Z")
    assert moment == datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
    assert parse_instant("2026-03-02T09:00:00") == datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert graph_instant(moment) == "2026-03-02T09:00:00.1234560Z"


def test_expiry_rules():
    assert checked_expiry("2026-03-09T08:59:00Z", NOW, creating=True) == datetime(
        2026, 3, 9, 8, 59, tzinfo=UTC
    )
    with pytest.raises(GraphError, match="10080 minutes"):
        checked_expiry("2026-03-09T09:01:00Z", NOW, creating=True)
    with pytest.raises(GraphError, match="in the future"):
        checked_expiry("2026-03-02T08:59:00Z", NOW, creating=True)
    with pytest.raises(GraphError, match="required"):
        checked_expiry(None, NOW, creating=True)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://127.0.0.1:7071/api/graph/notifications", True),
        ("http://localhost:8080/x", True),
        ("https://[::1]:8443/x", True),
        ("http://10.0.0.1/x", False),
        ("https://webhook.example.com/x", False),
        ("ftp://127.0.0.1/x", False),
    ],
)
def test_only_loopback_notification_urls_are_called(url, ok):
    if ok:
        assert checked_url(url, "notificationUrl") == url
    else:
        with pytest.raises(GraphError):
            checked_url(url, "notificationUrl")


@pytest.mark.parametrize(
    ("mode", "ok", "reason"),
    [
        ("echo", True, ""),
        ("wrong-token", False, "token"),
        ("status-500", False, "status"),
        ("html", False, "content-type"),
    ],
)
def test_the_handshake_checks_status_type_and_token(receiver, mode, ok, reason):
    receiver.handshake_mode = mode
    with requests.Session() as session:
        session.trust_env = False
        result = handshake(session, receiver.url("/notify?tenant=contoso"), 5)
    assert (result.ok, result.reason) == (ok, reason)
    assert receiver.handshakes[0][0] == "/notify"
