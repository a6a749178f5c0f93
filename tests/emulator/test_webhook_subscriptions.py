"""`/v1.0/subscriptions` over HTTPS: the validation handshake, expiry rules, renewal, removal."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.graph_emulator.subscriptions import parse_instant
from tests.emulator.sync_support import Graph, in_minutes, subscription_body
from tests.emulator.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration


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
def alex(identity, emulator, http) -> Graph:
    token = identity.sign_in(EMPLOYEE_ALEX.user_principal_name)[1]["access_token"]
    return Graph(http, emulator.graph_base_url, token)


def test_creating_validates_both_urls_then_answers_the_subscription(manager, receiver, control):
    answer = manager.subscribe(receiver, latestSupportedTlsVersion="v1_2")

    assert answer.status_code == 201, answer.text
    assert answer.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    created = answer.json()
    assert created["@odata.context"].endswith("/$metadata#subscriptions/$entity")
    assert created["resource"] == "me/events"
    assert created["changeType"] == "created,updated,deleted"
    assert created["clientState"] == "secret-client-state"
    assert created["notificationUrl"] == receiver.url("/notify")
    assert created["lifecycleNotificationUrl"] == receiver.url("/lifecycle")
    assert created["creatorId"] == MANAGER.object_id
    assert created["applicationId"] == control.directory()["app"]["client_id"]
    assert created["latestSupportedTlsVersion"] == "v1_2"
    assert created["includeResourceData"] is False
    assert str(uuid.UUID(created["id"])) == created["id"]
    assert created["expirationDateTime"].endswith("Z")
    # One handshake per URL, the token arriving URL-decoded (it has spaces and colons).
    assert [path for path, _ in receiver.handshakes] == ["/notify", "/lifecycle"]
    assert all(token.startswith("Validation: ") for _, token in receiver.handshakes)

    listed = manager.call("GET", "/subscriptions").json()["value"]
    assert [s["id"] for s in listed] == [created["id"]]
    assert manager.call("GET", f"/subscriptions/{created['id']}").json()["id"] == created["id"]


@pytest.mark.parametrize(
    ("mode", "message_part"),
    [
        ("wrong-token", "must exactly match validationToken"),
        ("status-500", "must respond with 200 OK"),
        ("html", "text/plain"),
    ],
)
def test_a_failed_handshake_answers_400_and_creates_nothing(
    manager, receiver, control, mode, message_part
):
    receiver.handshake_mode = mode

    answer = manager.subscribe(receiver)

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "ValidationError"
    assert error["message"].startswith("Subscription validation request failed.")
    assert message_part in error["message"]
    assert control.subscriptions() == []


def test_a_lifecycle_url_that_fails_the_handshake_fails_the_create(manager, receiver, control):
    other = WebhookReceiver(handshake_mode="status-500").start()
    try:
        answer = manager.subscribe(receiver, lifecycleNotificationUrl=other.url("/lifecycle"))
    finally:
        other.stop()

    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("Subscription validation request failed")
    assert control.subscriptions() == []


def test_an_endpoint_slower_than_the_handshake_timeout_fails_it(manager, receiver, control):
    control.notification_settings(handshake_timeout_seconds=0.2)
    receiver.handshake_delay = 0.6  # the limit is 10 s at Graph; scaled down here

    answer = manager.subscribe(receiver)

    assert answer.status_code == 400
    assert "did not answer" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("overrides", "code", "message_part"),
    [
        ({"expirationDateTime": in_minutes(-5)}, "ExtensionError", "in the future"),
        (
            {"expirationDateTime": in_minutes(10_080 + 30)},
            "ExtensionError",
            "can only be 10080 minutes in the future",
        ),
        ({"expirationDateTime": None}, "InvalidRequest", "expirationDateTime is a required"),
        ({"clientState": "x" * 129}, "InvalidRequest", "128"),
        ({"changeType": "created,moved"}, "InvalidRequest", "changeType"),
        ({"resource": "me/messages"}, "InvalidRequest", "not supported"),
        ({"notificationUrl": "http://example.com/hook"}, "InvalidRequest", "loopback"),
        ({"latestSupportedTlsVersion": "v2_0"}, "InvalidRequest", "latestSupportedTlsVersion"),
        ({"colour": "blue"}, "RequestBodyRead", "colour"),
    ],
)
def test_invalid_subscriptions_are_refused_before_any_handshake(
    manager, receiver, overrides, code, message_part
):
    answer = manager.subscribe(receiver, **overrides)

    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert message_part in error["message"]
    assert receiver.handshakes == []


def test_the_longest_outlook_lifetime_is_accepted(manager, receiver):
    answer = manager.subscribe(receiver, expirationDateTime=in_minutes(10_070))
    assert answer.status_code == 201, answer.text


def test_users_id_events_is_the_same_mailbox_and_another_users_is_denied(manager, receiver):
    own = manager.subscribe(receiver, resource=f"users/{MANAGER.object_id}/events")
    other = manager.subscribe(receiver, resource=f"users/{EMPLOYEE_ALEX.object_id}/events")

    assert own.status_code == 201
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "ErrorAccessDenied"


def test_renewal_moves_the_expiry_and_does_not_repeat_the_handshake(manager, receiver):
    created = manager.subscribe(receiver).json()
    handshakes = len(receiver.handshakes)
    later = in_minutes(3 * 24 * 60)

    renewed = manager.call(
        "PATCH", f"/subscriptions/{created['id']}", {"expirationDateTime": later}
    )

    assert renewed.status_code == 200, renewed.text
    assert parse_instant(renewed.json()["expirationDateTime"]) == parse_instant(later)
    assert len(receiver.handshakes) == handshakes


def test_moving_the_notification_url_validates_the_new_one(manager, receiver):
    created = manager.subscribe(receiver).json()
    bad = WebhookReceiver(handshake_mode="wrong-token").start()
    try:
        refused = manager.call(
            "PATCH", f"/subscriptions/{created['id']}", {"notificationUrl": bad.url("/x")}
        )
        bad.handshake_mode = "echo"
        moved = manager.call(
            "PATCH", f"/subscriptions/{created['id']}", {"notificationUrl": bad.url("/x")}
        )
    finally:
        bad.stop()

    assert refused.status_code == 400
    assert moved.status_code == 200
    assert moved.json()["notificationUrl"] == bad.url("/x")


def test_renewal_rules(manager, receiver):
    created = manager.subscribe(receiver).json()
    path = f"/subscriptions/{created['id']}"

    empty = manager.call("PATCH", path, {})
    too_long = manager.call("PATCH", path, {"expirationDateTime": in_minutes(20_000)})
    lifecycle = manager.call("PATCH", path, {"lifecycleNotificationUrl": receiver.url("/y")})

    assert empty.status_code == 400
    assert (
        "either the 'expirationDateTime' or 'notificationUrl'" in empty.json()["error"]["message"]
    )
    assert too_long.status_code == 400
    assert lifecycle.status_code == 400


def test_a_deleted_subscription_answers_404_everywhere(manager, receiver):
    created = manager.subscribe(receiver).json()
    path = f"/subscriptions/{created['id']}"

    assert manager.call("DELETE", path).status_code == 204
    for method, body in (
        ("GET", None),
        ("PATCH", {"expirationDateTime": in_minutes(30)}),
        ("DELETE", None),
    ):
        answer = manager.call(method, path, body)
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "ResourceNotFound"
    assert manager.call("POST", f"{path}/reauthorize").status_code == 404
    assert manager.call("GET", "/subscriptions").json()["value"] == []


def test_an_expired_subscription_is_gone(manager, receiver, control):
    created = manager.subscribe(receiver, expirationDateTime=in_minutes(10)).json()

    control.advance_clock(11 * 60)

    renewal = manager.call(
        "PATCH",
        f"/subscriptions/{created['id']}",
        {"expirationDateTime": in_minutes(60, datetime.now(UTC) + timedelta(minutes=11))},
    )
    assert renewal.status_code == 404
    assert manager.call("GET", "/subscriptions").json()["value"] == []
    assert control.subscriptions() == []


def test_a_subscription_graph_forgot_answers_404_to_renewal(manager, receiver, control):
    created = manager.subscribe(receiver).json()

    control.forget_subscription(created["id"])

    answer = manager.call(
        "PATCH", f"/subscriptions/{created['id']}", {"expirationDateTime": in_minutes(90)}
    )
    assert answer.status_code == 404


def test_another_users_token_cannot_see_or_manage_it(manager, alex, receiver):
    created = manager.subscribe(receiver).json()
    path = f"/subscriptions/{created['id']}"

    assert alex.call("GET", "/subscriptions").json()["value"] == []
    assert alex.call("GET", path).status_code == 404
    assert alex.call("PATCH", path, {"expirationDateTime": in_minutes(90)}).status_code == 404
    assert alex.call("DELETE", path).status_code == 404
    assert manager.call("GET", path).status_code == 200


def test_reauthorize_answers_204_and_clears_a_pending_reauthorization(manager, receiver, control):
    created = manager.subscribe(receiver).json()
    control.lifecycle_event(created["id"], "reauthorizationRequired")
    assert control.subscription(created["id"])["reauthorizationRequired"] is True

    answer = manager.call("POST", f"/subscriptions/{created['id']}/reauthorize")

    assert answer.status_code == 204
    assert control.subscription(created["id"])["reauthorizationRequired"] is False


def test_a_subscription_for_an_on_premises_mailbox_fails(identity, emulator, http, receiver):
    from devtools.demo_directory import ON_PREMISES_MAILBOX

    token = identity.sign_in(ON_PREMISES_MAILBOX.user_principal_name)[1]["access_token"]
    answer = Graph(http, emulator.graph_base_url, token).subscribe(receiver)

    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "MailboxNotEnabledForRESTAPI"


def test_the_subscription_body_is_checked_against_the_schema(manager, receiver):
    body = subscription_body(receiver, expirationDateTime="tomorrow")
    answer = manager.call("POST", "/subscriptions", body)
    assert answer.status_code == 400
