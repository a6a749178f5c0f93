"""Issue 17: an organisation that limits the app to a group ("Assignment required" on the
enterprise application), seen by Grady Archie, who is outside that group.

Entra refuses him with AADSTS50105: at sign-in on its own page (the browser never comes back),
at the code's redemption if he lost his assignment meanwhile, and at a background refresh once
the organisation turns assignment on after he connected.
"""

from collections.abc import Iterator

import pytest

from devtools.demo_directory import CONTOSO, EMPLOYEE_ALEX, MANAGER, OUTSIDE_GROUP
from tests.e2e.test_two_way_sync_e2e import Outlook, create, outlook

pytestmark = pytest.mark.e2e
__all__ = ["outlook"]

ASSIGNMENT = f"tenants/{CONTOSO.tenant_id}/assignment"


@pytest.fixture
def assignment_required(outlook: Outlook) -> Iterator[Outlook]:
    """Contoso's admin sets "Assignment required" (its group is assigned already)."""
    outlook.app.control("PATCH", ASSIGNMENT, required=True)
    yield outlook
    outlook.app.control("POST", "reset")


def status_of(outlook: Outlook, person) -> dict:
    answer = outlook.app.call("GET", "me/calendar", person)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_someone_outside_the_assigned_group_stays_on_microsofts_page(assignment_required):
    outlook = assignment_required
    url = outlook.app.start_connect(OUTSIDE_GROUP)

    page = outlook.app.browse(url)

    assert page.status_code == 400
    assert "Location" not in page.headers, "Entra does not send the browser back to the app"
    assert "AADSTS50105" in page.text
    assert "<form" not in page.text
    assert status_of(outlook, OUTSIDE_GROUP)["status"] == "not_connected"
    # a member of the assigned group connects as before
    assert outlook.app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}


def test_losing_the_assignment_before_the_code_is_redeemed_ends_as_not_assigned(
    assignment_required,
):
    outlook = assignment_required
    outlook.app.control("PATCH", ASSIGNMENT, users=[OUTSIDE_GROUP.user_principal_name])
    answer = outlook.app.at_microsoft(outlook.app.start_connect(OUTSIDE_GROUP))
    outlook.app.control("PATCH", ASSIGNMENT, users=[])  # the admin takes him off meanwhile

    back = outlook.app.deliver(answer)
    assert back.status_code == 302, back.text
    completion = back.headers["Location"].split("outlookCompletion=")[1]
    completed = outlook.app.call(
        "POST", "me/calendar/complete", OUTSIDE_GROUP, json={"code": completion}
    )

    assert completed.status_code == 200, completed.text
    assert completed.json()["outcome"] == "not_assigned"
    assert completed.json()["calendar"]["status"] == "not_connected"


@pytest.fixture
def short_lived_tokens(outlook: Outlook) -> Iterator[Outlook]:
    """Access tokens under MSAL's five-minute margin: every use of a connection refreshes it."""
    outlook.app.control("PATCH", "settings", access_token_lifetime=120)
    yield outlook
    outlook.app.control("POST", "reset")


def test_assignment_turned_on_after_connecting_is_reported_once_as_not_assigned(
    short_lived_tokens,
):
    outlook = short_lived_tokens
    assert outlook.app.connect(OUTSIDE_GROUP) == {"outlook": "connected"}
    outlook.settle()
    outlook.app.control("PATCH", ASSIGNMENT, required=True)

    attendee = [{"email": OUTSIDE_GROUP.mail, "userId": OUTSIDE_GROUP.host_user_id}]
    for room in ("Room 1", "Room 2"):  # each invitation makes the app read Grady's mailbox
        create(outlook, attendees=attendee, location={"kind": "text", "text": room})

    status = status_of(outlook, OUTSIDE_GROUP)
    assert (status["status"], status["reason"]) == ("reconnect_required", "not_assigned")
    assert "ask your admin" in status["message"]
    feed = outlook.app.call("GET", "me/changes", OUTSIDE_GROUP).json()["value"]
    reported = [c for c in feed if c["kind"] == "reconnect_required"]
    assert [c["reason"] for c in reported] == ["not_assigned"]
    # the organiser's own connection is untouched
    assert status_of(outlook, MANAGER)["status"] == "connected"
