"""GraphClient on Graph's 401: one forced token refresh and one more attempt, never more."""

from typing import Any

import pytest
import requests

from shared.errors import ReconnectRequired
from shared.graph.client import GraphClient
from shared.graph.errors import GraphError
from tests.unit.test_graph_retry_budget import answer

EXPIRED = {
    "error": {
        "code": "InvalidAuthenticationToken",
        "message": "Lifetime validation failed, the token is expired.",
    }
}


class Graph:
    """Canned answers; remembers the bearer token each request carried."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.tokens: list[str] = []

    def request(self, method: str, url: str, **options: Any) -> requests.Response:
        self.tokens.append(options["headers"]["Authorization"].removeprefix("Bearer "))
        status = self.statuses.pop(0)
        return answer(status, EXPIRED if status == 401 else {"id": "me"})


class Renewals:
    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return self.tokens.pop(0)


def client(graph: Graph, renew: Renewals | None) -> GraphClient:
    return GraphClient(
        "https://graph.test/v1.0",
        lambda: "cached",
        renew_token=renew,
        session=graph,
        sleep=lambda _: None,
    )


def test_a_refused_token_is_refreshed_once_and_the_request_tried_again():
    graph, renew = Graph(401, 200), Renewals("fresh")

    assert client(graph, renew).get("me") == {"id": "me"}

    assert graph.tokens == ["cached", "fresh"]
    assert renew.calls == 1


def test_a_fresh_token_refused_too_is_graphs_answer_without_a_second_refresh():
    graph, renew = Graph(401, 401, 200), Renewals("fresh", "another")

    with pytest.raises(GraphError) as refused:
        client(graph, renew).get("me")

    assert (refused.value.status, refused.value.code) == (401, "InvalidAuthenticationToken")
    assert graph.tokens == ["cached", "fresh"]
    assert renew.calls == 1


def test_later_requests_use_the_refreshed_token_and_are_not_refreshed_again():
    graph, renew = Graph(401, 200, 200, 401), Renewals("fresh", "another")
    graph_client = client(graph, renew)
    graph_client.get("me")
    graph_client.get("me/calendar")

    with pytest.raises(GraphError):
        graph_client.get("me/events")

    assert graph.tokens == ["cached", "fresh", "fresh", "fresh"]
    assert renew.calls == 1


def test_without_a_way_to_refresh_a_401_is_answered_at_once():
    graph = Graph(401, 200)

    with pytest.raises(GraphError):
        client(graph, None).get("me")

    assert graph.tokens == ["cached"]


def test_a_refresh_that_needs_the_user_to_reconnect_says_so():
    graph = Graph(401, 200)

    def reconnect() -> str:
        raise ReconnectRequired("Reconnect your Outlook calendar.")

    with pytest.raises(ReconnectRequired):
        GraphClient(
            "https://graph.test/v1.0", lambda: "cached", renew_token=reconnect, session=graph
        ).get("me")
    assert graph.tokens == ["cached"]


def test_a_request_refused_while_another_refreshed_uses_that_token_without_a_second_refresh():
    """Availability calls Graph from several threads with one client: here the second request
    is made and refreshed while the first still waits for its (401) answer."""

    class Overlapping:
        def __init__(self) -> None:
            self.tokens: list[str] = []
            self.client: GraphClient | None = None

        def request(self, method: str, url: str, *, headers: dict[str, str], **_: object):
            token = headers["Authorization"].removeprefix("Bearer ")
            self.tokens.append(token)
            if url.endswith("/me") and len(self.tokens) == 1 and self.client is not None:
                assert self.client.get("me/calendar") == {"id": "me"}  # the other thread
            return answer(
                401 if token == "cached" else 200, EXPIRED if token == "cached" else {"id": "me"}
            )

    graph, renew = Overlapping(), Renewals("fresh", "another")
    graph.client = client(graph, renew)  # type: ignore[arg-type]

    assert graph.client.get("me") == {"id": "me"}

    assert graph.tokens == ["cached", "cached", "fresh", "fresh"]
    assert renew.calls == 1
