from datetime import UTC, datetime, timedelta

import pytest

from shared.conversations.model import LocationKind
from shared.conversations.recurrence import occurrences
from shared.conversations.requests import parse_change, parse_new_conversation, parse_window_query
from shared.conversations.time_zones import graph_date_time, parse_graph_date_time
from shared.errors import InvalidRequest

BASE = {
    "type": "check_in",
    "title": "Weekly check-in",
    "attendees": [{"email": "alex@contoso.com", "userId": "u-alex", "name": "Alex"}],
    "start": "2026-12-07T09:00:00",
    "end": "2026-12-07T09:30:00",
    "timeZone": "Europe/London",
    "location": {"kind": "teams"},
}


def recurring(pattern=None, span=None) -> dict:
    return {"recurrence": {"pattern": pattern or {"type": "daily"},
                           "range": span or {"type": "noEnd"}}}  # fmt: skip


def test_a_valid_request_becomes_a_conversation_in_utc():
    new = parse_new_conversation(BASE)
    assert new.window.start == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert new.window.time_zone == "Europe/London"
    assert new.location.kind is LocationKind.TEAMS
    assert [a.user_id for a in new.attendees] == ["u-alex"]


def test_local_times_follow_the_zone_in_summer():
    new = parse_new_conversation(
        {**BASE, "start": "2026-07-06T09:00:00", "end": "2026-07-06T10:00:00"}
    )
    assert new.window.start == datetime(2026, 7, 6, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"type": "Check In!"}, "invalid_type"),
        ({"title": ""}, "invalid_title"),
        ({"end": "2026-12-07T08:00:00"}, "invalid_time"),
        ({"end": "2026-12-09T09:00:00"}, "invalid_time"),
        ({"timeZone": "Mars/Olympus"}, "invalid_time"),
        ({"timeZone": "Europe"}, "invalid_time"),  # a folder of zones, not a zone
        ({"timeZone": "Europe/" + "x" * 300}, "invalid_time"),
        ({"attendees": [{"email": "not-an-address"}]}, "invalid_attendees"),
        ({"attendees": [{"email": "alex@contoso.com\n"}]}, "invalid_attendees"),
        ({"attendees": [{"email": "alex@contoso.com", "role": "guest"}]}, "invalid_attendees"),
        ({"attendees": [{"email": "alex@contoso.com", "name": "A" * 256}]}, "invalid_attendees"),
        ({"attendees": [{"email": "a" * 320 + "@contoso.com"}]}, "invalid_attendees"),
        ({"type": "check_in\n"}, "invalid_type"),
        ({"location": {"kind": "text"}}, "invalid_location"),
        ({"location": {"kind": "zoom"}}, "invalid_location"),
        ({"location": {"kind": "text", "text": "Room 4", "floor": 2}}, "invalid_location"),
        ({"location": {"kind": "teams", "text": 5}}, "invalid_location"),
        ({"location": {"kind": ["teams"]}}, "invalid_location"),
        (
            {"recurrence": {"pattern": {"type": "weekly"}, "range": {"type": "noEnd"}}},
            "invalid_recurrence",
        ),
        ({"prompts": ["how are you?"]}, "unknown_fields"),
        (
            recurring(pattern={"type": "weekly", "daysOfWeek": ["monday"], "color": "red"}),
            "invalid_recurrence",
        ),  # Graph would refuse it later; the user hears now
        (recurring(pattern={"type": "weekly", "daysOfWeek": [["monday"]]}), "invalid_recurrence"),
        (recurring(pattern={"type": ["weekly"]}), "invalid_recurrence"),
        (recurring(pattern={"type": "weekly", "daysOfWeek": ["monday"] * 8}), "invalid_recurrence"),
        (recurring(pattern={"type": "absoluteMonthly"}), "invalid_recurrence"),  # which day?
        (
            recurring(pattern={"type": "absoluteYearly", "dayOfMonth": 3, "month": 13}),
            "invalid_recurrence",
        ),
        (recurring(pattern={"type": "daily", "interval": True}), "invalid_recurrence"),
        (
            recurring(span={"type": "numbered", "numberOfOccurrences": 3, "until": "x"}),
            "invalid_recurrence",
        ),
        (recurring(span={"type": "noEnd", "endDate": ""}), "invalid_recurrence"),
        (recurring(span={"type": "endDate", "endDate": "20271231"}), "invalid_recurrence"),
        ({"end": "2026-12-07"}, "invalid_time"),  # a date is not a time
        ({"end": "2026-12-07 09:30"}, "invalid_time"),
        (
            {
                "start": "0001-01-01T00:00:00",
                "end": "0001-01-01T00:30:00",
                "timeZone": "Asia/Tokyo",
            },
            "invalid_time",
        ),
        (
            {"start": "9999-12-31T22:00:00-05:00", "end": "9999-12-31T22:30:00-05:00"},
            "invalid_time",
        ),  # outside the calendar once in UTC
    ],
)
def test_bad_requests_name_what_is_wrong(change, code):
    with pytest.raises(InvalidRequest) as raised:
        parse_new_conversation({**BASE, **change})
    assert raised.value.code == code


def test_duplicate_attendees_are_invited_once():
    attendees = [{"email": "A@x.com"}, {"email": "a@X.com"}, {"email": "b@x.com"}]
    assert len(parse_new_conversation({**BASE, "attendees": attendees}).attendees) == 2


