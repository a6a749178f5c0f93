"""Issue 17: an attendee whose Microsoft account has no user principal name (Lee Gu).

Graph answers his `GET /me` with `"userPrincipalName": null` and his id token has no
`preferred_username` (demo_directory.NO_USER_PRINCIPAL_NAME says why this is the modelled
answer). He connects, and since availability asks Outlook by SMTP address (never by UPN), an
organiser scheduling with him sees his time like anyone else's.
"""

import pytest

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER, NO_USER_PRINCIPAL_NAME
from devtools.host_app import HostApp
from tests.e2e.test_scheduling_e2e import app, availability

pytestmark = pytest.mark.e2e
__all__ = ["app"]

LEE = NO_USER_PRINCIPAL_NAME


def notice_for_lee(app: HostApp) -> dict:
    answer = availability(app, MANAGER, [LEE.host_user_id, EMPLOYEE_ALEX.host_user_id])
    assert answer.status_code == 200, answer.text
    by_attendee = {a["attendee"]: a for a in answer.json()["attendees"]}
    assert by_attendee[EMPLOYEE_ALEX.host_user_id]["status"] == "ok", "the others still show"
    return by_attendee[LEE.host_user_id]


def connect_lee(app: HostApp) -> dict:
    url = app.start_connect(LEE)
    back = app.sign_in(url)
    completed = app.complete(LEE, back)
    assert completed.status_code == 200, completed.text
    return completed.json()


def test_an_account_without_a_upn_connects_and_its_time_shows_by_its_mail(app):
    """Availability asks Outlook by SMTP address (issue 12), so a missing UPN no longer hides
    anyone: the `no_user_principal_name` notice is left for an account with no address at all
    (tests/e2e/test_scheduling_e2e.py): one Graph cannot look up at all."""
    completed = connect_lee(app)
    assert completed["outcome"] == "connected"
    assert completed["signedInAs"]["userPrincipalName"] == ""

    lee = notice_for_lee(app)
    assert lee["status"] == "ok", lee
    assert lee.get("message") is None

    # His admin gives the account a UPN; after a reconnect the app shows it, and he still shows.
    app.control("PATCH", f"users/{LEE.mail}", userPrincipalName=LEE.mail)
    assert app.call("DELETE", "me/calendar", LEE).status_code == 204
    completed = connect_lee(app)
    assert completed["signedInAs"]["userPrincipalName"] == LEE.mail
    assert notice_for_lee(app)["status"] == "ok"
