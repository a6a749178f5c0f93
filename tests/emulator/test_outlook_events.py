"""Events through Graph as the app calls them: create, read, PATCH, cancel, DELETE, copies."""

import pytest

from devtools.demo_directory import (
    EMPLOYEE_ALEX,
    EMPLOYEE_LYNNE,
    EXTERNAL_ATTENDEE,
    FABRIKAM_USER,
    MANAGER,
    NEVER_CONNECTS,
    ON_PREMISES_MAILBOX,
    WITHOUT_TEAMS,
)
from tests.emulator.outlook_support import as_person, event_body, teams

pytestmark = pytest.mark.integration
__all__ = ["as_person"]


@pytest.fixture
def adele(as_person):
    return as_person(MANAGER)


@pytest.fixture
def alex(as_person):
    return as_person(EMPLOYEE_ALEX)


def test_a_teams_meeting_is_created_in_london_time_and_answered_in_utc(adele):
    answer = adele.call("POST", "/me/events", event_body(attendees=[EMPLOYEE_ALEX], **teams()))

    assert answer.status_code == 201, answer.text
    event = answer.json()
    assert event["id"].startswith("AAkALg")
    assert len(event["id"]) > 100
    assert event["iCalUId"].startswith("040000008200E00074C5B7101A82E008")
    assert event["webLink"].startswith("https://outlook.office365.com/owa/?itemid=")
    assert event["changeKey"]
    assert event["@odata.etag"] == f'W/"{event["changeKey"]}"'
    assert event["createdDateTime"].endswith("Z")
    assert event["lastModifiedDateTime"] == event["createdDateTime"]
    assert (event["isOrganizer"], event["type"], event["isCancelled"]) == (
        True,
        "singleInstance",
        False,
    )
    assert event["organizer"] == {
        "emailAddress": {"name": MANAGER.display_name, "address": MANAGER.mail}
    }
    assert event["attendees"][0]["status"] == {"response": "none", "time": "0001-01-01T00:00:00Z"}
    # 09:00 in London in June is 08:00 UTC; the zone it was given in is kept.
    assert event["start"] == {"dateTime": "2026-06-01T08:00:00.0000000", "timeZone": "UTC"}
    assert event["end"] == {"dateTime": "2026-06-01T08:30:00.0000000", "timeZone": "UTC"}
    assert event["originalStartTimeZone"] == "GMT Standard Time"
    assert event["isOnlineMeeting"] is True
    assert event["onlineMeetingProvider"] == "teamsForBusiness"
    assert event["onlineMeeting"]["joinUrl"].startswith(
        "https://teams.microsoft.com/l/meetup-join/19%3ameeting_"
    )
    assert answer.headers["Preference-Applied"] == 'outlook.timezone="UTC", IdType="ImmutableId"'
    assert answer.headers["client-request-id"] == "test-1"


def test_without_teams_the_location_is_plain_text_and_there_is_no_join_url(adele):
    event = adele.create(location={"displayName": "Garden"})

    assert event["isOnlineMeeting"] is False
    assert event["onlineMeeting"] is None
    assert event["location"]["displayName"] == "Garden"
    assert event["locations"] == [event["location"]]


def test_other_online_providers_are_ignored_as_on_a_teams_only_calendar(adele):
    event = adele.create(isOnlineMeeting=True, onlineMeetingProvider="skypeForConsumer")

    assert (event["isOnlineMeeting"], event["onlineMeeting"]) == (False, None)


def test_a_calendar_without_teams_saves_the_meeting_without_one(as_person, adele, control):
    joni = as_person(WITHOUT_TEAMS)
    calendar = joni.call("GET", "/me/calendar").json()

    event = joni.create(**teams())

    assert calendar["allowedOnlineMeetingProviders"] == []
    assert calendar["defaultOnlineMeetingProvider"] == "unknown"
    assert (event["isOnlineMeeting"], event["onlineMeeting"]) == (False, None)
    control.online_meetings(MANAGER.mail, allowed_providers=[])  # Teams taken away from Adele
    assert adele.create(**teams())["onlineMeeting"] is None
    assert adele.call("GET", "/me/calendar").json()["allowedOnlineMeetingProviders"] == []


