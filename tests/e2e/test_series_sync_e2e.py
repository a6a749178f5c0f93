"""Issue 12, case 2: a recurring conversation edited in Outlook, as a whole series (time,
place, pattern end, deleted) or one occurrence at a time (moved, relocated, cancelled).

calendarView delta lists a series as its master plus occurrences and exceptions that carry only
`id`, `type`, `seriesMasterId`, `start` and `end`; a cancelled occurrence gets no `@removed` of
its own (microsoft-graph-docs #7632, #4501). What the host app should see, and tests pin:
- GET /api/conversations lists the occurrences as Outlook shows them, each with an `id` that
  stays the same when that occurrence moves;
- /api/me/changes reports a whole-series edit like a single meeting's, and a one-occurrence
  edit with the `occurrenceId` of that listed occurrence;
- the conversation itself stays scheduled unless the whole series goes.
"""

from datetime import UTC, datetime, timedelta

import pytest

from devtools.demo_directory import MANAGER
from tests.e2e.test_two_way_sync_e2e import Outlook, create, organiser_event, outlook, read

pytestmark = pytest.mark.e2e
__all__ = ["outlook"]  # the fixture, reused from the two-way sync tests

TODAY = datetime.now(UTC).date()
MONDAY = TODAY + timedelta(days=7 + (7 - TODAY.weekday()) % 7)  # in the delta window
WEEKLY = {
    "pattern": {"type": "weekly", "daysOfWeek": ["monday"]},
    "range": {"type": "numbered", "numberOfOccurrences": 4},
}


def monday(week: int, hour: int = 9, minute: int = 0, first: datetime | None = None) -> str:
    day = (first or MONDAY) + timedelta(weeks=week)
    return f"{day}T{hour:02d}:{minute:02d}:00"


def weekly(outlook: Outlook, first=MONDAY, occurrences: int = 4) -> dict:
    span = {"type": "numbered", "numberOfOccurrences": occurrences}
    return create(
        outlook,
        start=monday(0, 9, first=first),
        end=monday(0, 9, 30, first=first),
        recurrence={**WEEKLY, "range": span},
    )


def listed(outlook: Outlook, conversation: dict, first=MONDAY) -> list[dict]:
    """The conversation's occurrences as GET /api/conversations lists them (five weeks)."""
    answer = outlook.app.call(
        "GET",
        "conversations",
        MANAGER,
        params={
            "start": monday(0, 0, first=first),
            "end": monday(5, 0, first=first),
            "timeZone": "UTC",
        },
    )
    assert answer.status_code == 200, answer.text
    (found,) = [c for c in answer.json()["value"] if c["id"] == conversation["id"]]
    return found["occurrences"]


def in_outlook(outlook: Outlook, conversation: dict, first=MONDAY) -> list[dict]:
    """The series' occurrences in the organiser's Outlook (with Outlook's ids)."""
    master = organiser_event(outlook, conversation)
    return outlook.app.control(
        "GET",
        f"mailboxes/{MANAGER.mail}/events/{master}/instances"
        f"?start={monday(0, 0, first=first)}Z&end={monday(5, 0, first=first)}Z",
    )["value"]


def changes_about(outlook: Outlook, conversation: dict) -> list[dict]:
    feed = outlook.app.call("GET", "me/changes", MANAGER).json()["value"]
    return [c for c in feed if c.get("conversationId") == conversation["id"]]


def edit_series(outlook: Outlook, conversation: dict, **changes) -> None:
    outlook.act(
        "PATCH",
        f"mailboxes/{MANAGER.mail}/events/{organiser_event(outlook, conversation)}",
        **changes,
    )


def starts(occurrences: list[dict]) -> list[str]:
    return [o["start"] for o in occurrences]


# --- the whole series -----------------------------------------------------------------------


