"""Every error the API answers is problem+json with a code a frontend can switch on."""

import json

from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from functions.problems import PROBLEMS, problem_response
from shared.errors import ErrorCode, NotConnected, Unauthenticated
from shared.graph.errors import GraphError
from shared.settings import SettingsError


def answered(failure: Exception) -> tuple[int, dict, dict]:
    response = problem_response(failure, "GET /api/test")
    assert response.mimetype == "application/problem+json"
    return response.status_code, json.loads(response.get_body()), dict(response.headers)


def test_every_code_has_a_status():
    assert set(PROBLEMS) == set(ErrorCode)


def test_a_domain_error_keeps_its_code_and_detail():
    status, body, _ = answered(NotConnected("Connect your Outlook calendar first."))
    assert (status, body["code"], body["detail"]) == (
        409,
        "not_connected",
        "Connect your Outlook calendar first.",
    )


def test_401s_carry_a_code_and_the_bearer_challenge():
    status, body, headers = answered(Unauthenticated("x", ErrorCode.TOKEN_EXPIRED))
    assert (status, body["code"], body["title"]) == (401, "token_expired", "Unauthorized")
    assert headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_graphs_own_codes_never_become_the_apps():
    status, body, _ = answered(GraphError(403, "ErrorAccessDenied", "Access is denied."))
    assert (status, body["code"]) == (502, "outlook_refused")
    assert "ErrorAccessDenied" not in json.dumps(body)
    status, body, headers = answered(GraphError(429, "TooManyRequests", "", retry_after=7))
    assert (status, body["code"], headers["Retry-After"]) == (503, "outlook_unavailable", "7")


def test_configuration_problems_and_bugs_say_nothing_of_their_details():
    status, body, _ = answered(SettingsError(["ENTRA_CLIENT_ID is missing"]))
    assert (status, body["code"]) == (503, "not_configured")
    assert "ENTRA" not in json.dumps(body)
    status, body, _ = answered(KeyError("secret-ish"))
    assert (status, body["code"]) == (500, "internal_error")
    assert "secret-ish" not in json.dumps(body)


def storage_error(status: int) -> HttpResponseError:
    error = HttpResponseError(f"status {status}")
    error.status_code = status
    return error


def test_storage_out_of_reach_answers_503_with_retry_after_not_500():
    for failure in (
        ServiceRequestError("Connection refused"),
        ServiceResponseError("Connection reset by peer"),
        storage_error(503),
    ):
        status, body, headers = answered(failure)
        assert (status, body["code"], headers["Retry-After"]) == (503, "storage_unavailable", "10")
    status, body, _ = answered(storage_error(400))
    assert (status, body["code"]) == (500, "internal_error"), "a refusal is no outage"
