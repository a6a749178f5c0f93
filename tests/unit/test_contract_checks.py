"""The contract fuzz's own checks (devtools/contract_checks.py), on recorded answers."""

from types import SimpleNamespace

import pytest

from devtools.contract_checks import problem_json_errors, removed_conversations_stay_removed


def answer(status: int, media: str = "application/json", body: bytes = b"{}"):
    return SimpleNamespace(status_code=status, headers={"content-type": [media]}, content=body)


def case(method: str, conversation_id: str | None = None, operation_method: str | None = None):
    return SimpleNamespace(
        id=f"{method}-{conversation_id}",
        method=method,
        operation=SimpleNamespace(method=operation_method or method),
        path_parameters={"id": conversation_id} if conversation_id else {},
        formatted_path=f"/conversations/{conversation_id}",
    )


class Scenario:
    """What schemathesis's scenario log answers: the earlier cases and their answers."""

    def __init__(self, *steps):
        self.internals = SimpleNamespace(
            find_related=lambda case_id: iter([c for c, _ in steps]),
            find_response=lambda case_id: next(a for c, a in steps if c.id == case_id),
        )


def test_an_error_that_is_not_problem_json_fails():
    with pytest.raises(AssertionError, match="text/html"):
        problem_json_errors(None, answer(404, "text/html"), case("GET"))
    body = b'{"type": "about:blank", "title": "Not found", "status": 404, "detail": "x"}'
    assert (
        problem_json_errors(None, answer(404, "application/problem+json", body), case("GET"))
        is None
    )
    wrong = b'{"type": "about:blank", "title": "Not found", "status": 400, "detail": "x"}'
    with pytest.raises(AssertionError, match="does not match"):
        problem_json_errors(None, answer(404, "application/problem+json", wrong), case("GET"))


def test_a_method_the_route_does_not_take_is_the_hosts_answer_not_the_apps():
    assert problem_json_errors(None, answer(404, "text/html"), case("TRACE", None, "GET")) is None


def test_a_conversation_removed_with_204_must_not_be_readable_afterwards():
    removed = Scenario((case("DELETE", "c1"), answer(204)))
    with pytest.raises(AssertionError, match="after DELETE removed"):
        removed_conversations_stay_removed(removed, answer(200), case("GET", "c1"))
    assert removed_conversations_stay_removed(removed, answer(404), case("GET", "c1")) is None
    assert removed_conversations_stay_removed(removed, answer(200), case("GET", "c2")) is None


def test_a_conversation_kept_as_cancelled_with_200_stays_readable():
    kept = Scenario((case("DELETE", "c1"), answer(200)))
    assert removed_conversations_stay_removed(kept, answer(200), case("GET", "c1")) is None
