"""Input at and beyond the documented limits: a clear 4xx with a code, never a 500."""

import json
from dataclasses import replace

import pytest

from devtools.demo_directory import MANAGER
from devtools.host_app import HostApp, query_of
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
    [
        "http://[",
        "http://127.0.0.1:3000/" + "a" * 3000,
        "http://\uff4cocalhost:3000/",
        "http://localhost:3000/\u202eevil",
    ],
    ids=["unclosed-ipv6-bracket", "overlong", "look-alike-host", "right-to-left-override"],
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


# --- malformed, oversized and deep input (issue 13, finding 5) --------------------------------

CONVERSATION = {
    "type": "check_in",
    "title": "Limits",
    "attendees": [],
    "start": "2030-03-05T09:00:00",
    "end": "2030-03-05T09:30:00",
    "timeZone": "Europe/London",
}
BODIES = {
    "nested 100,000 deep": ("[" * 100_000 + "]" * 100_000, 400, "invalid_json"),
    "nested 17 deep": (json.dumps({**CONVERSATION, "x": [[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}),
                       400, "invalid_json"),
    "300 KB": (json.dumps({**CONVERSATION, "title": "x" * 300_000}), 413, "too_large"),
    "a 100 KB attendee name": (json.dumps({**CONVERSATION, "attendees": [
        {"email": "alex.wilber@contoso.com", "name": "x" * 100_000}]}), 400, "invalid_attendees"),
    "a 10 KB time zone": (json.dumps({**CONVERSATION, "timeZone": "Europe/" + "x" * 10_000}),
                          400, "invalid_time"),
    "not UTF-8": (b"{\"title\": \"\xff\"}", 400, "invalid_json"),
}  # fmt: skip


@pytest.mark.parametrize("case", BODIES)
def test_a_body_beyond_the_limits_is_a_problem_never_a_500(app, case):
    body, status, code = BODIES[case]
    data = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": "application/json"}
    assert_problem(app.call("POST", "conversations", MANAGER, data=data, headers=headers),
                   status, code)  # fmt: skip
    every_body = [("PUT", "admin/settings"), ("POST", "me/calendar/connect"),
                  ("POST", "me/calendar/complete"), ("POST", "admin/consent/complete"),
                  ("POST", "conversations/x/notes"), ("PATCH", "conversations/x")]  # fmt: skip
    for method, path in every_body:
        answer = app.call(method, path, MANAGER, data=data, headers=headers)
        if code in ("invalid_json", "too_large"):  # whatever the operation, the body is refused
            assert_problem(answer, status, code)
        else:
            assert answer.status_code < 500, (path, answer.status_code, answer.text)


def test_a_token_whose_user_id_could_not_be_a_storage_key_is_refused(app):
    token = app.token(replace(MANAGER, host_user_id="u" * 5000))
    answer = app.call("GET", "me/calendar", token=token)
    assert assert_problem(answer, 401)["code"] == "invalid_token"


def test_an_idempotency_key_of_escaped_characters_fits_and_a_longer_one_is_refused(app):
    def create(key: str):
        return app.call("POST", "conversations", MANAGER, json=CONVERSATION,
                        headers={"Idempotency-Key": key})  # fmt: skip

    kept = create("%" * 128)  # each "%" is three characters of a storage key
    assert kept.status_code == 201, kept.text
    again = create("%" * 128)
    assert (again.status_code, again.json()["id"]) == (200, kept.json()["id"])
    assert assert_problem(create("%" * 200), 400)["code"] == "invalid_key"
    not_ascii = "k\u00e9y".encode().decode("latin-1")  # as a header carries it
    assert assert_problem(create(not_ascii), 400)["code"] == "invalid_key"


@pytest.mark.parametrize(
    "window",
    [
        {"start": "0001-01-01T00:00:00", "end": "0001-01-08T00:00:00", "timeZone": "Asia/Tokyo"},
        {"start": "9999-12-24T00:00:00", "end": "9999-12-31T00:00:00",
         "timeZone": "America/New_York"},
    ],
    ids=["year-1", "year-9999"],
)  # fmt: skip
def test_a_window_at_the_ends_of_the_calendar_is_refused(app, window):
    for path in ("conversations", "availability"):
        answer = app.call("GET", path, MANAGER, params=window)
        assert assert_problem(answer, 400)["code"] == "invalid_window", path


def test_a_five_thousand_digit_error_description_is_read_for_its_codes_only(app):
    answer = app.at_microsoft(app.start_connect(MANAGER))
    refused = answer.with_fields(error="invalid_request",
                                 error_description="AADSTS" + "9" * 5000)  # fmt: skip
    back = app.deliver(refused)
    assert back.status_code == 302, back.text
    assert query_of(back.headers["Location"])["outlook"] == "sign_in_failed"
    consent = app.call("GET", f"admin/consent?returnUrl={app.origin}/admin", MANAGER)
    state = query_of(consent.json()["consentUrl"])["state"]
    back = app.call("GET", "admin/consent/callback",
                    params={"state": state, "error": "access_denied",
                            "error_description": "9" * 5000})  # fmt: skip
    assert back.status_code == 302, back.text


def test_a_sign_in_answer_larger_than_a_form_of_microsofts_is_refused(app):
    answer = app.at_microsoft(app.start_connect(MANAGER))
    back = app.deliver(answer.with_fields(code="x" * 70_000))
    assert assert_problem(back, 413)["code"] == "too_large"
