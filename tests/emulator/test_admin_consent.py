"""The v2 admin-consent endpoint: granted, declined, and who may answer it."""

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from devtools import demo_directory
from devtools.demo_directory import CONTOSO, EMPLOYEE_ALEX, MANAGER
from tests.emulator.conftest import REDIRECT_URI

pytestmark = pytest.mark.integration


def _admin_consent(http, emulator, tenant, **extra):
    query = {
        "client_id": demo_directory.APP.client_id,
        "scope": f"{emulator.base_url}/.default",
        "redirect_uri": REDIRECT_URI,
        "state": "consent-state",
        **extra,
    }
    return http.get(
        f"{emulator.authority_host}/{tenant}/v2.0/adminconsent?{urlencode(query)}",
        allow_redirects=False,
    )


def _answer(response):
    assert response.status_code == 302, response.text
    return dict(parse_qsl(urlsplit(response.headers["Location"]).query))


def test_granted_admin_consent_redirects_with_the_tenant_and_is_recorded(http, emulator, control):
    answer = _answer(_admin_consent(http, emulator, CONTOSO.tenant_id))

    assert answer == {
        "admin_consent": "True",
        "tenant": CONTOSO.tenant_id,
        "scope": f"{emulator.base_url}/Calendars.ReadWrite {emulator.base_url}/User.Read",
        "state": "consent-state",
    }
    assert control.consents()["tenants"] == [
        {
            "tenant_id": CONTOSO.tenant_id,
            "client_id": demo_directory.APP.client_id,
            "scopes": ["Calendars.ReadWrite", "User.Read"],
        }
    ]


def test_declined_admin_consent_redirects_with_an_error(http, emulator, control):
    control.next_admin_consent(CONTOSO.tenant_id, "declined")

    answer = _answer(_admin_consent(http, emulator, CONTOSO.tenant_id))

    assert answer["admin_consent"] == "True"
    assert answer["error"] == "consent_required"
    assert answer["error_description"].startswith("AADSTS65004: ")
    assert answer["state"] == "consent-state"
    assert control.consents()["tenants"] == []


def test_organizations_asks_which_administrator_signs_in(http, emulator):
    page = _admin_consent(http, emulator, "organizations")

    assert page.status_code == 200
    assert MANAGER.user_principal_name in page.text
    assert EMPLOYEE_ALEX.user_principal_name not in page.text
    chosen = _answer(
        _admin_consent(http, emulator, "organizations", login_hint=MANAGER.user_principal_name)
    )
    assert chosen["tenant"] == CONTOSO.tenant_id


def test_a_non_admin_cannot_grant_tenant_wide_consent(http, emulator, control):
    answer = _answer(_admin_consent(http, emulator, "organizations", login_hint=EMPLOYEE_ALEX.mail))

    assert answer["error"] == "access_denied"
    assert control.consents()["tenants"] == []
