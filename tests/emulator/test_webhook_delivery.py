"""Change and lifecycle notifications reaching a real endpoint over loopback HTTP.

Tests never sleep to wait: `flush` returns once the emulator has posted what is deliverable,
and the emulator's clock is advanced to make delayed or retried deliveries due.
"""

from collections.abc import Iterator

import pytest

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from tests.emulator.sync_support import DAY, Graph, in_minutes
from tests.emulator.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration

CHANGE_KEYS = {
    "subscriptionId",
    "subscriptionExpirationDateTime",
    "changeType",
    "resource",
    "resourceData",
    "clientState",
    "tenantId",
}
LIFECYCLE_KEYS = {
    "lifecycleEvent",
    "subscriptionId",
    "subscriptionExpirationDateTime",
    "clientState",
    "tenantId",
}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    endpoint = WebhookReceiver().start()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def manager(identity, emulator, http) -> Graph:
    token = identity.sign_in(MANAGER.user_principal_name)[1]["access_token"]
    return Graph(http, emulator.graph_base_url, token)


@pytest.fixture
def subscription(manager, receiver) -> dict:
    answer = manager.subscribe(receiver)
    assert answer.status_code == 201, answer.text
    return answer.json()


def outlook(control, emulator, http, method: str, path: str, body=None):
    """A person working in Outlook (the mailbox control API)."""
    answer = http.request(
        method, f"{emulator.base_url}/_emulator/mailboxes/{path}", json=body, timeout=10
    )
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def deliveries(control, path: str = "/notify") -> list[dict]:
    return [d for d in control.notifications()["deliveries"] if d["url"].endswith(path)]


