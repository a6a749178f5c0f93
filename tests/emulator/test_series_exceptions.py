"""One occurrence of a series changed or cancelled, through Graph and in Outlook: exceptions,
what calendar views, `/instances` and attendees see, and what a new series pattern drops."""

import pytest

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from tests.emulator.outlook_support import as_person

pytestmark = pytest.mark.integration
__all__ = ["as_person"]

WEEKLY = {
    "pattern": {"type": "weekly", "daysOfWeek": ["monday"]},
    "range": {"type": "numbered", "startDate": "2026-06-01", "numberOfOccurrences": 4},
}
JUNE = ("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z")


@pytest.fixture
def adele(as_person):
    return as_person(MANAGER)


@pytest.fixture
def series(adele):
    return adele.create(attendees=[EMPLOYEE_ALEX], recurrence=WEEKLY, zone="UTC")


def view(person, *window):
    answer = person.view(*(window or JUNE))
    assert answer.status_code == 200, answer.text
    return answer.json()["value"]


def instances(person, series_id, *window):
    start, end = window or JUNE
    answer = person.call(
        "GET",
        f"/me/events/{series_id}/instances",
        params={"startDateTime": start, "endDateTime": end},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["value"]


def times(events):
    return [(e["start"]["dateTime"][:16], e["type"]) for e in events]


def test_an_occurrence_changed_through_graph_becomes_an_exception_for_everyone(
    adele, as_person, series
):
    second = instances(adele, series["id"])[1]
    moved = adele.call(
        "PATCH",
        f"/me/events/{second['id']}",
        {
            "start": {"dateTime": "2026-06-09T15:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-06-09T15:30:00", "timeZone": "UTC"},
            "location": {"displayName": "Cafe"},
        },
    )

    assert moved.status_code == 200, moved.text
    assert (moved.json()["id"], moved.json()["type"]) == (second["id"], "exception")
    assert moved.json()["originalStart"] == "2026-06-08T09:00:00.0000000Z"
    assert times(view(adele)) == [
        ("2026-06-01T09:00", "occurrence"),
        ("2026-06-09T15:00", "exception"),
        ("2026-06-15T09:00", "occurrence"),
        ("2026-06-22T09:00", "occurrence"),
    ]
    assert adele.call("GET", f"/me/events/{second['id']}").json()["location"]["displayName"] == (
        "Cafe"
    )
    alex_sees = view(as_person(EMPLOYEE_ALEX))
    assert times(alex_sees)[1] == ("2026-06-09T15:00", "exception")
    assert alex_sees[1]["location"]["displayName"] == "Cafe"


def test_a_cancelled_occurrence_is_gone_for_the_organiser_and_cancelled_for_attendees(
    adele, as_person, series
):
    third = instances(adele, series["id"])[2]

    assert adele.call("POST", f"/me/events/{third['id']}/cancel", {}).status_code == 202

    assert [e["id"] for e in instances(adele, series["id"])].count(third["id"]) == 0
    assert len(view(adele)) == 3
    assert adele.call("GET", f"/me/events/{third['id']}").status_code == 404
    master = adele.call(
        "GET", f"/me/events/{series['id']}", params={"$select": "subject,cancelledOccurrences"}
    ).json()
    assert master["cancelledOccurrences"] == [f"OID.{series['id']}.2026-06-15"]
    alex_third = view(as_person(EMPLOYEE_ALEX))[2]
    assert (alex_third["isCancelled"], alex_third["showAs"]) == (True, "free")
    assert alex_third["subject"].startswith("Canceled: ")


def test_a_new_series_time_drops_exceptions_but_a_new_place_keeps_them(adele, series):
    first, second, third, _ = instances(adele, series["id"])
    adele.call("PATCH", f"/me/events/{second['id']}", {"location": {"displayName": "Cafe"}})
    adele.call("DELETE", f"/me/events/{third['id']}")

    adele.call("PATCH", f"/me/events/{series['id']}", {"location": {"displayName": "Room 9"}})
    kept = instances(adele, series["id"])
    assert [e["location"]["displayName"] for e in kept] == ["Room 9", "Cafe", "Room 9"]

    adele.call(
        "PATCH",
        f"/me/events/{series['id']}",
        {
            "start": {"dateTime": "2026-06-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-06-01T10:30:00", "timeZone": "UTC"},
        },
    )
    reset = instances(adele, series["id"])
    assert times(reset) == [(f"2026-06-{d:02}T10:00", "occurrence") for d in (1, 8, 15, 22)]
    assert first["id"] not in [e["id"] for e in reset], "occurrence ids follow the new times"


def test_an_occurrence_has_no_recurrence_of_its_own(adele, series):
    first = instances(adele, series["id"])[0]

    answer = adele.call("PATCH", f"/me/events/{first['id']}", {"recurrence": WEEKLY})

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "ErrorInvalidRequest"


def test_people_in_outlook_move_and_delete_one_occurrence_or_end_the_series(adele, control, series):
    occurrences = control.series_instances(MANAGER.mail, series["id"], *JUNE)
    assert len(occurrences) == 4

    control.edit_outlook_event(
        MANAGER.mail,
        occurrences[0]["id"],
        start="2026-06-02T08:00:00",
        end="2026-06-02T08:30:00",
        location="Cafe",
    )
    control.delete_outlook_event(MANAGER.mail, occurrences[1]["id"])
    ended = {
        **WEEKLY,
        "range": {"type": "endDate", "startDate": "2026-06-01", "endDate": "2026-06-30"},
    }
    assert times(control.series_instances(MANAGER.mail, series["id"], *JUNE)) == [
        ("2026-06-02T08:00", "exception"),
        ("2026-06-15T09:00", "occurrence"),
        ("2026-06-22T09:00", "occurrence"),
    ]

    control.edit_outlook_event(MANAGER.mail, series["id"], recurrence=ended)
    assert len(control.series_instances(MANAGER.mail, series["id"], *JUNE)) == 5, (
        "a new pattern: every Monday of June, the exception and the deletion gone"
    )


def test_a_series_is_listed_by_instances_only_for_its_own_occurrences(adele, series):
    adele.create(subject="Lunch", start="2026-06-02T12:00:00", end="2026-06-02T13:00:00")

    assert len(instances(adele, series["id"])) == 4
    missing = adele.call("GET", f"/me/events/{series['id']}/instances")
    assert missing.status_code == 400
