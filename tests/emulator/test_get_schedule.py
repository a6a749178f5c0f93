"""getSchedule: limits, per-schedule errors, what each free/busy sharing level shows."""

import pytest

from devtools.demo_directory import (
    EMPLOYEE_ALEX,
    EMPLOYEE_LYNNE,
    EXTERNAL_ATTENDEE,
    FABRIKAM_USER,
    MAIL_ON_ALIAS_DOMAIN,
    MANAGER,
    NEVER_CONNECTS,
    ON_PREMISES_MAILBOX,
    RENAMED,
)
from tests.emulator.outlook_support import as_person

pytestmark = pytest.mark.integration
__all__ = ["as_person"]
DAY_START, DAY_END = "2026-06-01T08:00:00", "2026-06-01T12:00:00"


@pytest.fixture
def adele(as_person):
    return as_person(MANAGER)


def dentist(control, person=EMPLOYEE_ALEX, **fields):
    return control.create_outlook_event(
        person.mail,
        "Dentist",
        "2026-06-01T10:00:00",
        "2026-06-01T11:00:00",
        location="Clinic on High Street",
        **fields,
    )


def only(answer):
    assert answer.status_code == 200, answer.text
    (schedule,) = answer.json()["value"]
    return schedule


def test_subjects_come_back_at_the_default_limited_sharing(adele, control):
    dentist(control)

    schedule = only(adele.schedule([EMPLOYEE_ALEX.mail], DAY_START, DAY_END))

    assert schedule["scheduleId"] == EMPLOYEE_ALEX.mail
    assert schedule["availabilityView"] == "0020"
    assert schedule["scheduleItems"] == [
        {
            "isPrivate": False,
            "status": "busy",
            "subject": "Dentist",
            "location": "Clinic on High Street",
            "start": {"dateTime": "2026-06-01T10:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-06-01T11:00:00.0000000", "timeZone": "UTC"},
        }
    ]
    assert schedule["workingHours"]["daysOfWeek"][0] == "monday"


@pytest.mark.parametrize("person", [MAIL_ON_ALIAS_DOMAIN, RENAMED], ids=lambda p: p.key)
def test_people_are_found_by_smtp_address_never_by_a_sign_in_name_that_is_none(
    adele, control, person
):
    dentist(control, person)
    other_address = (person.other_smtp_addresses or (person.mail,))[0]

    by_mail, by_proxy, by_upn = adele.schedule(
        [person.mail, other_address, str(person.user_principal_name)], DAY_START, DAY_END
    ).json()["value"]

    assert by_mail["availabilityView"] == by_proxy["availabilityView"] == "0020"
    assert by_upn["error"]["responseCode"] == "5009"
    assert str(person.user_principal_name) in by_upn["error"]["message"]


def test_free_busy_sharing_shows_status_and_times_only(adele, control):
    dentist(control)
    control.set_free_busy_sharing(EMPLOYEE_ALEX.mail, "free_busy")

    (item,) = only(adele.schedule([EMPLOYEE_ALEX.mail], DAY_START, DAY_END))["scheduleItems"]

    assert set(item) == {"status", "start", "end"}


def test_private_items_keep_their_subject_from_others_but_not_from_their_owner(
    adele, as_person, control
):
    dentist(control, sensitivity="private")
    control.set_free_busy_sharing(EMPLOYEE_ALEX.mail, "full")

    (theirs,) = only(adele.schedule([EMPLOYEE_ALEX.mail], DAY_START, DAY_END))["scheduleItems"]
    alex = as_person(EMPLOYEE_ALEX)
    (own,) = only(alex.schedule([EMPLOYEE_ALEX.mail], DAY_START, DAY_END))["scheduleItems"]

    assert (theirs["isPrivate"], "subject" in theirs) == (True, False)
    assert own["subject"] == "Dentist"


def test_each_schedule_that_cannot_be_read_carries_its_own_error(adele, control):
    control.set_free_busy_sharing(EMPLOYEE_LYNNE.mail, "none")
    dentist(control)
    addresses = [
        EXTERNAL_ATTENDEE.mail,
        ON_PREMISES_MAILBOX.mail,
        EMPLOYEE_LYNNE.mail,
        FABRIKAM_USER.mail,
        EMPLOYEE_ALEX.mail,
    ]

    answer = adele.schedule(addresses, DAY_START, DAY_END)

    assert answer.status_code == 200
    by_id = {s["scheduleId"]: s for s in answer.json()["value"]}
    assert [s["scheduleId"] for s in answer.json()["value"]] == addresses
    assert by_id[EXTERNAL_ATTENDEE.mail] == {
        "scheduleId": EXTERNAL_ATTENDEE.mail,
        "error": {
            "message": f"Unable to resolve e-mail address {EXTERNAL_ATTENDEE.mail} to an Active "
            "Directory object.",
            "responseCode": "5009",
        },
    }
    assert by_id[FABRIKAM_USER.mail]["error"]["responseCode"] == "5009", "another directory"
    assert by_id[ON_PREMISES_MAILBOX.mail]["error"]["responseCode"] == (
        "MailboxNotEnabledForRESTAPI"
    )
    assert by_id[EMPLOYEE_LYNNE.mail]["error"]["responseCode"] == "ErrorNoFreeBusyAccess"
    assert "scheduleItems" not in by_id[EMPLOYEE_LYNNE.mail]
    assert by_id[EMPLOYEE_ALEX.mail]["scheduleItems"][0]["subject"] == "Dentist"