def test_a_join_url_can_appear_only_after_the_create_answer(adele, control):
    control.online_meetings(MANAGER.mail, join_url_delay_seconds=60)

    made = adele.create(attendees=[EMPLOYEE_ALEX], **teams())
    soon = adele.call("GET", f"/me/events/{made['id']}").json()
    control.advance_clock(61)
    later = adele.call("GET", f"/me/events/{made['id']}").json()

    assert (made["isOnlineMeeting"], made["onlineMeeting"]) == (True, None)
    assert soon["onlineMeeting"] is None
    assert later["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/")
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)
    assert copy["onlineMeeting"] == later["onlineMeeting"]
    assert control.online_meetings(MANAGER.mail)["join_url_delay_seconds"] == 60


def test_with_no_delay_the_join_url_is_missing_from_the_answer_only(adele, control):
    control.online_meetings(MANAGER.mail, join_url_delay_seconds=0)
    plain = adele.create()

    online = adele.call("PATCH", f"/me/events/{plain['id']}", teams()).json()

    assert (online["isOnlineMeeting"], online["onlineMeeting"]) == (True, None)
    read = adele.call("GET", f"/me/events/{plain['id']}").json()
    assert read["onlineMeeting"]["joinUrl"]


def test_invited_cloud_mailboxes_get_copies_with_the_meetings_ical_uid(adele, control):
    invited = [EMPLOYEE_ALEX, FABRIKAM_USER, EXTERNAL_ATTENDEE, ON_PREMISES_MAILBOX]
    event = adele.create(attendees=invited)

    for person in (EMPLOYEE_ALEX, FABRIKAM_USER):
        (copy,) = control.mailbox_events(person.mail)
        assert copy["iCalUId"] == event["iCalUId"]
        assert copy["id"] != event["id"]
        assert copy["isOrganizer"] is False
        assert copy["responseStatus"]["response"] == "none"
        assert copy["showAs"] == "tentative", "unanswered invitations show as tentative"
        assert copy["organizer"]["emailAddress"]["address"] == MANAGER.mail
    assert control.mailbox_events(NEVER_CONNECTS.mail) == []
    assert [e["id"] for e in control.mailbox_events(MANAGER.mail)] == [event["id"]]


def test_a_repeated_transaction_id_answers_the_first_event_and_creates_nothing(
    adele, as_person, control
):
    body = event_body(attendees=[EMPLOYEE_ALEX], transactionId="conversation-42")

    first = adele.call("POST", "/me/events", body)
    again = adele.call("POST", "/me/events", {**body, "subject": "Retried"})
    lynnes = as_person(EMPLOYEE_LYNNE).call("POST", "/me/events", {**body, "attendees": []})

    assert (first.status_code, again.status_code, lynnes.status_code) == (201, 201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["subject"] == "Weekly check-in"
    assert again.json()["transactionId"] == "conversation-42"
    assert len(control.mailbox_events(MANAGER.mail)) == 1
    assert len(control.mailbox_events(EMPLOYEE_ALEX.mail)) == 1
    assert lynnes.json()["id"] != first.json()["id"], "transaction ids are per mailbox"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"conversationId": "c-1"}, "The property 'conversationId' does not exist on type"),
        ({"showAs": "sleeping"}, "Cannot convert the literal 'sleeping'"),
        ({"onlineMeetingProvider": "zoom"}, "Cannot convert the literal 'zoom'"),
    ],
)
def test_the_schema_refuses_unknown_properties_and_enum_members(adele, control, extra, message):
    answer = adele.call("POST", "/me/events", event_body(**extra))

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "RequestBodyRead"
    assert answer.json()["error"]["message"].startswith(message)
    assert control.mailbox_events(MANAGER.mail) == []


