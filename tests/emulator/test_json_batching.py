"""`POST /v1.0/$batch`: inner requests through the real pipeline, dependsOn, per-request 429."""

import pytest

from devtools.demo_directory import MANAGER
from tests.emulator.sync_support import Graph, event_body

pytestmark = pytest.mark.integration


@pytest.fixture
def manager(identity, emulator, http) -> Graph:
    token = identity.sign_in(MANAGER.user_principal_name)[1]["access_token"]
    return Graph(http, emulator.graph_base_url, token)


def batch(graph: Graph, *requests_: dict):
    return graph.call("POST", "/$batch", {"requests": list(requests_)})


def by_id(answer) -> dict[str, dict]:
    assert answer.status_code == 200, answer.text
    return {r["id"]: r for r in answer.json()["responses"]}


JSON = {"Content-Type": "application/json"}


def test_inner_requests_answer_like_direct_calls_and_are_logged(manager, control):
    control.clear_requests()
    answer = batch(
        manager,
        {"id": "me", "method": "GET", "url": "/me?$select=displayName"},
        {
            "id": "new",
            "method": "POST",
            "url": "me/events",
            "headers": JSON,
            "body": event_body("From a batch"),
        },
        {"id": "missing", "method": "GET", "url": "/me/events/AAMkAnothing"},
    )

    responses = by_id(answer)
    assert responses["me"]["status"] == 200
    assert responses["me"]["body"]["displayName"] == MANAGER.display_name
    assert responses["me"]["headers"]["Content-Type"].startswith("application/json")
    assert responses["new"]["status"] == 201
    assert responses["new"]["body"]["subject"] == "From a batch"
    assert responses["missing"]["status"] in (400, 404)
    assert "error" in responses["missing"]["body"]

    outer_id = answer.headers["request-id"]
    log = control.graph_requests()
    inner = [r for r in log if r.get("batch_id") == outer_id]
    assert sorted(r["batch_request_id"] for r in inner) == ["me", "missing", "new"]
    assert {r["path"] for r in inner} >= {"/v1.0/me", "/v1.0/me/events"}
    assert all(r["user"] == MANAGER.object_id for r in inner)
    assert [r["path"] for r in log if "batch_id" not in r] == ["/v1.0/$batch"]


def test_depends_on_orders_requests_and_a_failure_fails_its_dependents(manager, control):
    control.clear_requests()
    answer = batch(
        manager,
        {
            "id": "1",
            "method": "POST",
            "url": "/me/events",
            "headers": JSON,
            "body": event_body("First"),
        },
        {"id": "2", "dependsOn": ["1"], "method": "GET", "url": "/me/calendar"},
        {"id": "3", "dependsOn": ["2"], "method": "GET", "url": "/me/events/AAMkAnothing"},
        {"id": "4", "dependsOn": ["3"], "method": "GET", "url": "/me"},
        {"id": "5", "dependsOn": ["4"], "method": "GET", "url": "/me"},
    )

    responses = by_id(answer)
    assert [responses[i]["status"] for i in "12"] == [201, 200]
    assert responses["3"]["status"] >= 400
    assert [responses[i]["status"] for i in "45"] == [424, 424]
    assert responses["4"]["body"]["error"]["code"] == "FailedDependency"
    ran = [r["batch_request_id"] for r in control.graph_requests() if r.get("batch_request_id")]
    assert ran == ["1", "2", "3"]  # in dependency order; 4 and 5 never ran


def test_a_throttled_request_inside_a_batch_gets_its_own_429(manager, control):
    event = manager.create_event("Target")
    control.add_fault(f"/v1.0/me/events/{event['id']}", 429, count=1, retry_after=7)

    responses = by_id(
        batch(
            manager,
            {"id": "a", "method": "GET", "url": f"/me/events/{event['id']}"},
            {"id": "b", "method": "GET", "url": "/me/calendar"},
        )
    )

    assert responses["a"]["status"] == 429
    assert responses["a"]["headers"]["Retry-After"] == "7"
    assert responses["a"]["body"]["error"]["code"] == "TooManyRequests"
    assert responses["b"]["status"] == 200


def test_the_mailbox_request_limit_applies_to_each_inner_request(manager, control):
    control.settings(mailbox_limits={"requests": 2, "window_seconds": 600})

    responses = by_id(
        batch(
            manager,
            *({"id": str(n), "method": "GET", "url": "/me/calendar"} for n in range(3)),
        )
    )

    statuses = sorted(r["status"] for r in responses.values())
    assert statuses == [200, 200, 429]
    throttled = next(r for r in responses.values() if r["status"] == 429)
    assert throttled["body"]["error"]["code"] == "ApplicationThrottled"
    assert int(throttled["headers"]["Retry-After"]) >= 1


def test_at_most_four_requests_for_one_mailbox_run_at_once(manager, control):
    control.set_latency(150)  # every request holds its mailbox slot for 150 ms
    eight = [{"id": str(n), "method": "GET", "url": "/me/calendar"} for n in range(8)]

    limited = by_id(batch(manager, *eight))
    control.batch_settings(mailbox_parallelism=8)
    unlimited = by_id(batch(manager, *eight))

    assert {r["status"] for r in limited.values()} == {200}
    assert 429 in {r["status"] for r in unlimited.values()}  # Outlook's 4 concurrent requests


@pytest.mark.parametrize(
    ("requests_", "message_part"),
    [
        ([{"id": str(n), "method": "GET", "url": "/me"} for n in range(21)], "at most 20"),
        (
            [
                {"id": "1", "method": "GET", "url": "/me"},
                {"id": "1", "method": "GET", "url": "/me"},
            ],
            "more than one request with the id",
        ),
        ([{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["9"]}], "not in the batch"),
        (
            [
                {"id": "1", "method": "GET", "url": "/me", "dependsOn": ["2"]},
                {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]},
            ],
            "cycle",
        ),
        ([{"id": "1", "method": "GET"}], "needs an id, a method and a url"),
        ([], "no requests"),
    ],
)
def test_a_malformed_batch_answers_400(manager, requests_, message_part):
    answer = manager.call("POST", "/$batch", {"requests": requests_})

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert message_part in answer.json()["error"]["message"]


def test_bad_inner_requests_fail_alone(manager):
    responses = by_id(
        batch(
            manager,
            {"id": "abs", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me"},
            {"id": "nested", "method": "POST", "url": "/$batch", "headers": JSON, "body": {}},
            {"id": "no-type", "method": "POST", "url": "/me/events", "body": {"subject": "x"}},
            {"id": "ok", "method": "GET", "url": "/me"},
        )
    )

    assert [responses[i]["status"] for i in ("abs", "nested", "no-type")] == [400, 400, 400]
    assert responses["ok"]["status"] == 200


def test_the_outer_token_is_required(identity, emulator, http):
    answer = http.post(
        f"{emulator.graph_base_url}/$batch",
        json={"requests": [{"id": "1", "method": "GET", "url": "/me"}]},
        timeout=10,
    )
    assert answer.status_code == 401