def test_cancelled_and_free_events_are_not_busy(adele, control):
    meeting = adele.create(
        start="2026-06-01T09:00:00",
        end="2026-06-01T10:00:00",
        zone="UTC",
        attendees=[EMPLOYEE_ALEX],
    )
    adele.call("POST", f"/me/events/{meeting['id']}/cancel", {})
    control.create_outlook_event(
        EMPLOYEE_ALEX.mail, "Focus", "2026-06-01T11:00:00", "2026-06-01T12:00:00", showAs="free"
    )

    schedule = only(adele.schedule([EMPLOYEE_ALEX.mail], DAY_START, DAY_END))

    assert schedule["availabilityView"] == "0000"
    assert {i["status"] for i in schedule["scheduleItems"]} == {"free"}


def test_statuses_and_responses_shape_the_availability_view(adele, as_person, control):
    meeting = adele.create(
        start="2026-06-01T08:00:00",
        end="2026-06-01T09:00:00",
        zone="UTC",
        attendees=[EMPLOYEE_ALEX],
    )
    control.create_outlook_event(
        EMPLOYEE_ALEX.mail, "Away", "2026-06-01T10:00:00", "2026-06-01T11:00:00", showAs="oof"
    )
    control.create_outlook_event(
        EMPLOYEE_ALEX.mail,
        "Home office",
        "2026-06-01T11:00:00",
        "2026-06-01T12:00:00",
        showAs="workingElsewhere",
    )

    before = only(adele.schedule([EMPLOYEE_ALEX.mail], DAY_START, DAY_END))
    copy = next(e for e in control.mailbox_events(EMPLOYEE_ALEX.mail) if not e["isOrganizer"])
    control.respond_in_outlook(EMPLOYEE_ALEX.mail, copy["id"], "accepted")
    after = only(adele.schedule([EMPLOYEE_ALEX.mail], DAY_START, DAY_END))

    # Working elsewhere is "0" in the merged view (Graph keeps it so for backward compatibility).
    assert before["availabilityView"] == "1030"
    assert after["availabilityView"] == "2030"
    assert meeting["subject"] in {i.get("subject") for i in after["scheduleItems"]}
    quarter_hours = only(
        adele.schedule([EMPLOYEE_ALEX.mail], DAY_START, DAY_END, availabilityViewInterval=15)
    )
    assert quarter_hours["availabilityView"] == "2222000033330000"


def test_twenty_schedules_is_the_limit(adele):
    twenty = [f"guest{i}@northwind.example" for i in range(20)]

    assert adele.schedule(twenty, DAY_START, DAY_END).status_code == 200
    answer = adele.schedule([*twenty, NEVER_CONNECTS.mail], DAY_START, DAY_END)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "ErrorInvalidParameter"


def test_the_window_must_be_shorter_than_62_days(adele):
    just_under = adele.schedule([EMPLOYEE_ALEX.mail], "2026-06-01T00:00:00", "2026-08-01T23:59:00")
    too_long = adele.schedule([EMPLOYEE_ALEX.mail], "2026-06-01T00:00:00", "2026-08-02T00:00:00")

    assert just_under.status_code == 200
    assert too_long.status_code == 400
    assert too_long.json()["error"]["code"] == "ErrorTimeIntervalTooBig"


@pytest.mark.parametrize(
    "extra",
    [{"availabilityViewInterval": 4}, {"availabilityViewInterval": 1441}, {"mood": "happy"}],
)
def test_parameters_out_of_range_or_unknown_are_refused(adele, extra):
    assert adele.schedule([EMPLOYEE_ALEX.mail], DAY_START, DAY_END, **extra).status_code == 400


def test_times_follow_the_preferred_zone(adele, control):
    dentist(control)
    body = {
        "schedules": [EMPLOYEE_ALEX.mail],
        "startTime": {"dateTime": "2026-06-01T09:00:00", "timeZone": "GMT Standard Time"},
        "endTime": {"dateTime": "2026-06-01T13:00:00", "timeZone": "GMT Standard Time"},
    }

    answer = adele.call(
        "POST", "/me/calendar/getSchedule", body, prefer='outlook.timezone="Europe/London"'
    )

    (item,) = only(answer)["scheduleItems"]
    assert item["start"] == {"dateTime": "2026-06-01T11:00:00.0000000", "timeZone": "Europe/London"}
    assert only(answer)["availabilityView"] == "00002200", "30-minute slots by default"
