"""Silent refresh with MSAL, and the ways a refresh token stops working."""

import pytest

from devtools.demo_directory import EMPLOYEE_LYNNE, MANAGER

pytestmark = pytest.mark.integration


def _silent(identity, app, force_refresh=False):
    [account] = app.get_accounts()
    return app.acquire_token_silent_with_error(
        identity.scopes, account, force_refresh=force_refresh
    )


def test_an_expired_access_token_is_refreshed_silently_with_a_rotated_refresh_token(
    identity, control
):
    control.settings(access_token_lifetime=60)  # MSAL refreshes anything under 5 minutes
    app, first = identity.sign_in(MANAGER.user_principal_name)
    token_calls = len([r for r in control.requests() if r["path"].endswith("/token")])

    refreshed = _silent(identity, app)

    assert refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != first["access_token"]
    assert refreshed["refresh_token"] != first["refresh_token"]
    assert len([r for r in control.requests() if r["path"].endswith("/token")]) == token_calls + 1
    assert identity.graph("/me", refreshed["access_token"]).status_code == 200


def test_msal_caches_the_token_under_the_short_names_entra_answers(identity, control):
    app, first = identity.sign_in(MANAGER.user_principal_name)
    [account] = app.get_accounts()

    cached = app.acquire_token_silent_with_error(["User.Read", "Calendars.ReadWrite"], account)
    asked_as_requested = _silent(identity, app)  # prefixed names: not what the cache holds

    assert cached["token_source"] == "cache"
    assert cached["access_token"] == first["access_token"]
    assert asked_as_requested["token_source"] == "identity_provider"


def test_graph_refuses_a_token_past_its_lifetime_and_a_refresh_fixes_it(identity, control):
    app, first = identity.sign_in(MANAGER.user_principal_name)
    control.advance_clock(3600 + 301)  # past exp and Graph's five minutes of clock skew

    expired = identity.graph("/me", first["access_token"])

    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert expired.json()["error"]["message"] == "Lifetime validation failed, the token is expired."
    [account] = app.get_accounts()
    fresh = app.acquire_token_silent_with_error(identity.scopes, account, force_refresh=True)
    assert identity.graph("/me", fresh["access_token"]).status_code == 200


def test_a_refresh_token_unused_for_90_days_has_expired(identity, control):
    app, _ = identity.sign_in(MANAGER.user_principal_name)
    control.advance_clock(91 * 24 * 3600)

    result = _silent(identity, app, force_refresh=True)  # MSAL's own clock did not move

    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [700082]


def test_expire_action_makes_refresh_fail_with_700082(identity, control):
    control.settings(access_token_lifetime=60)
    app, _ = identity.sign_in(MANAGER.user_principal_name)

    control.refresh_tokens(MANAGER.user_principal_name, "expire")
    result = _silent(identity, app)

    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [700082]
    assert result["error_description"].startswith("AADSTS700082: The refresh token has expired")


def test_revoke_action_makes_refresh_fail_with_50173_but_a_new_sign_in_works(identity, control):
    control.settings(access_token_lifetime=60)
    app, _ = identity.sign_in(MANAGER.user_principal_name)

    control.refresh_tokens(MANAGER.user_principal_name, "revoke")
    result = _silent(identity, app)

    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [50173]
    again, _ = identity.sign_in(MANAGER.user_principal_name)
    assert "access_token" in _silent(identity, again)


def test_withdrawn_consent_makes_refresh_ask_for_consent_again(identity, control):
    control.settings(access_token_lifetime=60)
    app, _ = identity.sign_in(EMPLOYEE_LYNNE.user_principal_name)

    control.refresh_tokens(EMPLOYEE_LYNNE.user_principal_name, "withdraw_consent")
    result = _silent(identity, app)

    assert result["error"] == "invalid_grant"
    assert result["suberror"] == "consent_required"
    assert result["error_codes"] == [65001]


def test_revoking_one_user_leaves_the_others_alone(identity, control):
    control.settings(access_token_lifetime=60)
    lynne, _ = identity.sign_in(EMPLOYEE_LYNNE.user_principal_name)
    identity.sign_in(MANAGER.user_principal_name)

    control.refresh_tokens(MANAGER.user_principal_name, "revoke")

    assert "access_token" in _silent(identity, lynne)
