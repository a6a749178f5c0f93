"""GraphClient's retry budget: a user's request never sleeps on Retry-After; others may."""

import json

import pytest
import requests

from shared.graph.client import GraphClient
from shared.graph.errors import GraphError


def answer(status: int, body: dict, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = json.dumps(body).encode()
    return response


class Graph:
    """Answers each request with the next canned response and counts the requests."""

    def __init__(self, *responses: requests.Response) -> None:
        self.responses = list(responses)
        self.calls = 0

    def request(self, method: str, url: str, **_: object) -> requests.Response:
        self.calls += 1
        return self.responses.pop(0)


THROTTLED = {"error": {"code": "TooManyRequests", "message": "Too many requests"}}


def client(graph: Graph, slept: list[float]) -> GraphClient:
    return GraphClient(
        "https://graph.test/v1.0", lambda: "token", session=graph, sleep=slept.append
    )


def test_with_no_wait_allowed_a_throttled_call_fails_at_once_with_its_retry_after():
    graph = Graph(answer(429, THROTTLED, {"Retry-After": "5"}), answer(201, {"id": "e1"}))
    slept: list[float] = []

    with pytest.raises(GraphError) as raised:
        client(graph, slept).request("POST", "me/events", body={}, max_wait=0)

    assert (graph.calls, slept) == (1, [])
    assert raised.value.status == 429
    assert raised.value.retry_after == 5


def test_without_a_limit_the_client_waits_within_its_own_budget():
    graph = Graph(answer(429, THROTTLED, {"Retry-After": "5"}), answer(201, {"id": "e1"}))
    slept: list[float] = []

    assert client(graph, slept).request("POST", "me/events", body={}) == {"id": "e1"}
    assert (graph.calls, slept) == (2, [5.0])


def test_a_503_without_retry_after_is_not_retried_in_line_either():
    graph = Graph(answer(503, {"error": {"code": "ServiceUnavailable"}}), answer(200, {}))
    slept: list[float] = []

    with pytest.raises(GraphError) as raised:
        client(graph, slept).request("PATCH", "me/events/e1", body={}, max_wait=0)

    assert (graph.calls, slept, raised.value.retry_after) == (1, [], None)
