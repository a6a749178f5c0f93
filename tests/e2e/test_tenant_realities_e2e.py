"""Issue 12, cases 3, 4, 5 and 7: what real tenants do that the seed used to hide.

- (3) getSchedule resolves SMTP addresses only, and many people's mail differs from their
  userPrincipalName (alias domains, renamed people);
- (4) a Teams join URL can be missing from the create answer, and a calendar may not allow
  Teams at all;
- (5) a sign-in revoked while nobody is looking, and Graph refusing an access token;
- (7) an admin of another tenant completing the organisation's consent link.
"""

from collections.abc import Iterator

import pytest

from devtools.demo_directory import (
    EMPLOYEE_ALEX,
    FABRIKAM,
    FABRIKAM_USER,
    MAIL_ON_ALIAS_DOMAIN,
    MANAGER,
    RENAMED,
    WITHOUT_TEAMS,
    Person,
)
from devtools.host_app import HostApp
from tests.e2e.stack_support import run_maintenance
from tests.e2e.test_two_way_sync_e2e import DAY, Outlook, create, outlook, read

pytestmark = pytest.mark.e2e
__all__ = ["outlook"]  # the fixture, reused from the two-way sync tests


def connect(outlook: Outlook, person: Person) -> None:
    assert outlook.app.connect(person) == {"outlook": "connected"}
    outlook.settle()


def run_timer(outlook: Outlook) -> None:
    run_maintenance(outlook.app.base_url, outlook.storage)
    outlook.settle()


def feed_of(outlook: Outlook, person: Person) -> list[dict]:
    answer = outlook.app.call("GET", "me/changes", person)
    assert answer.status_code == 200, answer.text
    return answer.json()["value"]


# --- (3) availability by SMTP address ---------------------------------------------------------


