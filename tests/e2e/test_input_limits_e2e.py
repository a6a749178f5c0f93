"""Input at and beyond the documented limits: a clear 4xx with a code, never a 500."""

import pytest

from devtools.demo_directory import MANAGER
from devtools.host_app import HostApp
from tests.e2e.test_connect_e2e import assert_problem

pytestmark = pytest.mark.e2e
WEEK = {"start": "2030-03-04T00:00:00", "end": "2030-03-11T00:00:00"}


@pytest.fixture
def app(host_app: HostApp) -> HostApp:
    assert host_app.set_switches(MANAGER, allow=True).status_code == 200
    assert host_app.connect(MANAGER) == {"outlook": "connected"}
    return host_app


@pytest.mark.parametrize("zone", ["Europe", "Europe/" + "x" * 300])
def test_a_folder_of_zones_or_an_overlong_name_is_not_a_time_zone(app, zone):
    answer = app.call("GET", "availability", MANAGER, params={**WEEK, "timeZone": zone})
    assert assert_problem(answer, 400)["code"] == "invalid_window"
    listed = app.call("GET", "conversations", MANAGER, params={**WEEK, "timeZone": zone})
    assert assert_problem(listed, 400)["code"] == "invalid_window"


def test_an_overlong_attendee_is_refused_before_any_lookup(app):
    answer = app.call(
        "GET", "availability", MANAGER, params={**WEEK, "attendees": "u-alex," + "0" * 2000}
    )
    assert assert_problem(answer, 400)["code"] == "invalid_attendees"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_an_id_no_conversation_can_have_is_simply_not_found(app, method):
    body = {"location": {"kind": "none"}} if method == "PATCH" else None
    answer = app.call(method, f"conversations/{'0' * 5000}", MANAGER, json=body)
    assert assert_problem(answer, 404)["code"] == "not_found"
    note = app.call("POST", f"conversations/{'0' * 5000}/notes", MANAGER, json={"text": "hi"})
    assert assert_problem(note, 404)["code"] == "not_found"


def test_too_many_attendee_characters_are_refused(app):
    listed = ",".join(f"{n:02d}-" + "u" * 97 for n in range(50))  # 50 ids of 100: 5049 in all
    answer = app.call("GET", "availability", MANAGER, params={**WEEK, "attendees": listed})
    assert assert_problem(answer, 400)["code"] == "invalid_attendees"


@pytest.mark.parametrize(
    "return_url",
    ["http://[", "http://127.0.0.1:3000/" + "a" * 3000],
    ids=["unclosed-ipv6-bracket", "overlong"],
)
def test_a_return_url_that_is_not_a_usable_address_is_refused(app, return_url):
    answer = app.call("POST", "me/calendar/connect", MANAGER, json={"returnUrl": return_url})
    assert assert_problem(answer, 400)["code"] == "return_url_not_allowed"
    consent = app.call("GET", "admin/consent", MANAGER, params={"returnUrl": return_url})
    assert assert_problem(consent, 400)["code"] == "return_url_not_allowed"


@pytest.mark.parametrize("path", ["auth/callback", "admin/consent/callback"])
def test_an_overlong_state_is_an_unknown_sign_in(app, path):
    answer = app.call("GET", path, params={"state": "s" * 5000, "code": "x"})
    assert assert_problem(answer, 400)["code"] == "invalid_state"
