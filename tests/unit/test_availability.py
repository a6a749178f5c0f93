"""Availability on the fakes: own events with titles, attendees' busy time only, and why not."""

import pytest

from shared.availability.service import attendees_asked
from shared.availability.views import availability_view
from shared.conversations.requests import parse_window_query
from shared.errors import ErrorCode, InvalidRequest, NotConnected, OutlookUnavailable
from tests.unit.world import ADELE, ALEX, LYNNE, Person, World

MIRIAM = Person("u-miriam", "miriam@contoso.test", "Miriam Graham")
MIRIAM_MAIL = "miriam.graham@contoso-uk.test"  # her mailbox is on an alias domain

WINDOW = {"start": "2026-12-07T00:00:00", "end": "2026-12-08T00:00:00", "timeZone": "UTC"}


def event(world: World, upn: str, subject: str, hour: int, show_as: str = "busy") -> None:
    start, end = f"2026-12-07T{hour:02}:00:00", f"2026-12-07T{hour:02}:30:00"
    world.graph.add_event(upn, subject, start, end, show_as)


@pytest.fixture
def world() -> World:
    world = World.connected(ADELE, ALEX)
    event(world, ADELE.upn, "1:1 prep", 9)
    event(world, ALEX.upn, "Medical appointment", 10)
    event(world, ALEX.upn, "Lunch, happy to move", 12, show_as="free")
    event(world, ADELE.upn, "Reading time", 15, show_as="free")
    return world


def availability(world: World, attendees: str) -> dict:
    window = parse_window_query(WINDOW, max_days=61)
    found = world.app.availability.availability(ADELE.caller, window, attendees_asked(attendees))
    return availability_view(found)


def test_own_events_have_titles_and_attendees_only_busy_time(world):
    answer = availability(world, ALEX.user_id)

    assert [(e["title"], e["colour"]) for e in answer["events"]] == [("1:1 prep", "blue")]
    (alex,) = answer["attendees"]
    assert (alex["attendee"], alex["email"], alex["status"]) == (ALEX.user_id, ALEX.upn, "ok")
    assert alex["busy"] == [
        {
            "start": "2026-12-07T10:00:00+00:00",
            "end": "2026-12-07T10:30:00+00:00",
            "status": "busy",
            "colour": "green",
        }
    ]
    assert "Medical" not in str(answer)


def test_each_attendee_who_cannot_be_shown_says_why(world):
    world.graph.mailboxes[ALEX.upn].shares_free_busy = False
    world.app.people.seen(LYNNE.caller)  # Lynne uses the app, and has not connected
    answer = availability(world, f"{ALEX.user_id},{LYNNE.user_id},stranger@fabrikam.test,u-nobody")

    statuses = {a["attendee"]: a["status"] for a in answer["attendees"]}
    assert statuses == {
        ALEX.user_id: "sharing_none",
        LYNNE.user_id: "not_connected",
        "stranger@fabrikam.test": "not_found",
        "u-nobody": "not_found",  # an id the app never met: not "not connected"
    }
    assert all(a["message"] and a["busy"] == [] for a in answer["attendees"])


def test_notices_name_people_by_their_display_name(world):
    world.graph.mailboxes[ALEX.upn].shares_free_busy = False
    world.app.people.seen(LYNNE.caller)

    answer = availability(world, f"{ALEX.user_id},{LYNNE.user_id}")

    messages = [a["message"] for a in answer["attendees"]]
    assert messages[0].startswith(f"{ALEX.name} does not share"), messages
    assert messages[1].startswith(f"{LYNNE.name} has not connected"), messages


def test_a_person_whose_mail_is_not_their_sign_in_name_is_asked_for_by_mail():
    world = World()
    world.graph.add_person(MIRIAM.upn, MIRIAM.name, mail=MIRIAM_MAIL)
    world.switch()
    for person in (ADELE, MIRIAM):
        assert world.connect(person) == "connected"
    world.graph.add_event(MIRIAM.upn, "Board", "2026-12-07T11:00:00", "2026-12-07T12:00:00")

    answer = availability(world, f"{MIRIAM.user_id},{MIRIAM_MAIL}")

    by_id, by_mail = answer["attendees"]
    assert (by_id["status"], by_id["email"]) == ("ok", MIRIAM_MAIL)
    assert [b["start"] for b in by_id["busy"]] == ["2026-12-07T11:00:00+00:00"]
    assert {**by_mail, "attendee": MIRIAM.user_id} == by_id, "by id and by email alike"


def test_a_person_asked_for_by_email_gets_the_answer_they_get_by_id(world):
    world.app.connections.disconnect(ALEX.caller)  # known, connected once, not now

    answer = availability(world, f"{ALEX.user_id},{ALEX.upn}")

    by_id, by_mail = answer["attendees"]
    assert by_id["status"] == by_mail["status"] == "not_connected"
    assert by_id["message"] == by_mail["message"]


def test_when_getschedule_fails_attendees_are_unavailable_beside_own_events(world):
    world.graph.fail("POST", "me/calendar/getSchedule", 503, times=3)
    answer = availability(world, ALEX.user_id)
    assert [e["title"] for e in answer["events"]] == ["1:1 prep"]
    assert [a["status"] for a in answer["attendees"]] == ["unavailable"]


def test_when_outlook_cannot_list_own_events_the_caller_is_told_to_try_again(world):
    world.graph.fail("GET", "me/calendarView", 429, retry_after=30)
    with pytest.raises(OutlookUnavailable) as busy:
        availability(world, ALEX.user_id)
    assert busy.value.retry_after == 30


def test_the_caller_must_be_connected(world):
    window = parse_window_query(WINDOW, max_days=61)
    with pytest.raises(NotConnected):
        world.app.availability.availability(LYNNE.caller, window, [])


def test_at_most_a_hundred_attendees_each_once():
    assert len(attendees_asked("a@x.test, a@x.test,u-1,,u-1")) == 2
    with pytest.raises(InvalidRequest) as refused:
        attendees_asked(",".join(f"u-{i}" for i in range(101)))
    assert refused.value.code is ErrorCode.TOO_MANY_ATTENDEES
