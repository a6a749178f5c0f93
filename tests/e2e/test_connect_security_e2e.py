"""Connections stay inside their organisation, and tokens never leave the app in the clear.

Through the local host and the emulator, with the real MSAL and Azurite, like test_connect_e2e.
"""

import json
import re
import uuid
from collections.abc import Iterator

import pytest
import requests

from devtools.demo_directory import EMPLOYEE_ALEX, EMPLOYEE_LYNNE, FABRIKAM_USER, MANAGER
from devtools.host_app import HostApp, query_of
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.keys import table_key
from shared.token_cipher import Sealed, TokenCipher
from tests.e2e.conftest import RunningHost
from tests.e2e.test_connect_e2e import assert_problem

pytestmark = pytest.mark.e2e

# The emulator's tokens (devtools/graph_emulator/tokens.py): access and id tokens are RS256
# JWTs, refresh tokens "1.A" + 128 base64url characters (authorization codes are shorter).
JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
REFRESH_TOKEN_SHAPE = re.compile(r"1\.A[\w-]{100,}")


@pytest.fixture
def app(host_app: HostApp) -> Iterator[HostApp]:
    """A host app whose organisation allows Outlook; the emulator's settings are reset after."""
    assert host_app.set_switches(MANAGER, allow=True).status_code == 200
    yield host_app
    host_app.control("DELETE", "faults")
    host_app.control("PATCH", "settings", access_token_lifetime=3600)


def other_organisation(app: HostApp) -> str:
    """A second host-app organisation that allows Outlook too (so only isolation can refuse)."""
    org_id = f"org-other-{uuid.uuid4().hex[:8]}"
    assert app.set_switches(MANAGER, allow=True, org_id=org_id).status_code == 200
    return org_id


def test_a_token_of_another_organisation_never_reaches_a_users_connection(app):
    assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}
    elsewhere = other_organisation(app)  # same `sub` as the connected Alex, another `org`

    status = app.call("GET", "me/calendar", EMPLOYEE_ALEX, org_id=elsewhere)
    assert status.status_code == 200, status.text
    assert status.json() == {"status": "not_connected"}
    checked = app.call("POST", "me/calendar/check", EMPLOYEE_ALEX, org_id=elsewhere)
    assert_problem(checked, 409, "not_connected")
    assert app.call("DELETE", "me/calendar", EMPLOYEE_ALEX, org_id=elsewhere).status_code == 204

    mine = app.call("POST", "me/calendar/check", EMPLOYEE_ALEX)
    assert mine.status_code == 200, mine.text
    assert mine.json()["status"] == "connected"
    assert mine.json()["account"]["userPrincipalName"] == EMPLOYEE_ALEX.user_principal_name
    # The account link survived too: the other organisation cannot take Alex's account.
    assert app.connect(EMPLOYEE_ALEX, org_id=elsewhere) == {"outlook": "account_already_linked"}
    assert app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()["status"] == "connected"


# --- a connection only its owner can make (issue 13, finding 1) ---------------------------------


def test_someone_who_opens_another_users_sign_in_link_links_nothing_to_them(app):
    """Alex sends Lynne the link his page got; Lynne signs in with her Microsoft account, and
    her browser comes back to the host app, where her page completes with her own token."""
    url = app.start_connect(EMPLOYEE_ALEX)

    back = app.sign_in(url, signing_in=EMPLOYEE_LYNNE)

    assert_problem(app.complete(EMPLOYEE_LYNNE, back), 403, "sign_in_not_yours")
    assert_problem(app.complete(EMPLOYEE_ALEX, back), 400, "invalid_state"), "spent"
    assert app.call("GET", "me/calendar", EMPLOYEE_ALEX).json() == {"status": "not_connected"}
    assert app.call("GET", "me/calendar", EMPLOYEE_LYNNE).json() == {"status": "not_connected"}
    # Lynne's own Microsoft account is still hers to connect.
    assert app.connect(EMPLOYEE_LYNNE) == {"outlook": "connected"}


def test_the_same_user_in_another_organisation_cannot_complete_a_sign_in(app):
    elsewhere = other_organisation(app)
    back = app.sign_in(app.start_connect(EMPLOYEE_ALEX))
    assert_problem(app.complete(EMPLOYEE_ALEX, back, org_id=elsewhere), 403, "sign_in_not_yours")
    assert app.call("GET", "me/calendar", EMPLOYEE_ALEX).json() == {"status": "not_connected"}


def test_completing_shows_which_microsoft_account_signed_in(app):
    back = app.sign_in(app.start_connect(EMPLOYEE_ALEX))
    completed = app.complete(EMPLOYEE_ALEX, back)
    assert completed.status_code == 200, completed.text
    body = completed.json()
    account = {
        "userPrincipalName": EMPLOYEE_ALEX.user_principal_name,
        "displayName": EMPLOYEE_ALEX.display_name,
    }
    assert (body["outcome"], body["signedInAs"]) == ("connected", account)
    assert (body["calendar"]["status"], body["calendar"]["account"]) == ("connected", account)


