"""People working in Outlook through the control API, the change feed each edit lands in, and
the pipeline (throttling, faults, the log) on the calendar routes."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from devtools.demo_directory import (
    EMPLOYEE_ALEX,
    EMPLOYEE_LYNNE,
    MANAGER,
    NEVER_CONNECTS,
    ON_PREMISES_MAILBOX,
)
from devtools.graph_emulator.prefer import Preferences
from tests.emulator.outlook_support import as_person, event_body

pytestmark = pytest.mark.integration

__all__ = ["as_person"]


@pytest.fixture
def adele(as_person):
    return as_person(MANAGER)


def feed(control, person, since=0):
    return [(c["change_type"], c["event_id"]) for c in control.mailbox_changes(person.mail, since)]


def position(control, person):
    changes = control.mailbox_changes(person.mail)
    return changes[-1]["sequence"] if changes else 0


@pytest.mark.integration
def test_a_personal_event_created_in_outlook_is_in_the_mailbox_and_the_feed(control):
    event = control.create_outlook_event(
        EMPLOYEE_ALEX.mail,
        "Dentist",
        "2026-06-01T14:00:00",
        "2026-06-01T15:00:00",
        timeZone="Europe/London",
        location="Clinic",
        showAs="busy",
    )

    assert (event["subject"], event["location"]["displayName"]) == ("Dentist", "Clinic")
    assert event["start"] == {"dateTime": "2026-06-01T13:00:00.0000000", "timeZone": "UTC"}
    assert control.mailbox_events(EMPLOYEE_ALEX.mail) == [event]
    (change,) = control.mailbox_changes(EMPLOYEE_ALEX.mail)
    assert (change["change_type"], change["event_id"], change["mailbox"]) == (
        "created",
        event["id"],
        EMPLOYEE_ALEX.object_id,
    )
    assert change["sequence"] >= 1
    assert change["at"]


@pytest.mark.integration
def test_moving_and_renaming_in_outlook_reaches_the_attendees(adele, control):
    meeting = adele.create(attendees=[EMPLOYEE_ALEX])
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)
    seen = {p.key: position(control, p) for p in (MANAGER, EMPLOYEE_ALEX)}

    moved = control.edit_outlook_event(
        MANAGER.mail,
        meeting["id"],
        start="2026-06-02T14:00:00",
        end="2026-06-02T15:00:00",
        subject="Renamed in Outlook",
        location="Cafe",
    )

    assert moved["subject"] == "Renamed in Outlook"
    assert moved["changeKey"] != meeting["changeKey"]
    (after,) = control.mailbox_events(EMPLOYEE_ALEX.mail)
    assert (after["subject"], after["start"]["dateTime"], after["location"]["displayName"]) == (
        "Renamed in Outlook",
        "2026-06-02T14:00:00.0000000",
        "Cafe",
    )
    assert feed(control, MANAGER, seen["manager"]) == [("updated", meeting["id"])]
    assert feed(control, EMPLOYEE_ALEX, seen["employee_alex"]) == [("updated", copy["id"])]


@pytest.mark.integration
def test_teams_can_be_turned_off_and_on_in_outlook(adele, control):
    meeting = adele.create(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")

    off = control.edit_outlook_event(MANAGER.mail, meeting["id"], isOnlineMeeting=False)
    on = control.edit_outlook_event(MANAGER.mail, meeting["id"], isOnlineMeeting=True)

    assert (off["isOnlineMeeting"], off["onlineMeeting"]) == (False, None)
    assert on["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/")


@pytest.mark.integration
def test_deleting_in_outlook_cancels_for_the_attendees(adele, control):
    meeting = adele.create(attendees=[EMPLOYEE_ALEX])
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)
    seen = position(control, EMPLOYEE_ALEX)

    control.delete_outlook_event(MANAGER.mail, meeting["id"])

    assert control.mailbox_events(MANAGER.mail) == []
    assert control.mailbox_events(EMPLOYEE_ALEX.mail)[0]["isCancelled"] is True
    assert feed(control, MANAGER)[-1] == ("deleted", meeting["id"])
    assert feed(control, EMPLOYEE_ALEX, seen) == [("updated", copy["id"])]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("response", "shows"),
    [("accepted", "busy"), ("tentativelyAccepted", "tentative"), ("declined", "free")],
)
def test_a_response_updates_the_copy_and_the_organisers_tracking(adele, control, response, shows):
    meeting = adele.create(attendees=[EMPLOYEE_ALEX, EMPLOYEE_LYNNE])
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)
    seen = {p.key: position(control, p) for p in (MANAGER, EMPLOYEE_ALEX)}

    answered = control.respond_in_outlook(EMPLOYEE_ALEX.mail, copy["id"], response)

    assert answered["responseStatus"]["response"] == response
    assert answered["showAs"] == shows
    read = adele.call("GET", f"/me/events/{meeting['id']}", params={"$select": "attendees"})
    statuses = {
        a["emailAddress"]["address"]: a["status"]["response"] for a in read.json()["attendees"]
    }
    assert statuses == {EMPLOYEE_ALEX.mail: response, EMPLOYEE_LYNNE.mail: "none"}
    assert feed(control, EMPLOYEE_ALEX, seen["employee_alex"]) == [("updated", copy["id"])]
    assert feed(control, MANAGER, seen["manager"]) == [("updated", meeting["id"])]


@pytest.mark.integration
def test_a_proposed_time_shows_on_the_organisers_event_until_the_organiser_moves_it(adele, control):
    meeting = adele.create(attendees=[EMPLOYEE_ALEX, EMPLOYEE_LYNNE], allowNewTimeProposals=True)
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)
    slot = {"start": "2026-06-02T10:00:00", "end": "2026-06-02T10:30:00", "timeZone": "UTC"}

    control.respond_in_outlook(EMPLOYEE_ALEX.mail, copy["id"], "tentativelyAccepted", slot)

    pacific = 'outlook.timezone="Pacific Standard Time"'
    read = adele.call("GET", f"/me/events/{meeting['id']}", prefer=pacific).json()
    alex, lynne = read["attendees"]
    assert alex["status"]["response"] == "tentativelyAccepted"
    assert alex["status"]["time"]
    assert alex["proposedNewTime"]["start"] == {
        "dateTime": "2026-06-02T03:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    assert "proposedNewTime" not in lynne, "absent when none was proposed (attendee.md)"

    adele.call(
        "PATCH",
        f"/me/events/{meeting['id']}",
        {"start": {"dateTime": "2026-06-02T10:00:00", "timeZone": "UTC"},
         "end": {"dateTime": "2026-06-02T10:30:00", "timeZone": "UTC"}},
    )  # fmt: skip
    moved = adele.call("GET", f"/me/events/{meeting['id']}").json()
    assert all("proposedNewTime" not in a for a in moved["attendees"])


@pytest.mark.integration
def test_no_time_can_be_proposed_when_the_organiser_does_not_allow_it(adele, control):
    adele.create(attendees=[EMPLOYEE_ALEX], allowNewTimeProposals=False)
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)
    slot = {"start": "2026-06-02T10:00:00", "end": "2026-06-02T10:30:00"}

    with pytest.raises(RuntimeError, match="400"):
        control.respond_in_outlook(EMPLOYEE_ALEX.mail, copy["id"], "declined", slot)


@pytest.mark.integration
def test_adding_an_attendee_in_outlook_invites_them(adele, control):
    meeting = adele.create(attendees=[EMPLOYEE_ALEX])
    seen = position(control, EMPLOYEE_LYNNE)

    updated = control.add_attendee_in_outlook(
        MANAGER.mail, meeting["id"], EMPLOYEE_LYNNE.mail, "Lynne"
    )

    assert [a["emailAddress"]["address"] for a in updated["attendees"]] == [
        EMPLOYEE_ALEX.mail,
        EMPLOYEE_LYNNE.mail,
    ]
    (invitation,) = control.mailbox_events(EMPLOYEE_LYNNE.mail)
    assert invitation["iCalUId"] == meeting["iCalUId"]
    assert feed(control, EMPLOYEE_LYNNE, seen) == [("created", invitation["id"])]
    assert feed(control, MANAGER)[-1] == ("updated", meeting["id"])


@pytest.mark.integration
def test_removing_an_attendee_sends_them_a_cancellation(adele, control):
    meeting = adele.create(attendees=[EMPLOYEE_ALEX, EMPLOYEE_LYNNE])

    adele.call(
        "PATCH",
        f"/me/events/{meeting['id']}",
        {
            "attendees": [
                {"emailAddress": {"address": EMPLOYEE_ALEX.mail}, "type": "required"},
            ]
        },
    )

    assert control.mailbox_events(EMPLOYEE_LYNNE.mail)[0]["isCancelled"] is True
    assert control.mailbox_events(EMPLOYEE_ALEX.mail)[0]["isCancelled"] is False


@pytest.mark.integration
def test_outlook_refuses_what_outlook_would(adele, control, http, emulator):
    meeting = adele.create(attendees=[EMPLOYEE_ALEX])
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)
    base = f"{emulator.base_url}/_emulator/mailboxes"

    cases = [
        ("POST", f"{MANAGER.mail}/events/{meeting['id']}/respond", {"response": "accepted"}, 409),
        ("POST", f"{EMPLOYEE_ALEX.mail}/events/{copy['id']}/attendees", {"email": "x@y.z"}, 403),
        ("POST", f"{EMPLOYEE_ALEX.mail}/events/{copy['id']}/respond", {"response": "maybe"}, 400),
        ("PATCH", f"{MANAGER.mail}/events/nothing-here", {"subject": "x"}, 404),
        ("PUT", f"{MANAGER.mail}/sharing", {"free_busy": "everything"}, 400),
        ("GET", f"{ON_PREMISES_MAILBOX.mail}/events", None, 404),
        ("GET", "nobody@contoso.com/events", None, 404),
        (
            "POST",
            f"{MANAGER.mail}/events",
            {
                "subject": "x",
                "start": "2026-06-01T09:00:00",
                "end": "2026-06-01T10:00:00",
                "showAs": "asleep",
            },
            400,
        ),
    ]
    for method, path, body, status in cases:
        answer = http.request(method, f"{base}/{path}", json=body, timeout=10)
        assert answer.status_code == status, (path, answer.text)
        assert answer.json()["error"]


@pytest.mark.integration
def test_sharing_is_per_person_and_reset_clears_calendars_and_sharing(adele, control):
    adele.create(attendees=[EMPLOYEE_ALEX])
    control.set_free_busy_sharing(EMPLOYEE_ALEX.mail, "none")

    control.reset()

    assert control.mailbox_events(MANAGER.mail) == []
    assert control.mailbox_events(EMPLOYEE_ALEX.mail) == []
    assert control.mailbox_changes(MANAGER.mail) == []
    schedule = adele.schedule([EMPLOYEE_ALEX.mail], "2026-06-01T00:00:00", "2026-06-02T00:00:00")
    assert "error" not in schedule.json()["value"][0]


@pytest.mark.integration
def test_outlook_limits_throttle_each_mailbox_and_every_call_is_logged(adele, as_person, control):
    control.settings(mailbox_limits={"requests": 2, "window_seconds": 600})
    control.clear_requests()

    window = ("2026-06-01T00:00:00", "2026-06-02T00:00:00")
    answers = [adele.view(*window) for _ in range(2)]
    throttled = adele.call("POST", "/me/calendar/getSchedule", {})
    other_mailbox = as_person(NEVER_CONNECTS).view(*window)

    assert [a.status_code for a in answers] == [200, 200]
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "ApplicationThrottled"
    assert int(throttled.headers["Retry-After"]) > 0
    assert other_mailbox.status_code == 200
    logged = [(r["method"], r["path"], r["status"]) for r in control.graph_requests()]
    assert logged == [
        ("GET", "/v1.0/me/calendarView", 200),
        ("GET", "/v1.0/me/calendarView", 200),
        ("POST", "/v1.0/me/calendar/getSchedule", 429),
        ("GET", "/v1.0/me/calendarView", 200),
    ]
    control.advance_clock(600)
    assert adele.view(*window).status_code == 200


@pytest.mark.integration
def test_injected_faults_reach_the_event_routes(adele, control):
    control.add_fault("/v1.0/me/events", 503, count=1, retry_after=7, method="POST")

    failed = adele.call("POST", "/me/events", {"subject": "x"})
    created = adele.create()

    assert (failed.status_code, failed.headers["Retry-After"]) == (503, "7")
    assert [e["id"] for e in control.mailbox_events(MANAGER.mail)] == [created["id"]]


def held(control, count: int) -> bool:
    return control.held_answers() == count


def wait_until(condition, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.05)  # polling the control API: a held request gives no other signal


@pytest.mark.integration
def test_a_held_answer_comes_once_released_and_graph_did_the_work_before(adele, control):
    control.hold_answers("/v1.0/me/events", method="POST")
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(adele.create, subject="Held")
        wait_until(lambda: held(control, 1), "the create's answer is held")

        (made,) = control.mailbox_events(MANAGER.mail)
        assert made["subject"] == "Held", "carried out before its answer"
        assert control.release_answers() == 1
        assert answer.result(timeout=10)["id"] == made["id"]
    assert adele.create(subject="Next")["subject"] == "Next", "held once (count 1)"


@pytest.mark.integration
def test_a_dropped_answer_never_arrives_though_graph_did_the_work(adele, control):
    control.drop_answers("/v1.0/me/events", method="POST")

    body = event_body("Lost answer", transactionId="t-1")
    with pytest.raises(requests.ConnectionError):
        adele.call("POST", "/me/events", body)

    (made,) = control.mailbox_events(MANAGER.mail)
    again = adele.call("POST", "/me/events", body)
    assert (again.status_code, again.json()["id"]) == (201, made["id"]), "the retry: one event"


@pytest.mark.integration
def test_a_held_answer_can_be_dropped_too(adele, control):
    control.hold_answers("/v1.0/me/events", method="POST")
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(adele.call, "POST", "/me/events", event_body())
        wait_until(lambda: held(control, 1), "the create's answer is held")
        control.release_answers(answer=False)
        with pytest.raises(requests.ConnectionError):
            answer.result(timeout=10)
    assert len(control.mailbox_events(MANAGER.mail)) == 1


@pytest.mark.integration
def test_on_premises_mailboxes_are_not_reachable_through_rest(as_person):
    isaiah = as_person(ON_PREMISES_MAILBOX)

    for method, path in (
        ("POST", "/me/events"),
        ("GET", "/me/calendarView"),
        ("POST", "/me/calendar/getSchedule"),
    ):
        answer = isaiah.call(method, path, {})
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "MailboxNotEnabledForRESTAPI"


def test_the_apps_single_prefer_header_is_read_in_full():
    prefer = Preferences.parse(
        ['outlook.timezone="UTC", IdType="ImmutableId", odata.maxpagesize=200']
    )

    assert prefer.outlook_timezone == "UTC"
    assert prefer.immutable_ids
    assert prefer.max_page_size == 200
    assert prefer.applied("outlook.timezone", "idtype", "odata.maxpagesize") == {
        "Preference-Applied": 'outlook.timezone="UTC", IdType="ImmutableId", odata.maxpagesize=200'
    }
