"""Graph over HTTPS: authentication, the directory, the mailbox, faults, throttling, the log."""

import threading

import pytest
import requests

from devtools.demo_directory import (
    CONTOSO,
    EMPLOYEE_ALEX,
    EXTERNAL_ATTENDEE,
    FABRIKAM_USER,
    MANAGER,
    ON_PREMISES_MAILBOX,
    RENAMED,
)
from devtools.graph_emulator.control_client import trusting_session

pytestmark = pytest.mark.integration


@pytest.fixture
def manager_token(identity):
    return identity.sign_in(MANAGER.user_principal_name)[1]["access_token"]


def test_a_request_without_a_token_gets_graphs_401_body_and_ids(identity):
    response = identity.graph("/me", None, headers={"client-request-id": "abc-123"})

    assert response.status_code == 401
    error = response.json()["error"]
    assert set(response.json()) == {"error"}
    assert error["code"] == "InvalidAuthenticationToken"
    assert error["message"] == "Access token is empty."
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    assert error["innerError"]["client-request-id"] == "abc-123"
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"] == error["innerError"]["request-id"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("not-a-jwt", "IDX14100: JWT is not well formed"),
        ("aaa.bbb.ccc", "Access token validation failure."),
    ],
)
def test_tokens_not_minted_here_are_refused(identity, token, message):
    response = identity.graph("/me", token)

    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith(message)


def test_an_id_token_is_not_an_access_token_for_graph(identity):
    _, result = identity.sign_in(MANAGER.user_principal_name)

    response = identity.graph("/me", result["id_token"])

    assert response.json()["error"]["message"] == (
        "Access token validation failure. Invalid audience."
    )


def test_me_and_users_by_id_or_upn_with_select(identity, manager_token):
    me = identity.graph("/me?$select=id,displayName,userPrincipalName,mail", manager_token)
    by_upn = identity.graph(f"/users/{MANAGER.user_principal_name}", manager_token)
    by_id = identity.graph(f"/users/{MANAGER.object_id}", manager_token)

    assert me.status_code == 200
    assert me.json() == {
        "@odata.context": f"{identity.emulator.graph_base_url}/$metadata#users(id,displayName,"
        "userPrincipalName,mail)/$entity",
        "id": MANAGER.object_id,
        "displayName": MANAGER.display_name,
        "userPrincipalName": MANAGER.user_principal_name,
        "mail": MANAGER.mail,
    }
    assert by_upn.json()["jobTitle"] == MANAGER.job_title
    assert by_id.json()["givenName"] == MANAGER.given_name
    assert by_id.json()["surname"] == MANAGER.surname


def test_a_renamed_persons_mail_and_proxy_addresses_differ_from_their_sign_in_name(identity):
    token = identity.sign_in(str(RENAMED.user_principal_name))[1]["access_token"]

    me = identity.graph("/me?$select=userPrincipalName,mail,proxyAddresses", token).json()
    default = identity.graph("/me", token).json()

    assert (me["userPrincipalName"], me["mail"]) == (RENAMED.user_principal_name, RENAMED.mail)
    assert me["proxyAddresses"] == [
        f"SMTP:{RENAMED.mail}",
        *(f"smtp:{a}" for a in RENAMED.other_smtp_addresses),
    ]
    assert "proxyAddresses" not in default, "not in the default property set"


def test_select_of_an_unknown_property_is_a_400(identity, manager_token):
    response = identity.graph("/me?$select=id,shoeSize", manager_token)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'."
    )


@pytest.mark.parametrize(
    "reference", [EXTERNAL_ATTENDEE.mail, FABRIKAM_USER.object_id, "nobody@contoso.com"]
)
def test_users_outside_the_callers_directory_are_not_found(identity, manager_token, reference):
    response = identity.graph(f"/users/{reference}", manager_token)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "Request_ResourceNotFound"
    assert reference in response.json()["error"]["message"]


def test_other_users_need_more_than_user_read(identity, manager_token):
    response = identity.graph(f"/users/{EMPLOYEE_ALEX.user_principal_name}", manager_token)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"


def test_without_user_read_me_is_forbidden(identity, emulator):
    _, result = identity.sign_in(
        EMPLOYEE_ALEX.user_principal_name, scopes=[f"{emulator.base_url}/Calendars.ReadWrite"]
    )

    response = identity.graph("/me", result["access_token"])

    assert response.status_code == 403
    assert identity.graph("/me/calendar", result["access_token"]).status_code == 200


def test_the_calendar_honours_immutable_ids_and_accepts_a_time_zone(identity, manager_token):
    response = identity.graph(
        "/Me/Calendar",
        manager_token,
        headers={"Prefer": 'outlook.timezone="Pacific Standard Time", IdType="ImmutableId"'},
    )

    assert response.status_code == 200
    assert response.headers["Preference-Applied"] == 'IdType="ImmutableId"'
    assert response.json()["isDefaultCalendar"] is True
    assert response.json()["owner"]["address"] == MANAGER.mail


