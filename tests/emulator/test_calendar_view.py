"""calendarView: series expanded into occurrences in their own zone (DST included), paging."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.graph_emulator import event_ids
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.recurrence import check, occurrence_starts
from tests.emulator.outlook_support import as_person

pytestmark = pytest.mark.integration

__all__ = ["as_person"]
LONDON = ZoneInfo("Europe/London")
YEAR_2026 = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


@pytest.fixture
def adele(as_person):
    return as_person(MANAGER)


def weekly_on_mondays(start_date: str, count: int) -> dict:
    return {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {
            "type": "numbered",
            "startDate": start_date,
            "numberOfOccurrences": count,
            "recurrenceTimeZone": "GMT Standard Time",
        },
    }


@pytest.mark.integration
def test_a_weekly_london_series_keeps_its_wall_clock_across_both_dst_changes(adele):
    spring = adele.create(
        start="2026-03-16T09:00:00",
        end="2026-03-16T09:30:00",
        recurrence=weekly_on_mondays("2026-03-16", 4),
        attendees=[EMPLOYEE_ALEX],
    )
    adele.create(
        subject="Autumn",
        start="2026-10-19T09:00:00",
        end="2026-10-19T09:30:00",
        recurrence=weekly_on_mondays("2026-10-19", 2),
    )

    answer = adele.view("2026-03-01T00:00:00Z", "2026-11-01T00:00:00Z", **{"$top": "50"})

    assert answer.status_code == 200, answer.text
    value = answer.json()["value"]
    assert [e["start"]["dateTime"][:16] for e in value] == [
        "2026-03-16T09:00",
        "2026-03-23T09:00",  # GMT
        "2026-03-30T08:00",
        "2026-04-06T08:00",  # BST from 29 March
        "2026-10-19T08:00",  # BST
        "2026-10-26T09:00",  # GMT again from 25 October
    ]
    first = value[0]
    assert (first["type"], first["seriesMasterId"]) == ("occurrence", spring["id"])
    assert first["end"]["dateTime"].startswith("2026-03-16T09:30")
    assert len({e["id"] for e in value}) == len({e["iCalUId"] for e in value}) == 6
    assert spring["id"] not in {e["id"] for e in value}, "masters are not listed"
    in_london = adele.view(
        "2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z", prefer='outlook.timezone="Europe/London"'
    )
    assert {e["start"]["dateTime"][11:16] for e in in_london.json()["value"]} == {"09:00"}
    again = adele.call("GET", f"/me/events/{value[2]['id']}")
    assert (again.status_code, again.json()["start"]) == (200, value[2]["start"])


@pytest.mark.integration
def test_attendees_see_the_occurrences_of_their_copy(as_person, adele):
    adele.create(
        start="2026-03-16T09:00:00",
        end="2026-03-16T09:30:00",
        recurrence=weekly_on_mondays("2026-03-16", 3),
        attendees=[EMPLOYEE_ALEX],
    )

    value = as_person(EMPLOYEE_ALEX).view("2026-03-01T00:00:00", "2026-04-01T00:00:00")

    assert len(value.json()["value"]) == 3
    assert {e["isOrganizer"] for e in value.json()["value"]} == {False}


@pytest.mark.integration
def test_the_view_pages_ten_at_a_time_with_next_links_and_selects(adele):
    adele.create(
        start="2026-01-05T09:00:00",
        end="2026-01-05T09:30:00",
        recurrence=weekly_on_mondays("2026-01-05", 23),
    )
    adele.create(subject="One-off", start="2026-01-07T12:00:00", end="2026-01-07T13:00:00")

    pages, link = [], None
    first = adele.view(
        "2026-01-01T00:00:00",
        "2026-12-31T00:00:00",
        **{"$select": "subject,start,end,showAs,isCancelled"},
    )
    pages.append(first.json())
    link = first.json().get("@odata.nextLink")
    while link:
        pages.append(adele.call("GET", link).json())
        link = pages[-1].get("@odata.nextLink")

    assert [len(p["value"]) for p in pages] == [10, 10, 4]
    assert pages[0]["value"][1]["subject"] == "One-off"
    assert set(pages[1]["value"][0]) == {
        "@odata.etag",
        "id",
        "subject",
        "start",
        "end",
        "showAs",
        "isCancelled",
    }
    assert "%24skip=10" in pages[0]["@odata.nextLink"]
    assert pages[0]["@odata.context"].endswith(
        "/calendarView(subject,start,end,showAs,isCancelled)"
    )
    top = adele.view("2026-01-01T00:00:00", "2026-12-31T00:00:00", **{"$top": "20"})
    assert len(top.json()["value"]) == 20
    small = adele.call(
        "GET",
        "/me/calendarView",
        params={
            "startDateTime": "2026-01-01T00:00:00",
            "endDateTime": "2026-12-31T00:00:00",
        },
        prefer='outlook.timezone="UTC", odata.maxpagesize=3',
    )
    assert len(small.json()["value"]) == 3
    assert "odata.maxpagesize=3" in small.headers["Preference-Applied"]


@pytest.mark.integration
def test_events_overlapping_the_window_edges_are_listed_and_cancelled_copies_too(
    adele, as_person, control
):
    event = adele.create(
        start="2026-06-01T09:00:00",
        end="2026-06-01T10:00:00",
        attendees=[EMPLOYEE_ALEX],
        zone="UTC",
    )
    adele.call("POST", f"/me/events/{event['id']}/cancel", {})

    alex = as_person(EMPLOYEE_ALEX)
    inside = alex.view("2026-06-01T09:59:00", "2026-06-01T11:00:00").json()["value"]
    after = alex.view("2026-06-01T10:00:00", "2026-06-01T11:00:00").json()["value"]

    assert [e["isCancelled"] for e in inside] == [True]
    assert after == []


@pytest.mark.integration
@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"startDateTime": "2026-06-01T00:00:00"}, "ErrorInvalidParameter"),
        ({"endDateTime": "2026-06-01T00:00:00"}, "ErrorInvalidParameter"),
        (
            {"startDateTime": "yesterday", "endDateTime": "2026-06-01T00:00:00"},
            "ErrorInvalidParameter",
        ),
        (
            {
                "startDateTime": "2026-06-01T00:00:00",
                "endDateTime": "2026-06-02T00:00:00",
                "$top": "-1",
            },
            "BadRequest",
        ),
    ],
)
def test_a_view_needs_a_valid_window(adele, params, code):
    answer = adele.call("GET", "/me/calendarView", params=params)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    if "startDateTime" not in params or "endDateTime" not in params:
        assert answer.json()["error"]["message"] == (
            "This request requires a time window specified by the query string parameters "
            "StartDateTime and EndDateTime."
        )


# --- the patterns, on their own ----------------------------------------------------------------


def starts(pattern: dict, span: dict, first: datetime, zone=UTC) -> list[str]:
    recurrence = {"pattern": pattern, "range": span}
    check(recurrence)
    found = occurrence_starts(recurrence, first, zone, timedelta(minutes=30), YEAR_2026)
    return [s.astimezone(zone).strftime("%Y-%m-%d %H:%M") for s in found]


@pytest.mark.parametrize(
    ("pattern", "span", "expected"),
    [
        (
            {"type": "daily", "interval": 2},
            {"type": "endDate", "startDate": "2026-02-26", "endDate": "2026-03-04"},
            ["2026-02-26", "2026-02-28", "2026-03-02", "2026-03-04"],
        ),
        (
            {
                "type": "weekly",
                "interval": 2,
                "daysOfWeek": ["monday", "thursday"],
                "firstDayOfWeek": "monday",
            },
            {"type": "numbered", "startDate": "2026-03-04", "numberOfOccurrences": 4},
            ["2026-03-05", "2026-03-16", "2026-03-19", "2026-03-30"],
        ),
        (
            {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31},
            {"type": "numbered", "startDate": "2026-01-31", "numberOfOccurrences": 4},
            ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"],
        ),
        (
            {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["thursday"], "index": "last"},
            {"type": "endDate", "startDate": "2026-01-01", "endDate": "2026-03-31"},
            ["2026-01-29", "2026-02-26", "2026-03-26"],
        ),
        (
            {"type": "relativeMonthly", "interval": 2, "daysOfWeek": ["monday"], "index": "second"},
            {"type": "numbered", "startDate": "2026-01-01", "numberOfOccurrences": 3},
            ["2026-01-12", "2026-03-09", "2026-05-11"],
        ),
        (
            {"type": "absoluteYearly", "interval": 1, "month": 2, "dayOfMonth": 29},
            {"type": "noEnd", "startDate": "2026-01-01"},
            ["2026-02-28"],
        ),
        (
            {
                "type": "relativeYearly",
                "interval": 1,
                "month": 11,
                "daysOfWeek": ["thursday"],
                "index": "fourth",
            },
            {"type": "noEnd", "startDate": "2026-01-01"},
            ["2026-11-26"],
        ),
    ],
)
def test_each_pattern_type_expands_as_outlook_schedules_it(pattern, span, expected):
    first = datetime.fromisoformat(f"{span['startDate']}T10:00:00")

    assert starts(pattern, span, first) == [f"{day} 10:00" for day in expected]


def test_a_series_in_london_keeps_local_time_through_the_spring_gap():
    pattern = {"type": "daily", "interval": 1}
    span = {"type": "numbered", "startDate": "2026-03-28", "numberOfOccurrences": 3}

    local = starts(pattern, span, datetime(2026, 3, 28, 9, 0), LONDON)

    assert local == ["2026-03-28 09:00", "2026-03-29 09:00", "2026-03-30 09:00"]


@pytest.mark.parametrize(
    "recurrence",
    [
        {"pattern": {"type": "hourly"}, "range": {"type": "noEnd", "startDate": "2026-01-01"}},
        {
            "pattern": {"type": "absoluteMonthly"},
            "range": {"type": "noEnd", "startDate": "2026-01-01"},
        },
        {"pattern": {"type": "daily"}, "range": {"type": "endDate", "startDate": "2026-01-01"}},
        {"pattern": {"type": "daily"}, "range": {"type": "numbered", "startDate": "2026-01-01"}},
        {"pattern": {"type": "daily"}, "range": {"type": "noEnd"}},
    ],
)
def test_incomplete_patterns_are_refused(recurrence):
    with pytest.raises(GraphError) as excinfo:
        check(recurrence)
    assert excinfo.value.status == 400


def test_occurrence_ids_carry_their_series_and_start_and_ical_uids_their_date():
    start = datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    master_id = event_ids.new_item_id("owner")
    occurrence = event_ids.occurrence_id(master_id, start)
    master_uid = event_ids.new_ical_uid(start)

    assert event_ids.parse_occurrence_id(occurrence) == (master_id, start)
    assert event_ids.parse_occurrence_id(master_id) is None
    assert event_ids.well_formed(occurrence)
    assert not event_ids.well_formed("a/b")
    dated = event_ids.occurrence_ical_uid(master_uid, start.date())
    assert dated[32:40] == "07EA031E"  # 2026-03-30
    assert dated[:32] == master_uid[:32]
    assert dated[40:] == master_uid[40:]