def availability_of(outlook: Outlook, attendee: str) -> dict:
    answer = outlook.app.call(
        "GET",
        "availability",
        MANAGER,
        params={"start": f"{DAY}T00:00:00", "end": f"{DAY}T23:00:00", "timeZone": "UTC",
                "attendees": attendee},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    (found,) = answer.json()["attendees"]
    return found


def busy_in_outlook(outlook: Outlook, person: Person) -> None:
    outlook.app.control(
        "POST", f"mailboxes/{person.mail}/events", subject="Dentist",
        start=f"{DAY}T14:00:00", end=f"{DAY}T15:00:00",
    )  # fmt: skip


@pytest.mark.parametrize("person", [MAIL_ON_ALIAS_DOMAIN, RENAMED], ids=lambda p: p.key)
def test_availability_by_email_finds_a_person_whose_mail_is_not_their_sign_in_name(outlook, person):
    busy_in_outlook(outlook, person)

    found = availability_of(outlook, person.mail)

    assert found["status"] == "ok", found
    assert [b["start"] for b in found["busy"]] == [f"{DAY}T14:00:00+00:00"]


@pytest.mark.parametrize("person", [MAIL_ON_ALIAS_DOMAIN, RENAMED], ids=lambda p: p.key)
def test_availability_of_a_connected_person_whose_mail_is_not_their_sign_in_name(outlook, person):
    # The app must ask getSchedule by the person's mail, not by their userPrincipalName.
    connect(outlook, person)
    busy_in_outlook(outlook, person)

    found = availability_of(outlook, person.host_user_id)

    assert found["status"] == "ok", found
    assert [b["start"] for b in found["busy"]] == [f"{DAY}T14:00:00+00:00"]


# --- (4) Teams ---------------------------------------------------------------------------------


@pytest.fixture
def late_join_urls(outlook: Outlook) -> Iterator[Outlook]:
    """Graph answers a create before the Teams meeting is provisioned; a later read has it."""
    path = f"mailboxes/{MANAGER.mail}/online-meetings"
    outlook.app.control("PUT", path, join_url_delay_seconds=0)
    yield outlook
    outlook.app.control("PUT", path, join_url_delay_seconds=None)


def test_a_teams_link_missing_from_graphs_answer_is_fetched_later(late_join_urls):
    outlook = late_join_urls
    conversation = create(outlook, location={"kind": "teams"})
    assert conversation["outlook"]["teamsJoinUrl"] is None, "Graph's create answer had none"

    run_timer(outlook)

    later = read(outlook, conversation).json()
    assert later["outlook"]["teamsJoinUrl"].startswith("https://teams.microsoft.com/l/")


def test_a_calendar_that_does_not_allow_teams_is_reported(outlook):
    connect(outlook, WITHOUT_TEAMS)
    status = outlook.app.call("GET", "me/calendar", WITHOUT_TEAMS)
    made = outlook.app.call(
        "POST", "conversations", WITHOUT_TEAMS,
        json={"type": "check_in", "title": "Catch-up", "start": f"{DAY}T09:00:00",
              "end": f"{DAY}T09:30:00", "timeZone": "UTC", "location": {"kind": "teams"},
              "attendees": [{"email": EMPLOYEE_ALEX.mail, "userId": EMPLOYEE_ALEX.host_user_id}]},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    outlook.settle()

    seen = outlook.app.call("GET", f"conversations/{made.json()['id']}", WITHOUT_TEAMS)

    assert "teams_unavailable" in status.text, "checked when the calendar is connected"
    assert seen.json()["outlook"]["teamsJoinUrl"] is None
    assert "teams_unavailable" in seen.text, "the organiser is told the meeting has no Teams"


# --- (5) a sign-in that stops working ---------------------------------------------------------


@pytest.fixture
def short_lived_tokens(outlook: Outlook) -> Iterator[Outlook]:
    """Access tokens under MSAL's five-minute margin: every use of a connection refreshes it."""
    outlook.app.control("PATCH", "settings", access_token_lifetime=120)
    yield outlook
    outlook.app.control("PATCH", "settings", access_token_lifetime=3600)


def test_a_revoked_sign_in_found_by_background_work_is_reported_once(short_lived_tokens):
    outlook = short_lived_tokens
    connect(outlook, EMPLOYEE_ALEX)  # again, with a short-lived token
    outlook.app.control(
        "POST", f"users/{EMPLOYEE_ALEX.user_principal_name}/refresh-tokens", action="revoke"
    )

    for room in ("Room 1", "Room 2"):  # each invitation makes the app read Alex's mailbox
        create(outlook, location={"kind": "text", "text": room})

    status = outlook.app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()
    assert (status["status"], status["reason"]) == ("reconnect_required", "access_revoked")
    reported = [c for c in feed_of(outlook, EMPLOYEE_ALEX) if c["kind"] == "reconnect_required"]
    assert [c["reason"] for c in reported] == ["access_revoked"]


@pytest.fixture
def faults_cleared(outlook: Outlook) -> Iterator[Outlook]:
    yield outlook
    outlook.app.control("DELETE", "faults")


def test_graph_refusing_an_access_token_is_answered_by_one_refresh_and_a_retry(faults_cleared):
    outlook = faults_cleared
    outlook.app.control(
        "POST", "faults", path_prefix="/v1.0/me/events", method="POST", status=401, count=1,
        code="InvalidAuthenticationToken",
        message="Lifetime validation failed, the token is expired.",
    )  # fmt: skip
    outlook.app.control("DELETE", "requests")

    conversation = create(outlook)

    assert conversation["sync"] == {"state": "synced", "error": None}
    token_calls = [
        r for r in outlook.app.identity_requests() if r["path"].endswith("/oauth2/v2.0/token")
    ]
    assert len(token_calls) == 1, "one forced refresh"


# --- (7) admin consent ------------------------------------------------------------------------


def test_an_admin_consent_given_by_another_tenants_admin_never_sets_the_tenant(
    host_app: HostApp,
):
    app = host_app
    assert app.set_switches(MANAGER, allow=True).status_code == 200
    app.control("POST", f"tenants/{FABRIKAM.tenant_id}/next-admin-consent", outcome="granted")

    # Fabrikam's admin signs in on the link Contoso's admin got (the tenant is not set yet), and
    # Contoso's admin page completes the answer.
    completed = app.consent(MANAGER, signing_in=FABRIKAM_USER)

    assert completed.status_code == 200, completed.text
    settings = app.call("GET", "admin/settings", MANAGER).json()
    assert settings["tenantId"] is None, "a consent answer never sets the tenant"
    assert settings["adminConsent"]["tenantId"] == FABRIKAM.tenant_id, "but shows who consented"
    assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}, "Contoso's people still can"
