"""Graph's webhooks at the app's door: the handshake, proof of origin, and bad input."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from shared.settings import StorageSettings
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.entities import EntityTable
from shared.sync.subscriptions import Subscription, SubscriptionRepository, client_state_hash

pytestmark = pytest.mark.e2e


@pytest.fixture
def subscription(azurite) -> tuple[Subscription, str]:
    storage = StorageAccount(StorageSettings(connection_string=azurite.connection_string))
    secret = uuid.uuid4().hex
    subscription = Subscription(
        str(uuid.uuid4()),
        f"org-{uuid.uuid4().hex[:8]}",
        "u-alex",
        client_state_hash(secret),
        datetime.now(UTC) + timedelta(days=3),
    )
    SubscriptionRepository(EntityTable(storage.table(names.SUBSCRIPTIONS_TABLE))).put(subscription)
    return subscription, secret


def notify(local_host, body, path="graph/notifications") -> requests.Response:
    return requests.post(f"{local_host.base_url}/api/{path}", json=body, timeout=10)


def notification(subscription: Subscription, client_state: str) -> dict:
    return {
        "value": [
            {
                "subscriptionId": subscription.id,
                "clientState": client_state,
                "changeType": "updated",
                "resource": "Users/abc/Events/AAMk",
                "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "id": "AAMk"},
                "subscriptionExpirationDateTime": "2026-12-01T00:00:00Z",
                "tenantId": "6bb2ee6e-06cc-41b5-a063-adcfcbaa2f48",
            }
        ]
    }


@pytest.mark.parametrize("path", ["graph/notifications", "graph/lifecycle"])
def test_the_validation_handshake_echoes_the_decoded_token_as_plain_text(local_host, path):
    answer = requests.post(
        f"{local_host.base_url}/api/{path}?validationToken=Validation%3A%20Testing%20client%20app",
        timeout=10,
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.text == "Validation: Testing client app"


def test_a_post_of_ten_thousand_notifications_is_refused_before_anything_is_read(local_host):
    items = [
        {"subscriptionId": str(uuid.uuid4()), "clientState": uuid.uuid4().hex * 2}
        for _ in range(10_000)
    ]
    local_host.skip_log()
    answer = notify(local_host, {"value": items})
    assert answer.status_code == 413
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert answer.json()["code"] == "too_large"


def test_notifications_signed_with_a_key_we_do_not_hold_are_dropped(local_host):
    forged = {"subscriptionId": str(uuid.uuid4()), "clientState": "v1.w1.AAAA.BBBB"}
    local_host.skip_log()
    assert notify(local_host, {"value": [forged] * 500}).status_code == 202
    line = local_host.wait_for("notifications dropped")
    assert "500 with a clientState we did not sign" in line
    assert forged["subscriptionId"] in line


def test_a_proven_notification_is_queued_and_processed(local_host, subscription):
    sub, secret = subscription
    local_host.skip_log()
    answer = notify(local_host, notification(sub, secret))
    assert answer.status_code == 202
    assert "Succeeded" in local_host.wait_for("Functions.process_graph_notification")


def test_a_wrong_client_state_or_unknown_subscription_is_dropped_and_logged(
    local_host, subscription
):
    sub, _ = subscription
    local_host.skip_log()
    assert notify(local_host, notification(sub, "guessed-secret")).status_code == 202
    assert sub.id in local_host.wait_for("1 with a wrong clientState")
    stranger = Subscription("not-ours", "org", "u", "x", sub.expires_at)
    assert notify(local_host, notification(stranger, "x")).status_code == 202
    assert "not-ours" in local_host.wait_for("1 for an unknown subscription")


MALFORMED = [
    b"{not json",
    b'{"value": "nope"}',
    b"[1, 2]",
    b'{"value": [1]}',
    b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than any parser's recursion
]


@pytest.mark.parametrize("path", ["graph/notifications", "graph/lifecycle"])
@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_body_gets_400_problem_never_500(local_host, body, path):
    answer = requests.post(f"{local_host.base_url}/api/{path}", data=body, timeout=10)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("application/problem+json")


@pytest.mark.parametrize("field", ["subscriptionId", "clientState"])
def test_text_that_cannot_be_stored_is_dropped_not_a_500(local_host, subscription, field):
    sub, secret = subscription
    item = notification(sub, secret)["value"][0] | {field: "PLACEHOLDER"}
    body = json.dumps({"value": [item]}).replace('"PLACEHOLDER"', '"\\ud800"').encode()
    local_host.skip_log()
    answer = requests.post(f"{local_host.base_url}/api/graph/notifications", data=body, timeout=10)
    assert answer.status_code == 202
    assert local_host.wait_for("dropped")


def test_an_unreadable_queue_message_goes_to_the_poison_queue_at_once_with_the_reason(
    local_host, azurite
):
    storage = StorageAccount(StorageSettings(connection_string=azurite.connection_string))
    marker = uuid.uuid4().hex
    poison = storage.queue(names.GRAPH_NOTIFICATIONS_POISON_QUEUE)
    poison.clear_messages()  # earlier tests' poison could hide ours past one peek
    local_host.skip_log()
    storage.queue(names.GRAPH_NOTIFICATIONS_QUEUE).send_message(json.dumps({"marker": marker}))

    line = local_host.wait_for("unreadable")
    assert "moved to the poison queue" in line
    message_id = line.split("graph notification ", 1)[1].split(" ", 1)[0]
    local_host.wait_for(f"Succeeded, Id={message_id}")  # its output is sent by then

    poisoned = [json.loads(m.content) for m in poison.peek_messages(32)]
    (ours,) = [p for p in poisoned if marker in p["message"]]
    assert "orgId" in ours["reason"]
