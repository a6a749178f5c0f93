"""Issue 12, case 1: Graph's calendarView delta reports every event outside its date window
that changed (added, edited, answered, moved out) under `@removed`, reason `deleted`. That
means "not in this view", not "deleted": a conversation must never be cancelled while Outlook
still holds its meeting.

Outlook is the emulator (as strict as the event-delta docs); the app is the local host. The
app's delta window today runs from a day ago to two years ahead.
"""

from datetime import UTC, datetime, timedelta

import pytest

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from tests.e2e.test_two_way_sync_e2e import Outlook, create, organiser_event, outlook, read

pytestmark = pytest.mark.e2e
__all__ = ["outlook"]  # the fixture, reused from the two-way sync tests


def days_from_now(days: int) -> str:
    return str((datetime.now(UTC) + timedelta(days=days)).date())


def at(day: str, hour: int = 9) -> dict:
    return {"start": f"{day}T{hour:02d}:00:00", "end": f"{day}T{hour:02d}:30:00"}


def copy_of(outlook: Outlook, person, conversation: dict) -> dict:
    """The person's copy of the conversation's meeting in their Outlook calendar."""
    organiser = {
        e["id"]: e for e in outlook.app.control("GET", f"mailboxes/{MANAGER.mail}/events")["value"]
    }[organiser_event(outlook, conversation)]
    events = outlook.app.control("GET", f"mailboxes/{person.mail}/events")["value"]
    (copy,) = [e for e in events if e["iCalUId"] == organiser["iCalUId"]]
    return copy


def respond_in_outlook(outlook: Outlook, conversation: dict, response: str = "accepted") -> None:
    copy = copy_of(outlook, EMPLOYEE_ALEX, conversation)
    outlook.act(
        "POST", f"mailboxes/{EMPLOYEE_ALEX.mail}/events/{copy['id']}/respond", response=response
    )


def assert_kept(outlook: Outlook, conversation: dict) -> dict:
    """The conversation is still there, not cancelled, and nobody was told otherwise; Outlook
    still holds the meeting and the attendee's copy is not cancelled."""
    answer = read(outlook, conversation, MANAGER)
    assert answer.status_code == 200, "the conversation was removed although Outlook has it"
    kept = answer.json()
    assert kept["status"] == "scheduled"
    feed = outlook.app.call("GET", "me/changes", MANAGER).json()["value"]
    assert not [
        c
        for c in feed
        if c.get("conversationId") == conversation["id"] and c["kind"] == "conversation_cancelled"
    ]
    held = [
        e["id"] for e in outlook.app.control("GET", f"mailboxes/{MANAGER.mail}/events")["value"]
    ]
    assert organiser_event(outlook, conversation) in held
    assert copy_of(outlook, EMPLOYEE_ALEX, conversation)["isCancelled"] is False
    return kept


def test_a_conversation_beyond_the_delta_window_survives_an_answer_in_outlook(outlook):
    # 800 days ahead: outside the delta window, so the answer comes back as @removed.
    conversation = create(outlook, **at(days_from_now(800)))

    respond_in_outlook(outlook, conversation)

    assert_kept(outlook, conversation)


def test_a_past_conversation_survives_an_answer_in_outlook(outlook):
    # Three days ago: before the delta window (on a real tenant the window restarts at every
    # reconnect, so any meeting older than that is in this position).
    conversation = create(outlook, **at(days_from_now(-3)))

    respond_in_outlook(outlook, conversation, "declined")

    assert_kept(outlook, conversation)


def test_a_conversation_moved_out_of_the_delta_window_in_outlook_is_moved_not_cancelled(outlook):
    conversation = create(outlook, **at(days_from_now(10)))
    far = days_from_now(760)

    outlook.act(
        "PATCH",
        f"mailboxes/{MANAGER.mail}/events/{organiser_event(outlook, conversation)}",
        **at(far, 14),
    )

    kept = assert_kept(outlook, conversation)
    assert kept["start"] == f"{far}T14:00:00+00:00", "Outlook's time, read by the event's id"


def test_a_meeting_outside_the_window_changed_in_outlook_stays_in_outlook(outlook):
    # What the app must not do while it cannot see the change: cancel the meeting in Outlook.
    conversation = create(outlook, **at(days_from_now(800)))

    respond_in_outlook(outlook, conversation)

    held = [
        e["id"] for e in outlook.app.control("GET", f"mailboxes/{MANAGER.mail}/events")["value"]
    ]
    assert organiser_event(outlook, conversation) in held
    assert copy_of(outlook, EMPLOYEE_ALEX, conversation)["isCancelled"] is False