def test_the_whole_series_moved_in_outlook_moves_the_conversation(outlook):
    conversation = weekly(outlook)

    edit_series(outlook, conversation, start=monday(0, 11), end=monday(0, 12))

    after = read(outlook, conversation, MANAGER).json()
    assert (after["start"], after["end"]) == (f"{monday(0, 11)}+00:00", f"{monday(0, 12)}+00:00")
    assert starts(listed(outlook, conversation)) == [f"{monday(w, 11)}+00:00" for w in range(4)]
    assert "conversation_moved" in [c["kind"] for c in changes_about(outlook, conversation)]


def test_a_new_place_for_the_whole_series_in_outlook_is_taken(outlook):
    conversation = weekly(outlook)

    edit_series(outlook, conversation, location="Cafe on the corner")

    after = read(outlook, conversation, MANAGER).json()
    assert after["location"] == {"kind": "text", "text": "Cafe on the corner"}
    assert "conversation_relocated" in [c["kind"] for c in changes_about(outlook, conversation)]


def test_a_series_ended_earlier_in_outlook_ends_the_conversation_earlier(outlook):
    conversation = weekly(outlook)
    ended = {
        "pattern": {"type": "weekly", "daysOfWeek": ["monday"]},
        "range": {
            "type": "endDate",
            "startDate": str(MONDAY),
            "endDate": str(MONDAY + timedelta(weeks=1)),
        },
    }

    edit_series(outlook, conversation, recurrence=ended)

    assert len(in_outlook(outlook, conversation)) == 2
    after = read(outlook, conversation, MANAGER).json()
    assert after["recurrence"]["range"]["type"] == "endDate"
    assert after["recurrence"]["range"]["endDate"] == str(MONDAY + timedelta(weeks=1))
    assert starts(listed(outlook, conversation)) == [f"{monday(w)}+00:00" for w in range(2)]
    assert changes_about(outlook, conversation), "the host app hears of it"


def test_a_series_deleted_in_outlook_cancels_the_conversation(outlook):
    conversation = weekly(outlook)

    outlook.act(
        "DELETE", f"mailboxes/{MANAGER.mail}/events/{organiser_event(outlook, conversation)}"
    )

    assert read(outlook, conversation, MANAGER).status_code == 404
    assert "conversation_cancelled" in [c["kind"] for c in changes_about(outlook, conversation)]


def test_a_series_that_began_before_the_delta_window_is_relocated_not_cancelled(outlook):
    # Its master (the first occurrence) lies before the window: Graph reports its edit as
    # @removed, while the occurrences to come are still in the window.
    began = MONDAY - timedelta(weeks=3)
    conversation = weekly(outlook, first=began, occurrences=8)

    edit_series(outlook, conversation, location="Room 12")

    answer = read(outlook, conversation, MANAGER)
    assert answer.status_code == 200, "cancelled although the series goes on in Outlook"
    after = answer.json()
    assert (after["status"], after["location"]["text"]) == ("scheduled", "Room 12")


# --- one occurrence -------------------------------------------------------------------------


def test_one_occurrence_moved_and_relocated_in_outlook_is_listed_so_and_reported(outlook):
    conversation = weekly(outlook)
    second = in_outlook(outlook, conversation)[1]
    before = listed(outlook, conversation)

    outlook.act(
        "PATCH",
        f"mailboxes/{MANAGER.mail}/events/{second['id']}",
        start=monday(1, 15),
        end=monday(1, 15, 30),
        location="Cafe",
    )

    after = listed(outlook, conversation)
    assert starts(after) == [
        f"{monday(0)}+00:00",
        f"{monday(1, 15)}+00:00",
        f"{monday(2)}+00:00",
        f"{monday(3)}+00:00",
    ]
    assert [o["id"] for o in after] == [o["id"] for o in before], "an occurrence keeps its id"
    named = [c for c in changes_about(outlook, conversation) if c.get("occurrenceId")]
    assert {c["occurrenceId"] for c in named} == {before[1]["id"]}
    assert {"conversation_moved", "occurrence_moved"} & {c["kind"] for c in named}
    whole = read(outlook, conversation, MANAGER).json()
    assert (whole["start"], whole["status"]) == (f"{monday(0)}+00:00", "scheduled")


