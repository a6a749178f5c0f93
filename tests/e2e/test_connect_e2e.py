"""Connecting Outlook end to end: the local host, the emulator, real MSAL, real Azurite."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from azure.data.tables import UpdateMode

from devtools.demo_directory import (
    CONTOSO,
    EMPLOYEE_ALEX,
    EMPLOYEE_LYNNE,
    FABRIKAM_USER,
    MANAGER,
    ON_PREMISES_MAILBOX,
)
from devtools.host_app import HostApp, query_of
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.keys import table_key as safe_key

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(host_app: HostApp, storage: StorageAccount) -> Iterator[HostApp]:
    """A host app whose organisation allows Outlook; Microsoft accounts are freed afterwards."""
    assert host_app.set_switches(MANAGER, allow=True).status_code == 200
    yield host_app
    host_app.control("DELETE", "faults")
    host_app.control("PATCH", "settings", access_token_lifetime=3600)


def assert_problem(answer, status: int, code: str | None = None) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    body = answer.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code
    return body


def test_a_user_connects_and_sees_the_connection(app):
    assert app.call("GET", "me/calendar", EMPLOYEE_ALEX).json() == {"status": "not_connected"}

    assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}

    status = app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()
    assert status["status"] == "connected"
    assert status["account"] == {
        "userPrincipalName": EMPLOYEE_ALEX.user_principal_name,
        "displayName": EMPLOYEE_ALEX.display_name,
    }
    connected_at = datetime.fromisoformat(status["connectedAt"])
    reconnect_by = datetime.fromisoformat(status["reconnectBy"])
    assert (reconnect_by.year * 12 + reconnect_by.month) - (
        connected_at.year * 12 + connected_at.month
    ) == 9
    assert status["expiringSoon"] is False


def test_the_authorization_url_asks_for_pkce_and_only_the_calendar_scopes(app, host_environment):
    started = app.call("POST", "me/calendar/connect", EMPLOYEE_ALEX, json={})
    assert started.status_code == 200, started.text
    url = started.json()["authorizationUrl"]
    query = query_of(url)

    assert urlsplit(url).path.endswith("/oauth2/v2.0/authorize")
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == f"{app.base_url}/api/auth/callback"
    assert query["state"]
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43, "base64url of a SHA-256 digest, unpadded"
    assert "code_verifier" not in query, "the verifier stays server side"
    graph = urlsplit(host_environment["GRAPH_BASE_URL"])
    resource = f"{graph.scheme}://{graph.netloc}"
    assert set(query["scope"].split()) == {
        f"{resource}/User.Read",
        f"{resource}/Calendars.ReadWrite",
        "offline_access",
        "openid",
        "profile",
    }


def age_pending_sign_in(storage: StorageAccount, state: str) -> None:
    """Make the pending sign-in of `state` look as if its lifetime ended a minute ago."""
    storage.table(names.AUTH_STATES_TABLE).update_entity(
        {
            "PartitionKey": safe_key(state),
            "RowKey": "state",
            "ExpiresAt": datetime.now(UTC) - timedelta(minutes=1),
        },
        mode=UpdateMode.MERGE,
    )


def test_a_sign_in_that_comes_back_after_its_state_expired_links_nothing(app, storage):
    url = app.start_connect(EMPLOYEE_ALEX)
    answer = app.at_microsoft(url)
    age_pending_sign_in(storage, query_of(url)["state"])
    app.control("DELETE", "requests")

    back = app.deliver(answer)

    assert back.status_code == 302, back.text
    assert query_of(back.headers["Location"]) == {"outlook": "sign_in_expired"}
    assert app.identity_requests() == [], "an expired sign-in's code is never redeemed"
    assert app.call("GET", "me/calendar", EMPLOYEE_ALEX).json() == {"status": "not_connected"}
    assert_problem(app.deliver(answer), 400, "invalid_state")  # and it cannot be retried


def test_microsofts_answer_is_posted_so_its_code_and_state_are_in_no_url(app, local_host):
    url = app.start_connect(EMPLOYEE_ALEX)
    assert query_of(url)["response_mode"] == "form_post"
    answer = app.at_microsoft(url)
    assert (answer.method, answer.url) == ("POST", f"{app.base_url}/api/auth/callback")
    assert {"code", "state"} <= set(answer.fields)

    back = app.deliver(answer)

    location = back.headers["Location"]
    assert answer.fields["code"] not in location
    assert answer.fields["state"] not in location
    assert set(query_of(location)) == {"outlookCompletion"}
    assert app.complete(EMPLOYEE_ALEX, query_of(location)).json()["outcome"] == "connected"


def test_an_admin_consent_that_comes_back_after_its_state_expired_is_not_recorded(app, storage):
    before = app.call("GET", "admin/settings", MANAGER).json()["adminConsent"]
    app.control("POST", f"tenants/{CONTOSO.tenant_id}/next-admin-consent", outcome="granted")
    link = app.call("GET", f"admin/consent?returnUrl={app.origin}/admin", MANAGER).json()
    url = link["consentUrl"] + f"&login_hint={MANAGER.user_principal_name}"
    answer = app.at_microsoft(url)
    assert answer.fields["admin_consent"] == "True"
    age_pending_sign_in(storage, query_of(url)["state"])

    back = app.deliver(answer)

    assert back.status_code == 302, back.text
    assert back.headers["Location"] == f"{app.origin}/admin?adminConsent=expired"
    after = app.call("GET", "admin/settings", MANAGER).json()["adminConsent"]
    assert after == before
    assert after["status"] == "not_requested"


def test_the_return_url_keeps_its_own_query_and_must_be_on_a_host_app_origin(app):
    outcome = app.connect(EMPLOYEE_LYNNE, return_url=f"{app.origin}/profile?tab=calendar")
    assert outcome == {"tab": "calendar", "outlook": "connected"}
    answer = app.call(
        "POST", "me/calendar/connect", EMPLOYEE_ALEX, json={"returnUrl": "https://evil.example/x"}
    )
    assert_problem(answer, 400, "return_url_not_allowed")


def test_the_token_is_refreshed_when_it_expires(app):
    # Tokens that live under MSAL's 5-minute margin are refreshed on every use.
    app.control("PATCH", "settings", access_token_lifetime=120)
    assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}
    app.control("DELETE", "requests")

    checked = app.call("POST", "me/calendar/check", EMPLOYEE_ALEX)

    assert checked.status_code == 200, checked.text
    assert checked.json()["status"] == "connected"
    token_calls = [r for r in app.identity_requests() if r["path"].endswith("/oauth2/v2.0/token")]
    assert len(token_calls) == 1, "one refresh_token grant"


def test_a_token_still_valid_is_used_without_asking_microsoft_again(app):
    # Entra answers Graph's permissions in short form ("User.Read"); MSAL caches the token
    # under those names, so the app must still find it when it asks with the qualified ones.
    assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}
    app.control("DELETE", "requests")

    for _ in range(2):
        checked = app.call("POST", "me/calendar/check", EMPLOYEE_ALEX)
        assert checked.status_code == 200, checked.text

    token_calls = [r for r in app.identity_requests() if r["path"].endswith("/oauth2/v2.0/token")]
    assert token_calls == [], "the cached access token is used until it is due"


@pytest.mark.parametrize(
    ("action", "reason"),
    [("revoke", "access_revoked"), ("expire", "sign_in_expired")],
)
def test_a_failed_refresh_asks_the_user_to_reconnect_at_once_and_is_not_retried(
    app, action, reason
):
    app.control("PATCH", "settings", access_token_lifetime=120)
    app.connect(EMPLOYEE_ALEX)
    app.control("POST", f"users/{EMPLOYEE_ALEX.user_principal_name}/refresh-tokens", action=action)

    assert_problem(app.call("POST", "me/calendar/check", EMPLOYEE_ALEX), 409, "reconnect_required")

    status = app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()
    assert (status["status"], status["reason"]) == ("reconnect_required", reason)
    app.control("DELETE", "requests")
    assert_problem(app.call("POST", "me/calendar/check", EMPLOYEE_ALEX), 409, "reconnect_required")
    assert app.identity_requests() == [], "a dead refresh token is never tried again"
    assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}
    assert app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()["status"] == "connected"


def test_disconnecting_removes_the_connection_and_frees_the_account(app):
    app.connect(EMPLOYEE_ALEX)
    assert app.call("DELETE", "me/calendar", EMPLOYEE_ALEX).status_code == 204
    assert app.call("GET", "me/calendar", EMPLOYEE_ALEX).json() == {"status": "not_connected"}
    assert app.call("DELETE", "me/calendar", EMPLOYEE_ALEX).status_code == 204  # idempotent
    assert_problem(app.call("POST", "me/calendar/check", EMPLOYEE_ALEX), 409, "not_connected")


def test_the_admin_switch_makes_connections_inert_without_losing_them(app):
    app.connect(EMPLOYEE_ALEX)
    assert app.set_switches(MANAGER, allow=False).status_code == 200
    app.control("DELETE", "requests")

    status = app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()
    assert status["status"] == "disabled"
    assert status["account"]["userPrincipalName"] == EMPLOYEE_ALEX.user_principal_name
    assert_problem(app.call("POST", "me/calendar/connect", EMPLOYEE_LYNNE), 403, "disabled")
    assert_problem(app.call("POST", "me/calendar/check", EMPLOYEE_ALEX), 403, "disabled")
    assert app.control("GET", "requests")["requests"] == [], "no Graph or identity calls"

    assert app.set_switches(MANAGER, allow=True).status_code == 200
    assert app.call("POST", "me/calendar/check", EMPLOYEE_ALEX).json()["status"] == "connected"


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("consent_declined", "consent_declined"),
        ("admin_approval_required", "admin_approval_required"),
    ],
)
def test_sign_in_refusals_come_back_as_outcomes_the_frontend_can_show(app, outcome, expected):
    app.control("POST", f"users/{EMPLOYEE_LYNNE.user_principal_name}/next-sign-in", outcome=outcome)
    assert app.connect(EMPLOYEE_LYNNE) == {"outlook": expected}
    assert app.call("GET", "me/calendar", EMPLOYEE_LYNNE).json() == {"status": "not_connected"}


def test_one_microsoft_account_cannot_be_linked_to_two_users(app):
    assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}
    # Lynne's host-app account signs in with Alex's Microsoft account, and completes.
    back = app.sign_in(app.start_connect(EMPLOYEE_LYNNE), signing_in=EMPLOYEE_ALEX)
    completed = app.complete(EMPLOYEE_LYNNE, back).json()
    assert completed["outcome"] == "account_already_linked"
    assert completed["signedInAs"]["userPrincipalName"] == EMPLOYEE_ALEX.user_principal_name
    assert completed["calendar"] == {"status": "not_connected"}
    assert app.call("GET", "me/calendar", EMPLOYEE_LYNNE).json() == {"status": "not_connected"}


def test_a_user_of_another_tenant_is_refused_when_the_org_names_its_tenant(app):
    assert app.set_switches(MANAGER, allow=True, tenant_id=CONTOSO.tenant_id).status_code == 200
    # Pradeep (Fabrikam's directory) is a member of this host-app organisation.
    assert app.connect(FABRIKAM_USER) == {"outlook": "wrong_tenant"}


def test_an_on_premises_mailbox_is_not_supported(app):
    assert app.connect(ON_PREMISES_MAILBOX) == {"outlook": "mailbox_not_supported"}
    assert app.call("GET", "me/calendar", ON_PREMISES_MAILBOX).json() == {"status": "not_connected"}


def test_a_replayed_or_forged_state_or_completion_code_never_links_an_account(app):
    answer = app.at_microsoft(app.start_connect(EMPLOYEE_ALEX))
    back = query_of(app.deliver(answer).headers["Location"])
    assert app.complete(EMPLOYEE_ALEX, back).json()["outcome"] == "connected"
    assert app.call("DELETE", "me/calendar", EMPLOYEE_ALEX).status_code == 204

    assert_problem(app.deliver(answer), 400, "invalid_state")  # replayed
    assert_problem(app.complete(EMPLOYEE_ALEX, back), 400, "invalid_state")  # completed twice
    assert_problem(app.deliver(answer.with_fields(state="forged-state")), 400, "invalid_state")
    assert_problem(app.deliver(answer.with_fields(state="")), 400, "invalid_state")
    assert_problem(app.browse(f"{app.base_url}/api/auth/callback?code=abc"), 400, "invalid_state")
    forged = {"outlookCompletion": "forged-code"}
    assert_problem(app.complete(EMPLOYEE_ALEX, forged), 400, "invalid_state")
    # A state is no completion code, and a completion code is no state.
    unused = app.at_microsoft(app.start_connect(EMPLOYEE_ALEX))
    assert_problem(app.complete(EMPLOYEE_ALEX, {"outlookCompletion": unused.fields["state"]}),
                   400, "invalid_state")  # fmt: skip
    back = query_of(app.deliver(unused).headers["Location"])
    code_as_state = answer.with_fields(state=back["outlookCompletion"])
    assert_problem(app.deliver(code_as_state), 400, "invalid_state")
    assert app.call("GET", "me/calendar", EMPLOYEE_ALEX).json() == {"status": "not_connected"}
    assert app.complete(EMPLOYEE_ALEX, back).json()["outcome"] == "connected", "still usable"


def test_admin_consent_granted_and_declined_are_recorded(app):
    for outcome in ("granted", "declined"):
        app.control("POST", f"tenants/{CONTOSO.tenant_id}/next-admin-consent", outcome=outcome)
        completed = app.consent(MANAGER)
        assert completed.status_code == 200, completed.text
        assert completed.json()["outcome"] == outcome
        assert completed.json()["settings"]["adminConsent"]["status"] == outcome
        consent = app.call("GET", "admin/settings", MANAGER).json()["adminConsent"]
        assert consent["status"] == outcome
        if outcome == "granted":
            assert consent["tenantId"] == CONTOSO.tenant_id
        else:
            assert consent["error"], "the error Microsoft returned is kept"


def test_only_admins_of_the_organisation_change_its_settings(app):
    assert_problem(app.call("GET", "admin/settings", EMPLOYEE_ALEX), 403, "admin_only")
    assert_problem(app.set_switches(EMPLOYEE_ALEX, allow=False), 403, "admin_only")
    assert_problem(app.call("GET", "admin/consent", EMPLOYEE_ALEX), 403, "admin_only")
    # Another organisation's admin changes only their own organisation.
    other = app.set_switches(FABRIKAM_USER, allow=False, org_id="org-elsewhere")
    assert other.status_code == 200
    assert app.call("GET", "admin/settings", MANAGER).json()["allowOutlookCalendar"] is True


def test_settings_updates_are_guarded_by_etags(app):
    first = app.call("GET", "admin/settings", MANAGER)
    etag = first.headers["ETag"]
    body = {"allowOutlookCalendar": True, "syncConversations": False, "tenantId": None}
    saved = app.call("PUT", "admin/settings", MANAGER, json=body, headers={"If-Match": etag})
    assert saved.status_code == 200
    assert saved.json()["syncConversations"] is False
    stale = app.call("PUT", "admin/settings", MANAGER, json=body, headers={"If-Match": etag})
    assert_problem(stale, 412, "stale")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"allowOutlookCalendar": "yes", "syncConversations": True}, "invalid_settings"),
        (
            {"allowOutlookCalendar": True, "syncConversations": True, "colour": "red"},
            "unknown_fields",
        ),
        (
            {"allowOutlookCalendar": True, "syncConversations": True, "tenantId": "not a tenant"},
            "invalid_tenant",
        ),
    ],
)
def test_bad_settings_are_refused_and_nothing_stored_changes(app, body, code):
    before = app.call("GET", "admin/settings", MANAGER).json()
    assert_problem(app.call("PUT", "admin/settings", MANAGER, json=body), 400, code)
    assert app.call("GET", "admin/settings", MANAGER).json() == before


def test_a_body_that_is_not_json_gets_a_problem(app):
    answer = app.call("PUT", "admin/settings", MANAGER, data=b"{not json")
    assert_problem(answer, 400, "invalid_json")


def test_requests_without_a_valid_host_token_get_401(app):
    alex = EMPLOYEE_ALEX
    cases = {
        "missing": None,
        "expired": app.token(alex, now=0),
        "forged": app.token(alex, secret="someone-elses-secret-that-is-long-enough"),
        "wrong audience": app.token(alex, audience="another-service"),
    }
    for case, token in cases.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = app.call("GET", "me/calendar", headers=headers)
        body = assert_problem(answer, 401)
        assert answer.headers["WWW-Authenticate"].startswith("Bearer"), case
        assert token is None or token not in answer.text
        assert body["title"] == "Unauthorized"


def test_the_connect_command_does_what_a_browser_and_the_host_apps_page_do(app, emulator, capsys):
    from devtools import connect

    token = app.token(EMPLOYEE_LYNNE)
    api = f"{app.base_url}/api"
    assert connect.main([token, "--api", api, "--ca", str(emulator.ca_file)]) == 0

    printed = capsys.readouterr().out
    assert f"a POST to {app.base_url}/api/auth/callback" in printed
    assert '"outcome": "connected"' in printed
    assert app.call("GET", "me/calendar", EMPLOYEE_LYNNE).json()["status"] == "connected"