def test_a_weekly_recurrence_is_anchored_to_the_local_start_date():
    recurrence = {
        "pattern": {"type": "weekly", "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "numberOfOccurrences": 10},
    }
    new = parse_new_conversation({**BASE, "recurrence": recurrence})
    assert new.recurrence["range"]["startDate"] == "2026-12-07"
    assert new.recurrence["range"]["recurrenceTimeZone"] == "Europe/London"
    assert new.recurrence["pattern"]["interval"] == 1


def test_the_title_never_changes_after_creation():
    with pytest.raises(InvalidRequest) as raised:
        parse_change({"title": "Renamed"})
    assert raised.value.code == "title_read_only"
    change = parse_change({"location": {"kind": "text", "text": "Room 4"}})
    assert change.window is None
    assert change.location.text == "Room 4"


def test_weekly_occurrences_keep_their_local_time_across_daylight_saving():
    recurrence = {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
        "range": {"type": "noEnd", "startDate": "2026-03-16"},
    }
    found = occurrences(
        recurrence,
        datetime(2026, 3, 16, 9, tzinfo=UTC),
        timedelta(minutes=30),
        "Europe/London",
        datetime(2026, 3, 20, tzinfo=UTC),
        datetime(2026, 4, 7, tzinfo=UTC),
    )
    assert [s.isoformat() for s, _ in found] == [
        "2026-03-23T09:00:00+00:00",  # GMT
        "2026-03-30T08:00:00+00:00",  # BST: still 09:00 in London
        "2026-04-06T08:00:00+00:00",
    ]


def test_outlook_gets_windows_zone_names_and_local_wall_clock_times():
    moment = datetime(2026, 7, 6, 8, 0, tzinfo=UTC)
    assert graph_date_time(moment, "Europe/London") == {
        "dateTime": "2026-07-06T09:00:00",
        "timeZone": "GMT Standard Time",
    }
    assert (
        parse_graph_date_time({"dateTime": "2026-07-06T08:00:00.0000000", "timeZone": "UTC"})
        == moment
    )


# --- nothing is stored that cannot be read again (issue 13, finding 2) ------------------------


def at(start: str, end: str, zone: str = "UTC") -> dict:
    return {"start": start, "end": end, "timeZone": zone}


@pytest.mark.parametrize(
    "change",
    [
        at("0999-06-01T09:00:00", "0999-06-01T10:00:00"),  # the SDK writes "999-06-01..."
        at("1899-12-31T09:00:00", "1899-12-31T10:00:00"),
        at("1900-01-02T09:00:00+14:00", "1900-01-02T10:00:00+14:00"),  # UTC: Jan 1
        at("9999-12-30T20:00:00", "9999-12-30T21:00:00", "America/New_York"),  # UTC: the 31st
        at("9999-12-31T09:00:00", "9999-12-31T10:00:00"),
        {**at("2026-12-07T09:00:00", "2026-12-07T10:00:00"), **recurring(
            span={"type": "endDate", "endDate": "0999-01-01"})},
        {**at("2026-12-07T09:00:00", "2026-12-07T10:00:00"), **recurring(
            span={"type": "endDate", "endDate": "9999-12-31"})},
        recurring(pattern={"type": "weekly", "daysOfWeek": ["monday"], "firstDayOfWeek": "funday"}),
        recurring(pattern={"type": "absoluteMonthly", "dayOfMonth": 32}),
        recurring(pattern={"type": "absoluteMonthly", "dayOfMonth": 0}),
        recurring(pattern={"type": "absoluteYearly", "dayOfMonth": 30, "month": 2}),
        recurring(pattern={"type": "absoluteYearly", "dayOfMonth": 31, "month": 4}),
        recurring(pattern={"type": "relativeYearly", "daysOfWeek": ["monday"], "month": 0}),
        recurring(pattern={"type": "relativeMonthly", "daysOfWeek": ["monday"], "index": "fifth"}),
        recurring(pattern={"type": "daily", "interval": 0}),
        recurring(pattern={"type": "daily", "interval": 100}),
        recurring(span={"type": "numbered", "numberOfOccurrences": 0}),
        recurring(span={"type": "numbered", "numberOfOccurrences": 1000}),
        recurring(span={"type": "endDate", "endDate": "2026-12-06"}),  # before the start
        recurring(span={"type": "sometimes"}),
    ],
)  # fmt: skip
def test_what_could_not_be_read_back_or_sent_to_graph_is_refused(change):
    with pytest.raises(InvalidRequest) as raised:
        parse_new_conversation({**BASE, **change})
    assert raised.value.code in ("invalid_time", "invalid_recurrence")


def test_the_first_and_last_day_of_the_range_are_taken_in_utc():
    early = parse_new_conversation({**BASE, **at("1900-01-02T00:00:00", "1900-01-02T01:00:00")})
    late = parse_new_conversation({**BASE, **at("9999-12-29T22:00:00", "9999-12-29T23:00:00")})
    assert early.window.start.year == 1900
    assert late.window.end == datetime(9999, 12, 29, 23, 0, tzinfo=UTC)
    february = recurring(pattern={"type": "absoluteYearly", "dayOfMonth": 29, "month": 2})
    assert parse_new_conversation({**BASE, **february}).recurrence is not None  # leap years


@pytest.mark.parametrize(
    "window",
    [
        {"start": "0001-01-01T00:00:00", "end": "0001-01-02T00:00:00", "timeZone": "Asia/Tokyo"},
        {"start": "9999-12-30T00:00:00", "end": "9999-12-31T00:00:00"},
        {"start": "9999-12-30T00:00:00", "end": "9999-12-31T00:00:00", "timeZone": "Etc/GMT+12"},
    ],
)
def test_a_window_outside_the_range_is_refused_as_a_window(window):
    with pytest.raises(InvalidRequest) as raised:
        parse_window_query(window, max_days=366)
    assert raised.value.code == "invalid_window"