def test_one_occurrence_cancelled_in_outlook_leaves_the_list_and_is_reported(outlook):
    conversation = weekly(outlook)
    third = in_outlook(outlook, conversation)[2]
    before = listed(outlook, conversation)

    outlook.act("DELETE", f"mailboxes/{MANAGER.mail}/events/{third['id']}")

    after = listed(outlook, conversation)
    assert starts(after) == [f"{monday(w)}+00:00" for w in (0, 1, 3)]
    named = [c for c in changes_about(outlook, conversation) if c.get("occurrenceId")]
    assert {c["occurrenceId"] for c in named} == {before[2]["id"]}
    assert {"conversation_cancelled", "occurrence_cancelled"} & {c["kind"] for c in named}
    assert read(outlook, conversation, MANAGER).json()["status"] == "scheduled"


# --- one occurrence, from the host app --------------------------------------------------------


def occurrence_call(outlook: Outlook, verb: str, conversation: dict, occurrence: str, **body):
    answer = outlook.app.call(
        verb,
        f"conversations/{conversation['id']}/occurrences/{occurrence}",
        MANAGER,
        **({"json": body} if body else {}),
    )
    outlook.settle()
    return answer


def test_the_host_app_moves_one_occurrence_and_only_that_outlook_occurrence_follows(outlook):
    conversation = weekly(outlook)
    second = listed(outlook, conversation)[1]

    answer = occurrence_call(
        outlook,
        "PATCH",
        conversation,
        second["id"],
        start=monday(1, 16),
        end=monday(1, 16, 30),
        timeZone="UTC",
        location={"kind": "text", "text": "Garden"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["sync"]["state"] == "synced"
    (exception,) = answer.json()["exceptions"]
    assert (exception["occurrenceId"], exception["start"]) == (
        second["id"],
        f"{monday(1, 16)}+00:00",
    )
    shown = [
        (o["start"]["dateTime"][:16], o["location"]["displayName"])
        for o in in_outlook(outlook, conversation)
    ]
    assert shown == [
        (monday(0)[:16], "Room 1"),
        (monday(1, 16)[:16], "Garden"),
        (monday(2)[:16], "Room 1"),
        (monday(3)[:16], "Room 1"),
    ]
    after = listed(outlook, conversation)
    assert (after[1]["id"], after[1]["start"], after[1]["location"]["text"]) == (
        second["id"],
        f"{monday(1, 16)}+00:00",
        "Garden",
    )
    assert not changes_about(outlook, conversation), "Outlook's echo of it reports nothing"


def test_the_host_app_cancels_one_occurrence_in_outlook_and_the_series_goes_on(outlook):
    conversation = weekly(outlook)
    third = listed(outlook, conversation)[2]

    answer = occurrence_call(outlook, "DELETE", conversation, third["id"])

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "scheduled"
    assert len(in_outlook(outlook, conversation)) == 3
    assert starts(listed(outlook, conversation)) == [f"{monday(w)}+00:00" for w in (0, 1, 3)]
    again = occurrence_call(outlook, "DELETE", conversation, third["id"])
    assert (again.status_code, again.json()["code"]) == (404, "occurrence_not_found")
    assert not changes_about(outlook, conversation)


def test_an_occurrence_the_series_does_not_have_is_not_found(outlook):
    conversation = weekly(outlook)
    one_off = create(outlook)

    off_pattern = f"{MONDAY + timedelta(days=1):%Y%m%d}T090000Z"  # a Tuesday
    tuesday = occurrence_call(
        outlook, "PATCH", conversation, off_pattern, location={"kind": "teams", "text": None}
    )
    alone = occurrence_call(outlook, "DELETE", one_off, "20300101T090000Z")

    assert (tuesday.status_code, tuesday.json()["code"]) == (404, "occurrence_not_found")
    assert (alone.status_code, alone.json()["code"]) == (404, "occurrence_not_found")
    assert read(outlook, conversation, MANAGER).json()["version"] == conversation["version"]
