"""A whole series moved to another day, from the host app or in Outlook (issue 12, model-12 F1
and F2): Graph's range.startDate "must be the same value as the start property of the recurring
event" (recurrencerange resource), so the series' start date moves with its start, both ways."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.conversations.model import Conversation
from shared.conversations.outlook import graph_recurrence, series_update
from shared.conversations.recurrence import moved
from shared.conversations.requests import parse_change, parse_new_conversation
from shared.errors import ErrorCode, InvalidRequest
from shared.sync.notifications import NotificationKind, SyncMessage
from shared.sync.outlook_changes import series_recurrence
from tests.unit.world import ADELE, ALEX, ORG, World

MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # the first Monday after NOW
WEEK = timedelta(weeks=1)
SERIES: dict[str, Any] = {
    "type": "check_in",
    "title": "Weekly check-in",
    "attendees": [{"email": ALEX.upn, "userId": ALEX.user_id}],
    "start": "2026-12-07T09:00:00",
    "end": "2026-12-07T09:30:00",
    "timeZone": "UTC",
    "recurrence": {
        "pattern": {"type": "weekly", "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "numberOfOccurrences": 4},
    },
}


@pytest.fixture
def world() -> World:
    world = World.connected(ADELE)
    world.timer()
    return world


def create(world: World, **overrides) -> Conversation:
    new = parse_new_conversation({**SERIES, **overrides})
    return world.app.conversations.create(ADELE.caller, new, None).conversation


def move(world: World, conversation: Conversation, start: datetime) -> Conversation:
    end = start + timedelta(minutes=30)
    change = parse_change({"start": start.isoformat(), "end": end.isoformat(), "timeZone": "UTC"})
    return world.app.conversations.update(ADELE.caller, conversation.id, change, None)


def outlook_master(world: World, conversation: Conversation) -> dict:
    return world.graph.mailboxes[ADELE.upn.lower()].events[conversation.outlook.event_id]


def at(moment: datetime) -> dict:
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def notified(world: World) -> None:
    message = SyncMessage(NotificationKind.CHANGE, ORG, ADELE.user_id, "s", world.clock())
    world.app.sync_worker.process(message.to_json())


# --- from the host app (F2) -----------------------------------------------------------------------


def test_a_series_moved_a_week_earlier_starts_a_week_earlier_in_the_app_and_outlook(world):
    conversation = create(world)
    earlier = MONDAY - WEEK + timedelta(hours=5)

    updated = move(world, conversation, earlier)

    assert updated.recurrence["range"]["startDate"] == "2026-11-30"
    assert updated.recurrence["pattern"]["daysOfWeek"] == ["monday"]
    outlook = outlook_master(world, conversation)
    assert outlook["start"]["dateTime"].startswith("2026-11-30T14:00")
    assert outlook["recurrence"]["range"]["startDate"] == "2026-11-30"


def test_a_weekly_series_moved_to_another_weekday_takes_its_pattern_along(world):
    conversation = create(world)

    updated = move(world, conversation, MONDAY + timedelta(days=1))

    assert updated.recurrence["pattern"]["daysOfWeek"] == ["tuesday"]
    assert updated.recurrence["range"]["startDate"] == "2026-12-08"
    assert outlook_master(world, conversation)["recurrence"]["pattern"]["daysOfWeek"] == ["tuesday"]
    notified(world)
    assert world.feed(ALEX) == [], "Outlook's echo of the app's own move reports nothing"


def test_a_series_cannot_move_past_its_end_date(world):
    ends = {"type": "endDate", "endDate": "2026-12-21"}
    conversation = create(world, recurrence={**SERIES["recurrence"], "range": ends})

    with pytest.raises(InvalidRequest) as refused:
        move(world, conversation, MONDAY + 3 * WEEK)

    assert refused.value.code is ErrorCode.INVALID_RECURRENCE
    kept = world.app.conversations.get(ALEX.caller, conversation.id)
    assert (kept.start, kept.recurrence) == (conversation.start, conversation.recurrence)


def test_monthly_and_yearly_patterns_follow_the_new_day_and_relative_ones_are_refused():
    start = datetime(2026, 12, 15, 9, tzinfo=UTC)
    monthly: dict[str, Any] = {
        "pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 15},
        "range": {"type": "noEnd", "startDate": "2026-12-15"},
    }
    assert moved(monthly, start + timedelta(days=2), "UTC")["pattern"]["dayOfMonth"] == 17
    yearly = {**monthly, "pattern": {**monthly["pattern"], "type": "absoluteYearly", "month": 12}}
    pattern = moved(yearly, start + timedelta(days=20), "UTC")["pattern"]
    assert (pattern["month"], pattern["dayOfMonth"]) == (1, 4)

    third_tuesday = {  # 2026-12-15 is the third Tuesday of December
        "pattern": {
            "type": "relativeMonthly",
            "interval": 1,
            "daysOfWeek": ["tuesday"],
            "index": "third",
        },
        "range": {"type": "noEnd", "startDate": "2026-12-15"},
    }
    again = moved(third_tuesday, datetime(2027, 1, 19, 9, tzinfo=UTC), "UTC")
    assert again["range"]["startDate"] == "2027-01-19"
    with pytest.raises(InvalidRequest) as refused:
        moved(third_tuesday, start + timedelta(days=1), "UTC")
    assert refused.value.code is ErrorCode.INVALID_RECURRENCE


# --- in Outlook (F1) ------------------------------------------------------------------------------


def test_a_series_moved_a_week_later_in_outlook_takes_outlooks_start_date(world):
    conversation = create(world)
    master = outlook_master(world, conversation)
    later = MONDAY + WEEK
    recurrence = master["recurrence"]
    world.graph.edit(
        ADELE.upn,
        conversation.outlook.event_id,
        start=at(later),
        end=at(later + timedelta(minutes=30)),
        recurrence={**recurrence, "range": {**recurrence["range"], "startDate": "2026-12-14"}},
    )

    notified(world)

    after = world.app.conversations.get(ALEX.caller, conversation.id)
    assert after.start == later
    assert after.recurrence["range"]["startDate"] == "2026-12-14"
    assert after.recurrence["range"]["numberOfOccurrences"] == 4


def test_a_long_series_moved_in_outlook_keeps_no_end_though_outlook_holds_two_years():
    new = parse_new_conversation(
        {**SERIES, "recurrence": {**SERIES["recurrence"], "range": {"type": "noEnd"}}}
    )
    conversation = Conversation(
        id="c",
        org_id=ORG,
        type="check_in",
        title="t",
        organiser_id=ADELE.user_id,
        organiser_email=ADELE.upn,
        attendees=(),
        start=new.window.start,
        end=new.window.end,
        time_zone="UTC",
        recurrence=new.recurrence,
    )
    pattern = {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]}
    for end_date in ("2028-12-06", "2028-12-13"):  # the cap from the old or the new start date
        outlook = {
            "pattern": pattern,
            "range": {"type": "endDate", "startDate": "2026-12-14", "endDate": end_date},
        }
        taken = series_recurrence(conversation, outlook)
        assert taken is not None
        assert taken["range"]["type"] == "noEnd"
        assert taken["range"]["startDate"] == "2026-12-14"


def test_a_series_stored_with_a_stale_start_date_reaches_outlook_from_its_start():
    """A conversation moved before this fix kept its old startDate: Outlook gets the start's."""
    new = parse_new_conversation(SERIES)
    stale = Conversation(
        id="c",
        org_id=ORG,
        type="check_in",
        title="t",
        organiser_id=ADELE.user_id,
        organiser_email=ADELE.upn,
        attendees=(),
        start=new.window.start + WEEK,
        end=new.window.end + WEEK,
        time_zone="UTC",
        recurrence=new.recurrence,
    )
    master = {
        "start": at(MONDAY + WEEK),
        "end": at(MONDAY + WEEK + timedelta(minutes=30)),
        "recurrence": graph_recurrence(stale),
    }
    assert graph_recurrence(stale)["range"]["startDate"] == "2026-12-14"
    master["recurrence"]["range"]["startDate"] = "2026-12-07"
    assert series_update(stale, master)["recurrence"]["range"]["startDate"] == "2026-12-14"
