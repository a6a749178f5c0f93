"""The authorization code flow with PKCE, driven by the real MSAL against the emulator."""

import base64
import json
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from devtools import demo_directory
from devtools.demo_directory import (
    CONTOSO,
    EMPLOYEE_ALEX,
    EXTERNAL_ATTENDEE,
    FABRIKAM,
    FABRIKAM_USER,
    MANAGER,
)
from tests.emulator.conftest import REDIRECT_URI

pytestmark = pytest.mark.integration


def test_sign_in_with_pkce_gives_tokens_an_account_and_a_working_graph_token(identity):
    app = identity.app()
    flow = identity.begin(app, MANAGER.user_principal_name)
    auth_response = identity.authorize(flow)

    assert set(auth_response) == {"code", "client_info", "state", "session_state"}
    assert auth_response["state"] == flow["state"]

    result = app.acquire_token_by_auth_code_flow(flow, auth_response)

    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == result["ext_expires_in"] == 3600
    assert {"access_token", "refresh_token", "id_token", "client_info"} <= set(result)
    # Entra names Graph's permissions in short form, whatever prefix the request used.
    assert result["scope"].split() == [
        "Calendars.ReadWrite",
        "User.Read",
        "profile",
        "openid",
        "email",
    ]
    claims = result["id_token_claims"]
    assert claims["aud"] == demo_directory.APP.client_id
    assert claims["iss"] == f"{identity.emulator.base_url}/{CONTOSO.tenant_id}/v2.0"
    assert claims["oid"] == MANAGER.object_id
    assert claims["tid"] == CONTOSO.tenant_id
    assert claims["preferred_username"] == MANAGER.user_principal_name
    assert claims["name"] == MANAGER.display_name
    assert claims["exp"] > claims["iat"]
    client_info = json.loads(base64.urlsafe_b64decode(result["client_info"] + "=="))
    assert client_info == {"uid": MANAGER.object_id, "utid": CONTOSO.tenant_id}
    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{MANAGER.object_id}.{CONTOSO.tenant_id}"
    assert account["username"] == MANAGER.user_principal_name

    me = identity.graph("/me", result["access_token"])
    assert me.status_code == 200
    assert me.json()["id"] == MANAGER.object_id


def test_a_code_can_be_redeemed_only_once(identity):
    app = identity.app()
    flow = identity.begin(app, MANAGER.user_principal_name)
    auth_response = identity.authorize(flow)
    assert "access_token" in app.acquire_token_by_auth_code_flow(dict(flow), auth_response)

    replay = identity.app().acquire_token_by_auth_code_flow(dict(flow), auth_response)

    assert replay["error"] == "invalid_grant"
    assert replay["error_codes"] == [54005]
    assert replay["error_description"].startswith("AADSTS54005: OAuth2 Authorization code was")


def test_a_wrong_pkce_verifier_is_refused(identity):
    app = identity.app()
    flow = identity.begin(app, MANAGER.user_principal_name)
    auth_response = identity.authorize(flow)

    result = app.acquire_token_by_auth_code_flow({**flow, "code_verifier": "x" * 43}, auth_response)

    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [501481]


def test_a_code_expires_after_ten_minutes(identity, control):
    app = identity.app()
    flow = identity.begin(app, MANAGER.user_principal_name)
    auth_response = identity.authorize(flow)
    control.advance_clock(601)

    result = app.acquire_token_by_auth_code_flow(flow, auth_response)

    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [70008]