def test_an_on_premises_mailbox_is_not_enabled_for_rest(identity):
    _, result = identity.sign_in(ON_PREMISES_MAILBOX.user_principal_name)

    assert identity.graph("/me", result["access_token"]).status_code == 200
    calendar = identity.graph("/me/calendar", result["access_token"])
    assert calendar.status_code == 404
    assert calendar.json()["error"]["code"] == "MailboxNotEnabledForRESTAPI"


def test_unknown_segments_are_a_bad_request(identity, manager_token):
    response = identity.graph("/me/shoes", manager_token)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Resource not found for the segment 'shoes'."


def test_an_injected_429_carries_retry_after_then_stops(identity, control, manager_token):
    control.add_fault("/v1.0/me", 429, count=2, retry_after=1)

    first = identity.graph("/me", manager_token)
    second = identity.graph("/me", manager_token)
    third = identity.graph("/me", manager_token)

    assert [first.status_code, second.status_code, third.status_code] == [429, 429, 200]
    assert first.headers["Retry-After"] == "1"
    assert first.json()["error"]["code"] == "TooManyRequests"
    assert "request-id" in first.json()["error"]["innerError"]


def test_a_tenants_throttle_answers_its_requests_only_on_every_path(identity, control):
    """Graph's limits are per app per tenant as well as per mailbox (throttling-limits.md)."""
    control.add_fault("/", 429, retry_after=30, tenant_id=CONTOSO.tenant_id)
    _, contoso = identity.sign_in(MANAGER.user_principal_name)
    _, fabrikam = identity.sign_in(FABRIKAM_USER.user_principal_name)

    throttled = identity.graph("/me/calendar", contoso["access_token"])
    assert (throttled.status_code, throttled.headers["Retry-After"]) == (429, "30")
    assert identity.graph("/me", contoso["access_token"]).status_code == 429
    assert identity.graph("/me/calendar", fabrikam["access_token"]).status_code == 200
    control.clear_faults()
    assert identity.graph("/me", contoso["access_token"]).status_code == 200


def test_an_injected_503_without_count_lasts_until_cleared(identity, control, manager_token):
    control.add_fault("/v1.0/me", 503, retry_after=3)

    assert identity.graph("/me", manager_token).json()["error"]["code"] == "ServiceUnavailable"
    assert identity.graph("/me", manager_token).status_code == 503
    control.clear_faults()
    assert identity.graph("/me", manager_token).status_code == 200


def test_an_injected_token_endpoint_outage_reaches_msal_as_an_http_error(identity, control):
    control.add_fault("/organizations/oauth2/v2.0/token", 503, count=1)
    app = identity.app()
    flow = identity.begin(app, MANAGER.user_principal_name)

    with pytest.raises(Exception, match="503"):
        app.acquire_token_by_auth_code_flow(flow, identity.authorize(flow))


def test_the_request_log_counts_graph_calls(identity, control, manager_token):
    control.clear_requests()
    identity.graph("/me", manager_token)
    identity.graph("/me/calendar?$select=id", manager_token)

    calls = control.graph_requests()

    assert [(c["method"], c["path"], c["status"]) for c in calls] == [
        ("GET", "/v1.0/me", 200),
        ("GET", "/v1.0/me/calendar", 200),
    ]
    assert calls[1]["query"] == "$select=id"
    assert {c["user"] for c in calls} == {MANAGER.object_id}


def test_outlook_answers_429_past_the_mailbox_request_budget(identity, control, manager_token):
    control.settings(mailbox_limits={"requests": 2, "window_seconds": 600})

    statuses = [identity.graph("/me/calendar", manager_token).status_code for _ in range(3)]
    throttled = identity.graph("/me/calendar", manager_token)

    assert statuses == [200, 200, 429]
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 600
    assert identity.graph("/me", manager_token).status_code == 200  # the directory is not Outlook
    control.advance_clock(601)
    assert identity.graph("/me/calendar", manager_token).status_code == 200


def test_outlook_allows_four_concurrent_requests_per_mailbox(identity, control, manager_token):
    control.set_latency(400)  # each request holds its slot this long
    start = threading.Barrier(8)
    answers: list[requests.Response] = []

    def call() -> None:
        with trusting_session(identity.emulator.ca_file) as session:
            start.wait()
            answers.append(
                session.get(
                    f"{identity.emulator.graph_base_url}/me/calendar",
                    headers={"Authorization": f"Bearer {manager_token}"},
                    timeout=10,
                )
            )

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(200) >= 4  # the first four always get a slot
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled, statuses
    assert throttled[0].json()["error"]["code"] == "ApplicationThrottled"
    assert throttled[0].json()["error"]["message"] == (
        "Application is over its MailboxConcurrency limit."
    )
    assert "Retry-After" in throttled[0].headers