def test_zones_graph_does_not_know_are_refused_in_bodies_and_in_prefer(adele):
    body = adele.call("POST", "/me/events", event_body(zone="Mars/Olympus_Mons"))
    prefer = adele.call(
        "GET",
        "/me/calendarView",
        params={
            "startDateTime": "2026-06-01T00:00:00",
            "endDateTime": "2026-06-02T00:00:00",
        },
        prefer='outlook.timezone="Nowhere"',
    )

    for answer, name in ((body, "Mars/Olympus_Mons"), (prefer, "Nowhere")):
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "TimeZoneNotSupportedException"
        assert f"'{name}'" in answer.json()["error"]["message"]


def test_iana_names_are_accepted_and_prefer_chooses_the_answer_zone(adele):
    event = adele.create(zone="Europe/London")

    pacific = adele.call(
        "GET", f"/me/events/{event['id']}", prefer='outlook.timezone="Pacific Standard Time"'
    )
    assert pacific.json()["start"] == {
        "dateTime": "2026-06-01T01:00:00.0000000",
        "timeZone": "Pacific Standard Time",
    }
    plain = adele.call("GET", f"/me/events/{event['id']}", prefer=None)
    assert plain.json()["start"]["timeZone"] == "UTC"
    assert "Preference-Applied" not in plain.headers


def test_patch_moves_the_meeting_for_its_attendees_and_bumps_the_change_key(adele, control):
    event = adele.create(attendees=[EMPLOYEE_ALEX])
    control.advance_clock(60)

    answer = adele.call(
        "PATCH",
        f"/me/events/{event['id']}",
        {
            "start": {"dateTime": "2026-06-01T15:00:00", "timeZone": "GMT Standard Time"},
            "end": {"dateTime": "2026-06-01T16:00:00", "timeZone": "GMT Standard Time"},
            "location": {"displayName": "Garden"},
        },
    )

    assert answer.status_code == 200, answer.text
    moved = answer.json()
    assert moved["start"]["dateTime"] == "2026-06-01T14:00:00.0000000"
    assert moved["changeKey"] != event["changeKey"]
    assert moved["lastModifiedDateTime"] > event["lastModifiedDateTime"]
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)
    assert (copy["start"]["dateTime"], copy["location"]["displayName"]) == (
        "2026-06-01T14:00:00.0000000",
        "Garden",
    )


def test_patch_answers_graphs_errors_for_unknown_and_malformed_ids(adele):
    unknown = adele.call("PATCH", "/me/events/AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0Anope", {})
    malformed = adele.call("GET", "/me/events/not*an*id")

    assert unknown.status_code == 404
    assert unknown.json()["error"] == {
        **unknown.json()["error"],
        "code": "ErrorItemNotFound",
        "message": "The specified object was not found in the store.",
    }
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (
        400,
        "ErrorInvalidIdMalformed",
    )


def test_through_graph_a_meeting_stays_online_once_it_is(adele):
    event = adele.create(**teams())

    answer = adele.call(
        "PATCH",
        f"/me/events/{event['id']}",
        {
            "isOnlineMeeting": False,
            "location": {"displayName": "Room 9"},
        },
    )

    assert answer.json()["isOnlineMeeting"] is True
    assert answer.json()["onlineMeeting"] == event["onlineMeeting"]
    assert answer.json()["location"]["displayName"] == "Room 9"


def test_an_attendee_patch_changes_only_their_own_copy(adele, alex, control):
    event = adele.create(attendees=[EMPLOYEE_ALEX])
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)

    answer = alex.call("PATCH", f"/me/events/{copy['id']}", {"location": {"displayName": "Cafe"}})

    assert answer.status_code == 200
    assert answer.json()["location"]["displayName"] == "Cafe"
    (organisers,) = control.mailbox_events(MANAGER.mail)
    assert organisers["location"]["displayName"] == event["location"]["displayName"]


def test_cancel_by_the_organiser_removes_the_meeting_and_cancels_the_copies(adele, control):
    event = adele.create(attendees=[EMPLOYEE_ALEX])

    answer = adele.call("POST", f"/me/events/{event['id']}/cancel", {"comment": "Not this week"})

    assert answer.status_code == 202
    assert answer.content == b""
    assert adele.call("GET", f"/me/events/{event['id']}").status_code == 404
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)
    assert copy["isCancelled"] is True
    assert copy["subject"] == "Canceled: Weekly check-in"
    assert copy["showAs"] == "free"


