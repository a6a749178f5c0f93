"""Assignment required (AADSTS50105): who Entra issues tokens to when the enterprise application
is limited to the people and groups assigned to it."""

import pytest

from devtools.demo_directory import CALENDAR_SYNC_USERS, CONTOSO, EMPLOYEE_ALEX, OUTSIDE_GROUP

pytestmark = pytest.mark.integration


def test_the_seed_assigns_the_group_but_requires_nothing(control):
    seeded = control.assignment(CONTOSO.tenant_id)
    assert seeded["required"] is False
    assert seeded["groups"] == [CALENDAR_SYNC_USERS.object_id]
    assert OUTSIDE_GROUP.key not in CALENDAR_SYNC_USERS.member_keys
    assert EMPLOYEE_ALEX.key in CALENDAR_SYNC_USERS.member_keys


def test_a_refresh_after_assignment_is_required_is_refused_with_50105_for_outsiders_only(
    identity, control
):
    control.settings(access_token_lifetime=60)  # MSAL refreshes anything under 5 minutes
    outsider, _ = identity.sign_in(OUTSIDE_GROUP.user_principal_name)
    member, _ = identity.sign_in(EMPLOYEE_ALEX.user_principal_name)
    control.assignment(CONTOSO.tenant_id, required=True)

    [account] = outsider.get_accounts()
    refused = outsider.acquire_token_silent_with_error(identity.scopes, account)
    [alex] = member.get_accounts()
    refreshed = member.acquire_token_silent_with_error(identity.scopes, alex)

    assert refused["error"] == "invalid_grant"
    assert refused["error_codes"] == [50105]
    assert "specifically granted ('assigned') access" in refused["error_description"]
    assert "access_token" in refreshed


def test_someone_assigned_directly_may_sign_in(identity, control):
    control.assignment(CONTOSO.tenant_id, required=True, users=[OUTSIDE_GROUP.mail])
    _, signed_in = identity.sign_in(OUTSIDE_GROUP.user_principal_name)
    assert "access_token" in signed_in


def test_an_unknown_group_cannot_be_assigned(control):
    with pytest.raises(RuntimeError, match="404"):
        control.assignment(CONTOSO.tenant_id, groups=["no-such-group"])