def test_a_wrong_client_secret_is_invalid_client_with_401(identity, http, emulator):
    app = identity.app()
    flow = identity.begin(app, MANAGER.user_principal_name)
    code = identity.authorize(flow)["code"]

    response = http.post(
        f"{emulator.authority_host}/organizations/oauth2/v2.0/token",
        data={
            "client_id": demo_directory.APP.client_id,
            "client_secret": "not-the-secret",
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": flow["code_verifier"],
        },
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_codes"] == [7000215]


def test_consent_declined_comes_back_to_the_redirect_uri(identity, control):
    control.next_sign_in(EMPLOYEE_ALEX.user_principal_name, "consent_declined")
    app = identity.app()
    flow = identity.begin(app, EMPLOYEE_ALEX.user_principal_name)

    auth_response = identity.authorize(flow)

    assert auth_response["error"] == "access_denied"
    assert auth_response["error_subcode"] == "cancel"
    assert auth_response["error_description"].startswith("AADSTS65004: User declined to consent")
    assert auth_response["state"] == flow["state"]
    result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    assert result["error"] == "access_denied"
    # The outcome applies to one sign-in only.
    assert "code" in identity.authorize(identity.begin(app, EMPLOYEE_ALEX.user_principal_name))


def test_admin_approval_required_outcome(identity, control):
    control.next_sign_in(EMPLOYEE_ALEX.user_principal_name, "admin_approval_required")

    auth_response = identity.authorize(
        identity.begin(identity.app(), EMPLOYEE_ALEX.user_principal_name)
    )

    assert auth_response["error"] == "consent_required"
    assert auth_response["error_description"].startswith("AADSTS90094: The grant requires admin")


def test_when_users_may_not_consent_only_an_admin_or_admin_consent_lets_them_in(
    identity, control, http, emulator
):
    control.set_user_consent_allowed(CONTOSO.tenant_id, False)
    blocked = identity.authorize(identity.begin(identity.app(), EMPLOYEE_ALEX.user_principal_name))
    assert blocked["error"] == "consent_required"

    identity.sign_in(MANAGER.user_principal_name)  # an admin may consent for themselves
    consent = http.get(
        f"{emulator.authority_host}/{CONTOSO.tenant_id}/v2.0/adminconsent?"
        + urlencode(
            {
                "client_id": demo_directory.APP.client_id,
                "scope": f"{emulator.base_url}/.default",
                "redirect_uri": REDIRECT_URI,
                "state": "s1",
            }
        ),
        allow_redirects=False,
    )
    assert consent.status_code == 302

    _, result = identity.sign_in(EMPLOYEE_ALEX.user_principal_name)
    assert identity.graph("/me", result["access_token"]).status_code == 200


def test_a_user_of_another_tenant_cannot_sign_in_to_a_tenant_authority(identity):
    app = identity.app(CONTOSO.tenant_id)
    flow = identity.begin(app, FABRIKAM_USER.user_principal_name)

    page = identity.browse(flow["auth_uri"])

    assert page.status_code == 400
    assert "Location" not in page.headers
    assert "AADSTS50020" in page.text


def test_organizations_lets_any_work_account_in_and_says_which_tenant(identity):
    _, result = identity.sign_in(FABRIKAM_USER.user_principal_name)

    assert result["id_token_claims"]["tid"] == FABRIKAM.tenant_id


def test_without_login_hint_a_page_lists_the_seeded_accounts(identity):
    flow = identity.begin(identity.app(CONTOSO.tenant_id), None)

    page = identity.browse(flow["auth_uri"])

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert MANAGER.user_principal_name in page.text
    assert FABRIKAM_USER.user_principal_name not in page.text  # not in this tenant
    link = next(
        part.split("'")[0] for part in page.text.split("href='")[1:] if "alex.wilber" in part
    )
    chosen = identity.browse(link.replace("&amp;", "&"))
    assert chosen.status_code == 302
    assert dict(parse_qsl(urlsplit(chosen.headers["Location"]).query))["state"] == flow["state"]


def test_a_guest_address_is_not_an_account_here(identity):
    page = identity.browse(identity.begin(identity.app(), EXTERNAL_ATTENDEE.mail)["auth_uri"])

    assert page.status_code == 200
    assert "AADSTS50034" in page.text
    assert "Location" not in page.headers


def test_an_unregistered_redirect_uri_is_shown_to_the_user_not_redirected(identity, emulator):
    flow = identity.begin(
        identity.app(), MANAGER.user_principal_name, redirect_uri="https://evil.example/callback"
    )

    page = identity.browse(flow["auth_uri"])

    assert page.status_code == 400
    assert "AADSTS50011" in page.text
    assert "Location" not in page.headers


def test_configured_redirect_uris_replace_the_loopback_default(identity, control):
    control.settings(redirect_uris=["https://app.contoso.test/api/auth/callback"])
    flow = identity.begin(identity.app(), MANAGER.user_principal_name)

    assert "AADSTS50011" in identity.browse(flow["auth_uri"]).text


def test_an_unknown_scope_is_sent_back_as_invalid_scope(identity, emulator):
    app = identity.app()
    flow = identity.begin(app, MANAGER.user_principal_name, [f"{emulator.base_url}/Mail.Nuke"])

    auth_response = identity.authorize(flow)

    assert auth_response["error"] == "invalid_scope"
    assert "AADSTS70011" in auth_response["error_description"]