def test_an_attendee_cannot_cancel(adele, alex, control):
    adele.create(attendees=[EMPLOYEE_ALEX])
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)

    answer = alex.call("POST", f"/me/events/{copy['id']}/cancel", {"Comment": "Can't make it"})

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "ErrorAccessDenied"
    assert answer.json()["error"]["message"] == (
        "Your request can't be completed. You need to be an organizer to cancel a meeting."
    )
    assert control.mailbox_events(EMPLOYEE_ALEX.mail)[0]["isCancelled"] is False


def test_cancel_takes_only_a_comment(adele):
    event = adele.create()

    answer = adele.call("POST", f"/me/events/{event['id']}/cancel", {"reason": "x"})

    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "RequestBodyRead")


def test_delete_by_the_organiser_cancels_and_by_an_attendee_removes_only_their_copy(
    adele, alex, as_person, control
):
    first = adele.create(attendees=[EMPLOYEE_ALEX, EMPLOYEE_LYNNE])
    (alexs,) = control.mailbox_events(EMPLOYEE_ALEX.mail)

    assert alex.call("DELETE", f"/me/events/{alexs['id']}").status_code == 204
    assert control.mailbox_events(EMPLOYEE_ALEX.mail) == []
    assert adele.call("GET", f"/me/events/{first['id']}").status_code == 200

    assert adele.call("DELETE", f"/me/events/{first['id']}").status_code == 204
    (lynnes,) = control.mailbox_events(EMPLOYEE_LYNNE.mail)
    assert lynnes["isCancelled"] is True
    assert adele.call("DELETE", f"/me/events/{first['id']}").status_code == 404


def test_get_with_select_answers_the_attendees_responses(adele, control):
    event = adele.create(attendees=[EMPLOYEE_ALEX, EXTERNAL_ATTENDEE])
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)
    control.respond_in_outlook(EMPLOYEE_ALEX.mail, copy["id"], "accepted")

    answer = adele.call("GET", f"/me/events/{event['id']}", params={"$select": "subject,attendees"})

    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"@odata.context", "@odata.etag", "id", "subject", "attendees"}
    assert body["@odata.context"].endswith(
        f"users('{MANAGER.object_id}')/events(subject,attendees)/$entity"
    )
    responses = {a["emailAddress"]["address"]: a["status"]["response"] for a in body["attendees"]}
    assert responses == {EMPLOYEE_ALEX.mail: "accepted", EXTERNAL_ATTENDEE.mail: "none"}
    wrong = adele.call("GET", f"/me/events/{event['id']}", params={"$select": "mood"})
    assert wrong.status_code == 400


def test_a_series_is_one_master_with_exchanges_recurrence_defaults(adele, control):
    recurrence = {
        "pattern": {"type": "weekly", "daysOfWeek": ["monday"]},
        "range": {
            "type": "numbered",
            "startDate": "2026-06-01",
            "numberOfOccurrences": 6,
            "recurrenceTimeZone": "GMT Standard Time",
        },
    }
    series = adele.create(attendees=[EMPLOYEE_ALEX], recurrence=recurrence)

    assert series["type"] == "seriesMaster"
    assert series["recurrence"]["pattern"] == {
        "type": "weekly",
        "interval": 1,
        "month": 0,
        "dayOfMonth": 0,
        "daysOfWeek": ["monday"],
        "firstDayOfWeek": "sunday",
        "index": "first",
    }
    assert series["recurrence"]["range"]["endDate"] == "0001-01-01"
    (copy,) = control.mailbox_events(EMPLOYEE_ALEX.mail)
    assert copy["type"] == "seriesMaster"
    incomplete = adele.call(
        "POST",
        "/me/events",
        event_body(
            recurrence={
                "pattern": {"type": "weekly"},
                "range": {"type": "noEnd", "startDate": "2026-06-01"},
            }
        ),
    )
    assert incomplete.status_code == 400
