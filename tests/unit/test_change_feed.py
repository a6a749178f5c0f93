"""The change feed pages through every change exactly once and in order, from any cursor."""

from datetime import UTC, datetime, timedelta

import pytest

from shared.changes.feed import MAX_PAGE, ChangeFeed
from shared.changes.views import page_view
from shared.errors import ErrorCode, InvalidRequest
from tests.fakes import Clock, FakeEntityTable

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def feed() -> ChangeFeed:
    return ChangeFeed(FakeEntityTable("changes"), Clock(START))


def page(feed: ChangeFeed, since: str | None = None, user: str = "u-1") -> dict:
    return page_view(feed.since("org", user, since))


def test_the_feed_pages_through_every_change_exactly_once_and_in_order(feed):
    recorded = 2 * MAX_PAGE + 37  # three pages, the last one partial
    for number in range(recorded):
        feed.record("org", "u-1", {"kind": "conversation_moved", "number": number})
    feed.record("org", "u-2", {"kind": "conversation_moved", "number": -1})

    pages: list[list[dict]] = []
    cursor = None
    while (current := page(feed, cursor))["value"]:
        assert len(pages) < 4, "the feed never ends"
        assert current["cursor"] == current["value"][-1]["cursor"]
        pages.append(current["value"])
        cursor = current["cursor"]

    assert [len(p) for p in pages] == [MAX_PAGE, MAX_PAGE, 37]
    assert [c["number"] for p in pages for c in p] == list(range(recorded)), "nobody else's"
    cursors = [c["cursor"] for p in pages for c in p]
    assert cursors == sorted(set(cursors))


def test_at_the_end_the_cursor_stays_and_what_comes_next_comes_once(feed):
    feed.record("org", "u-1", {"kind": "connection_expiring_soon"})
    end = page(feed)["cursor"]
    assert page(feed, end) == {"value": [], "cursor": end}

    feed.record("org", "u-1", {"kind": "reconnect_required", "reason": "reconnect_due"})
    after = page(feed, end)
    assert [c["kind"] for c in after["value"]] == ["reconnect_required"]
    assert page(feed, after["cursor"])["value"] == []


def test_a_cursor_from_the_middle_of_a_page_resumes_right_after_it(feed):
    for number in range(10):
        feed.record("org", "u-1", {"kind": "rsvp", "number": number})
    middle = page(feed)["value"][3]
    assert page(feed, middle["cursor"])["value"][0]["number"] == 4


def test_each_change_says_when_it_happened(feed):
    feed.record("org", "u-1", {"kind": "rsvp"})
    (change,) = page(feed)["value"]
    assert change["at"] == START.isoformat()


def test_an_empty_feed_has_no_cursor_yet(feed):
    assert page(feed) == {"value": [], "cursor": None}


@pytest.mark.parametrize(
    "since",
    [
        "not-a-cursor",
        "20240101T000000.000000Z",
        "20240101T000000.000000Z|zz'or'1",
        "20241301T000000.000000Z|0123abcd",
        "~",
        "x" * 300,
    ],
)
def test_anything_but_a_cursor_the_feed_gave_out_is_refused(feed, since):
    with pytest.raises(InvalidRequest) as refused:
        feed.since("org", "u-1", since)
    assert refused.value.code is ErrorCode.INVALID_CURSOR


def test_every_cursor_the_feed_gives_out_is_accepted(feed):
    clock = Clock(datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))
    late = ChangeFeed(FakeEntityTable("changes"), clock)
    for _ in range(3):
        late.record("org", "u-1", {"kind": "rsvp"})
        clock.advance(timedelta(microseconds=1))
    for change in page(late)["value"]:
        late.since("org", "u-1", change["cursor"])
