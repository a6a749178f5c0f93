"""A series reaches Outlook for at most two years from its start; the app keeps what was asked."""

from datetime import UTC, datetime

import pytest

from shared.conversations.model import SYNC_HORIZON, Conversation
from shared.conversations.outlook import event_body, graph_recurrence

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # a Monday, 09:00 in London
LAST_DAY = "2028-12-06"  # 2026-12-07 + SYNC_HORIZON (730 days)


def series(span: dict, pattern: dict | None = None) -> Conversation:
    return Conversation(
        id="c1",
        org_id="org",
        type="check_in",
        title="Weekly check-in",
        organiser_id="u-manager",
        organiser_email="manager@contoso.com",
        attendees=(),
        start=START,
        end=START.replace(minute=30),
        time_zone="Europe/London",
        recurrence={
            "pattern": pattern or {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]},
            "range": {"startDate": "2026-12-07", "recurrenceTimeZone": "Europe/London", **span},
        },
    )


def test_the_horizon_is_two_years():
    assert str((START + SYNC_HORIZON).date()) == LAST_DAY


@pytest.mark.parametrize(
    ("span", "pattern"),
    [
        ({"type": "noEnd"}, None),
        ({"type": "endDate", "endDate": "2036-01-01"}, None),
        ({"type": "numbered", "numberOfOccurrences": 999}, None),  # 999 weeks
        ({"type": "numbered", "numberOfOccurrences": 732}, {"type": "daily", "interval": 1}),
    ],
)
def test_a_longer_series_ends_two_years_after_its_start_in_outlook(span, pattern):
    conversation = series(span, pattern)

    sent = graph_recurrence(conversation)["range"]

    assert sent == {
        "type": "endDate",
        "startDate": "2026-12-07",
        "endDate": LAST_DAY,
        "recurrenceTimeZone": "GMT Standard Time",
    }
    assert conversation.recurrence is not None
    assert conversation.recurrence["range"] == {
        "startDate": "2026-12-07",
        "recurrenceTimeZone": "Europe/London",
        **span,
    }


@pytest.mark.parametrize(
    ("span", "pattern"),
    [
        ({"type": "endDate", "endDate": LAST_DAY}, None),
        ({"type": "numbered", "numberOfOccurrences": 6}, None),
        ({"type": "numbered", "numberOfOccurrences": 731}, {"type": "daily", "interval": 1}),
    ],
)
def test_a_series_within_two_years_goes_to_outlook_as_asked(span, pattern):
    sent = graph_recurrence(series(span, pattern))["range"]
    assert sent == {"startDate": "2026-12-07", "recurrenceTimeZone": "GMT Standard Time", **span}


def test_the_event_body_carries_the_capped_range():
    body = event_body(series({"type": "noEnd"}), "https://app.test/conversations/c1")
    assert body["recurrence"]["range"]["type"] == "endDate"
    assert body["recurrence"]["range"]["endDate"] == LAST_DAY