def test_a_consent_answer_is_recorded_only_for_the_admin_who_asked(app):
    before = app.call("GET", "admin/settings", MANAGER).json()["adminConsent"]
    link = app.call("GET", f"admin/consent?returnUrl={app.origin}/admin", MANAGER)
    answer = app.at_microsoft(link.json()["consentUrl"] + "&login_hint=" + MANAGER.mail)
    back = query_of(app.deliver(answer).headers["Location"])
    assert set(back) == {"adminConsentCompletion"}, "nothing recorded before the admin completes"
    assert app.call("GET", "admin/settings", MANAGER).json()["adminConsent"] == before

    body = {"code": back["adminConsentCompletion"]}
    other_admin = app.call(
        "POST", "admin/consent/complete", FABRIKAM_USER, org_id=app.org_id, json=body
    )
    assert_problem(other_admin, 403, "sign_in_not_yours")
    assert_problem(app.call("POST", "admin/consent/complete", MANAGER, json=body), 400,
                   "invalid_state")  # fmt: skip
    assert app.call("GET", "admin/settings", MANAGER).json()["adminConsent"] == before


def held_tokens(
    storage: StorageAccount, app: HostApp, host_environment: dict[str, str]
) -> set[str]:
    """Every secret in the user's stored MSAL cache, opened with the app's own key."""
    entity = storage.table(names.CONNECTIONS_TABLE).get_entity(
        app.org_id, EMPLOYEE_ALEX.host_user_id
    )
    cipher = TokenCipher.from_secret(host_environment["TOKEN_ENCRYPTION_KEYS"])
    sealed = Sealed(entity["TokenKeyId"], bytes(entity["TokenCache"]))
    binding = "connection:" + table_key(app.org_id, EMPLOYEE_ALEX.host_user_id)
    cache = json.loads(cipher.open(sealed, binding))
    secrets = {
        item["secret"]
        for kind in ("AccessToken", "RefreshToken", "IdToken")
        for item in cache.get(kind, {}).values()
    }
    assert any(REFRESH_TOKEN_SHAPE.fullmatch(s) for s in secrets), "a refresh token is held"
    assert any(JWT.fullmatch(s) for s in secrets), "an access token is held"
    return secrets


def seen_text(response: requests.Response) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return f"{response.status_code}\n{headers}\n\n{response.text}"


def log_until_now(local_host: RunningHost, app: HostApp) -> list[str]:
    """The host's log lines since the test's skip_log, up to a marker request answered last."""
    marker = f"log-marker-{uuid.uuid4().hex}"
    app.call("GET", marker)
    local_host.wait_for(marker)  # every earlier line has been read by then
    return list(local_host.output)


def test_tokens_never_appear_in_responses_or_in_the_hosts_log(
    app, storage, local_host, host_environment
):
    local_host.skip_log()
    already_logged = len(local_host.output)
    seen: list[requests.Response] = []

    def remember(response: requests.Response) -> requests.Response:
        seen.append(response)
        return response

    # Connect, step by step, keeping every answer of the function app.
    app.control("PATCH", "settings", access_token_lifetime=120)  # refreshed on every use
    started = remember(app.call("POST", "me/calendar/connect", EMPLOYEE_ALEX, json={}))
    answer = app.at_microsoft(started.json()["authorizationUrl"])
    back = remember(app.deliver(answer))
    completion = query_of(back.headers["Location"])
    remember(app.complete(EMPLOYEE_ALEX, completion))
    remember(app.call("GET", "me/calendar", EMPLOYEE_ALEX))
    tokens = held_tokens(storage, app, host_environment)

    # A forced refresh: MSAL redeems the refresh token and the app stores the new cache.
    app.control("DELETE", "requests")
    refreshed = remember(app.call("POST", "me/calendar/check", EMPLOYEE_ALEX))
    assert refreshed.status_code == 200, refreshed.text
    assert any(r["path"].endswith("/oauth2/v2.0/token") for r in app.identity_requests())
    tokens |= held_tokens(storage, app, host_environment)

    # A failed refresh: the refresh token is revoked at Microsoft.
    upn = EMPLOYEE_ALEX.user_principal_name
    app.control("POST", f"users/{upn}/refresh-tokens", action="revoke")
    failed = remember(app.call("POST", "me/calendar/check", EMPLOYEE_ALEX))
    assert_problem(failed, 409, "reconnect_required")
    remember(app.call("GET", "me/calendar", EMPLOYEE_ALEX))

    log = log_until_now(local_host, app)[already_logged:]
    assert any("connection" in line and "reconnect" in line for line in log), "the log is read"
    assert len(tokens) >= 4, "two access tokens, a refresh token and an id token at least"
    # Nor the sign-in's authorization code, anywhere; its state (in the authorization URL) and
    # the one-time completion code (in the redirect to the host app's page) never in the log.
    tokens.add(answer.fields["code"])
    for one_time in (answer.fields["state"], completion["outlookCompletion"]):
        assert not [line for line in log if one_time in line]
    looked_at = [(f"answer of {r.url}", seen_text(r)) for r in seen]
    looked_at += [(f"log line {n}", line) for n, line in enumerate(log)]
    for where, text in looked_at:
        leaked = [t[:12] + "..." for t in tokens if t in text]
        assert not leaked, f"{where} holds a token: {leaked}"
        assert not JWT.search(text), f"{where} holds a JWT"
        assert not REFRESH_TOKEN_SHAPE.search(text), f"{where} holds a refresh token"