def test_created_updated_deleted_through_graph_arrive_with_graphs_payload(
    manager, receiver, subscription, control
):
    event = manager.create_event("Planning")
    assert manager.call("PATCH", f"/me/events/{event['id']}", {"subject": "Moved"}).ok
    assert manager.call("DELETE", f"/me/events/{event['id']}").status_code == 204

    flushed = control.flush_notifications()

    items = receiver.items()
    assert [i["changeType"] for i in items] == ["created", "updated", "deleted"]
    assert flushed["delivered"] == items
    resource = f"Users/{MANAGER.object_id}/Events/{event['id']}"
    for item in items:
        assert set(item) == CHANGE_KEYS
        assert item["subscriptionId"] == subscription["id"]
        assert item["subscriptionExpirationDateTime"] == subscription["expirationDateTime"]
        assert item["clientState"] == "secret-client-state"
        assert item["tenantId"] == MANAGER.tenant_id
        assert item["resource"] == resource
        assert item["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"
        assert item["resourceData"]["@odata.id"] == resource
        assert item["resourceData"]["id"] == event["id"]
        assert item["resourceData"]["@odata.etag"].startswith('W/"')
    assert items[0]["resourceData"]["@odata.etag"] == f'W/"{event["changeKey"]}"'


def test_changes_made_in_outlook_are_notified_too(
    manager, receiver, subscription, control, emulator, http
):
    made = outlook(
        control,
        emulator,
        http,
        "POST",
        f"{MANAGER.mail}/events",
        {
            "subject": "Dentist",
            "start": f"{DAY}T15:00:00",
            "end": f"{DAY}T16:00:00",
            "timeZone": "UTC",
        },
    )
    outlook(
        control,
        emulator,
        http,
        "PATCH",
        f"{MANAGER.mail}/events/{made['id']}",
        {"location": "Clinic"},
    )
    outlook(control, emulator, http, "DELETE", f"{MANAGER.mail}/events/{made['id']}")

    control.flush_notifications()

    items = receiver.items()
    assert [(i["changeType"], i["resourceData"]["id"]) for i in items] == [
        ("created", made["id"]),
        ("updated", made["id"]),
        ("deleted", made["id"]),
    ]


def test_an_invitation_reaches_the_attendees_subscription(
    manager, receiver, identity, emulator, http, control
):
    alex = Graph(
        http,
        emulator.graph_base_url,
        identity.sign_in(EMPLOYEE_ALEX.user_principal_name)[1]["access_token"],
    )
    alex_receiver = WebhookReceiver().start()
    try:
        assert alex.subscribe(alex_receiver).status_code == 201
        manager.create_event(
            "1:1",
            attendees=[{"emailAddress": {"address": EMPLOYEE_ALEX.mail}, "type": "required"}],
        )
        control.flush_notifications()
        (item,) = alex_receiver.items()
    finally:
        alex_receiver.stop()

    assert item["changeType"] == "created"
    assert item["resource"].startswith(f"Users/{EMPLOYEE_ALEX.object_id}/Events/")
    assert receiver.items() == []  # the manager has no subscription here


def test_only_the_subscribed_change_types_are_sent(manager, receiver, control):
    assert manager.subscribe(receiver, changeType="deleted").status_code == 201
    event = manager.create_event("Short-lived")
    manager.call("PATCH", f"/me/events/{event['id']}", {"subject": "Still short"})
    manager.call("DELETE", f"/me/events/{event['id']}")

    control.flush_notifications()

    assert [i["changeType"] for i in receiver.items()] == ["deleted"]


def test_every_live_subscription_on_the_mailbox_is_notified(manager, receiver, control):
    first = manager.subscribe(receiver).json()["id"]
    second = manager.subscribe(receiver).json()["id"]
    manager.create_event("Twice")

    control.flush_notifications()

    assert sorted(i["subscriptionId"] for i in receiver.items()) == sorted([first, second])


def test_delivery_happens_after_the_request_in_the_background(
    manager, receiver, subscription, control
):
    control.hold_notifications()
    manager.create_event("Queued")

    assert receiver.received == []
    assert len(control.notifications()["pending"]) == 1

    control.release_notifications()
    control.flush_notifications()
    assert [i["changeType"] for i in receiver.items()] == ["created"]


def test_several_notifications_travel_in_one_post(manager, receiver, subscription, control):
    control.hold_notifications()
    for hour in (9, 10, 11):
        manager.create_event(f"Block {hour}", hour=hour)
    control.release_notifications()
    control.flush_notifications()

    (post,) = receiver.posts()
    assert len(post["value"]) == 3
    (logged,) = deliveries(control)
    assert (logged["outcome"], logged["status"], logged["count"]) == ("delivered", 202, 3)
    assert logged["latencyMs"] >= 0


def test_duplicates_deliver_the_same_notification_several_times(
    manager, receiver, subscription, control
):
    control.duplicate_notifications(3)
    event = manager.create_event("Echo")

    control.flush_notifications()

    items = receiver.items()
    assert len(items) == 3
    assert {i["resourceData"]["id"] for i in items} == {event["id"]}


def test_shuffled_delivery_changes_the_order_within_a_post(
    manager, receiver, subscription, control
):
    control.hold_notifications()
    created = [manager.create_event(f"E{hour}", hour=hour)["id"] for hour in range(8, 16)]
    control.shuffle_notifications(True, seed=3)
    control.release_notifications()
    control.flush_notifications()

    arrived = [i["resourceData"]["id"] for i in receiver.items()]
    assert sorted(arrived) == sorted(created)
    assert arrived != created


def test_a_failed_post_is_retried_until_it_is_accepted(manager, receiver, subscription, control):
    receiver.answer_next(500, 503)
    event = manager.create_event("Retry me")

    control.flush_notifications()

    assert [i["resourceData"]["id"] for i in receiver.items()] == [event["id"]]
    logged = deliveries(control)
    assert [(d["outcome"], d["status"], d["attempt"]) for d in logged] == [
        ("failed", 500, 1),
        ("failed", 503, 2),
        ("delivered", 202, 3),
    ]


def test_a_notification_failing_for_four_hours_is_discarded_and_missed_is_sent(manager, control):
    failing = WebhookReceiver(default_status=500).start()
    lifecycle = WebhookReceiver().start()
    try:
        created = manager.call(
            "POST",
            "/subscriptions",
            {
                "changeType": "created",
                "notificationUrl": failing.url("/notify"),
                "lifecycleNotificationUrl": lifecycle.url("/lifecycle"),
                "resource": "me/events",
                "expirationDateTime": in_minutes(24 * 60),
                "clientState": "s",
            },
        ).json()
        manager.create_event("Never lands")
        control.flush_notifications(horizon_seconds=0.3)
        assert failing.posts(delivered_only=False)  # tried, refused

        control.advance_clock(4 * 3600 + 60)
        control.flush_notifications()
        (missed,) = lifecycle.items("/lifecycle")
    finally:
        failing.stop()
        lifecycle.stop()

    assert missed["lifecycleEvent"] == "missed"
    assert missed["subscriptionId"] == created["id"]
    dropped = [d for d in control.notifications()["deliveries"] if d["outcome"] == "dropped"]
    assert [d["reason"] for d in dropped] == ["retry window over"]
    assert control.notifications()["pending"] == []


def test_a_slow_endpoint_is_delayed_then_dropped(manager, receiver, subscription, control):
    control.notification_settings(
        slow_after_seconds=0.25, slow_min_samples=5, batch_size=1, slow_delay_seconds=10
    )
    url = receiver.url("/notify")

    def state() -> str:
        return control.notifications()["endpoints"][url]["state"]

    control.hold_notifications()
    for hour in range(8, 16):  # 8 fast answers
        manager.create_event(f"Fast {hour}", hour=hour)
    control.release_notifications()
    control.flush_notifications()
    receiver.slow_next(1, 0.5)
    manager.create_event("Slow one", hour=16)
    control.flush_notifications()
    assert state() == "slow"  # 1 of 9 answers over the limit: 11% > 10%

    manager.create_event("Delayed", hour=17)
    flushed = control.flush_notifications()
    assert len(receiver.items()) == 9
    assert flushed["pending"] == 1  # due 10 s later (emulator clock)
    control.advance_clock(10)
    control.flush_notifications()
    assert len(receiver.items()) == 10

    receiver.slow_next(2, 0.5)
    manager.create_event("Slow two", hour=18)
    manager.create_event("Slow three", hour=19)
    control.flush_notifications()
    assert state() == "drop"  # 3 of 12 over the limit: 25% > 15%

    manager.create_event("Lost", hour=20)
    control.flush_notifications()
    assert len(receiver.items()) == 12
    dropped = [d for d in control.notifications()["deliveries"] if d["outcome"] == "dropped"]
    assert [d["reason"] for d in dropped] == ["endpoint throttled"]
    assert [i["lifecycleEvent"] for i in receiver.items("/lifecycle")] == ["missed"]

    control.advance_clock(601)  # the drop period and the 10-minute window are over
    manager.create_event("Back", hour=21)
    control.flush_notifications()
    assert len(receiver.items()) == 13
    assert state() == "normal"


def test_reauthorization_required_then_paused_until_reauthorized(
    manager, receiver, subscription, control
):
    control.lifecycle_event(subscription["id"], "reauthorizationRequired", grace_seconds=60)
    manager.create_event("Within the grace period")
    control.flush_notifications()

    (challenge,) = receiver.items("/lifecycle")
    assert set(challenge) == LIFECYCLE_KEYS
    assert challenge["lifecycleEvent"] == "reauthorizationRequired"
    assert challenge["subscriptionId"] == subscription["id"]
    assert challenge["clientState"] == "secret-client-state"
    assert challenge["tenantId"] == MANAGER.tenant_id
    assert challenge["subscriptionExpirationDateTime"] == subscription["expirationDateTime"]
    assert len(receiver.items()) == 1

    control.advance_clock(61)
    manager.create_event("Paused", hour=11)
    control.flush_notifications()
    assert len(receiver.items()) == 1

    assert (
        manager.call("POST", f"/subscriptions/{subscription['id']}/reauthorize").status_code == 204
    )
    manager.create_event("Flowing again", hour=12)
    control.flush_notifications()
    assert [i["changeType"] for i in receiver.items()] == ["created", "created"]


def test_renewing_also_reauthorizes(manager, receiver, subscription, control):
    control.lifecycle_event(subscription["id"], "reauthorizationRequired", grace_seconds=0)
    renewed = manager.call(
        "PATCH", f"/subscriptions/{subscription['id']}", {"expirationDateTime": in_minutes(120)}
    )
    assert renewed.status_code == 200
    manager.create_event("After renewal")
    control.flush_notifications()
    assert len(receiver.items()) == 1


def test_subscription_removed_is_announced_and_removes_it(manager, receiver, subscription, control):
    control.lifecycle_event(subscription["id"], "subscriptionRemoved")
    manager.create_event("Nobody listens")
    control.flush_notifications()

    (removed,) = receiver.items("/lifecycle")
    assert set(removed) == LIFECYCLE_KEYS
    assert removed["lifecycleEvent"] == "subscriptionRemoved"
    assert receiver.items() == []
    assert manager.call("GET", f"/subscriptions/{subscription['id']}").status_code == 404
    assert control.subscriptions() == []


def test_missed_loses_what_was_queued_and_tells_the_app(manager, receiver, subscription, control):
    control.hold_notifications()
    manager.create_event("Will be lost")
    answer = control.lifecycle_event(subscription["id"], "missed", drop_next=1)
    assert answer["lost"] == 1
    control.release_notifications()
    manager.create_event("Lost too", hour=10)
    manager.create_event("Arrives", hour=11)
    control.flush_notifications()

    assert [i["lifecycleEvent"] for i in receiver.items("/lifecycle")] == ["missed"]
    assert len(receiver.items()) == 1
    reasons = [
        d["reason"] for d in control.notifications()["deliveries"] if d["outcome"] == "dropped"
    ]
    assert reasons == ["missed (control API)", "missed (control API)"]


def test_drop_mode_loses_every_change_until_turned_off(manager, receiver, subscription, control):
    control.drop_notifications(True)
    manager.create_event("Gone")
    control.drop_notifications(False)
    manager.create_event("Kept", hour=10)

    delivered = control.flush_notifications()["delivered"]

    assert [i["changeType"] for i in delivered] == ["created"]
    assert len(receiver.items()) == 1


def test_a_deleted_subscription_gets_nothing_more(manager, receiver, subscription, control):
    control.hold_notifications()
    manager.create_event("Queued before the delete")
    assert manager.call("DELETE", f"/subscriptions/{subscription['id']}").status_code == 204
    control.release_notifications()
    manager.create_event("After the delete", hour=10)
    control.flush_notifications()

    assert receiver.items() == []


def test_reset_forgets_subscriptions_queue_and_log(manager, receiver, subscription, control):
    control.hold_notifications()
    manager.create_event("Pending at reset")
    control.reset()

    flushed = control.flush_notifications()
    assert flushed["delivered"] == []
    assert flushed["pending"] == 0
    assert control.subscriptions() == []
    assert control.notifications()["deliveries"] == []
