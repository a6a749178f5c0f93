"""Issue 17: attendees proposing a new time, as in Outlook, and the organiser answering it.

Alex answers the invitation tentatively (or declines) with a proposed time in Outlook (the
emulator's control API); the organiser's Outlook event carries it as Graph does, the change
notification brings it to the app, which shows it in the conversation and tells the organiser
(`time_proposed`). Accepting moves the conversation and the Outlook meeting in one step;
dismissing hides it and moves nothing.
"""

import pytest

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from tests.e2e.test_two_way_sync_e2e import (
    DAY,
    Outlook,
    create,
    organiser_event,
    outlook,
    read,
)

pytestmark = pytest.mark.e2e
__all__ = ["outlook"]


def propose(outlook: Outlook, response: str, start: str, end: str) -> None:
    (copy,) = outlook.app.control("GET", f"mailboxes/{EMPLOYEE_ALEX.mail}/events")["value"]
    outlook.act(
        "POST",
        f"mailboxes/{EMPLOYEE_ALEX.mail}/events/{copy['id']}/respond",
        response=response,
        proposedNewTime={"start": start, "end": end, "timeZone": "UTC"},
    )


def meeting(outlook: Outlook, conversation: dict) -> dict:
    event_id = organiser_event(outlook, conversation)
    events = outlook.app.control("GET", f"mailboxes/{MANAGER.mail}/events")["value"]
    return next(e for e in events if e["id"] == event_id)


def feed(outlook: Outlook, person) -> list[dict]:
    return outlook.app.call("GET", "me/changes", person).json()["value"]


@pytest.mark.parametrize("response", ["tentativelyAccepted", "declined"])
def test_a_proposed_time_shows_in_the_conversation_and_is_told_to_the_organiser(outlook, response):
    conversation = create(outlook)
    assert meeting(outlook, conversation)["allowNewTimeProposals"] is True

    propose(outlook, response, f"{DAY}T15:00:00", f"{DAY}T15:30:00")

    seen = read(outlook, conversation, MANAGER).json()
    (proposal,) = seen["proposals"]
    assert proposal["email"] == EMPLOYEE_ALEX.mail
    assert proposal["userId"] == EMPLOYEE_ALEX.host_user_id
    assert (proposal["start"], proposal["end"]) == (
        f"{DAY}T15:00:00+00:00",
        f"{DAY}T15:30:00+00:00",
    )
    assert proposal["response"] == response
    assert proposal["proposedAt"]
    assert seen["start"] == f"{DAY}T09:00:00+00:00", "nothing moves until the organiser says so"
    told = [c for c in feed(outlook, MANAGER) if c["kind"] == "time_proposed"]
    assert [c["proposal"]["id"] for c in told] == [proposal["id"]]
    assert told[0]["conversationId"] == conversation["id"]
    assert not [c for c in feed(outlook, EMPLOYEE_ALEX) if c["kind"] == "time_proposed"]


def test_accepting_a_proposal_moves_the_conversation_and_the_outlook_meeting(outlook):
    conversation = create(outlook)
    propose(outlook, "tentativelyAccepted", f"{DAY}T15:00:00", f"{DAY}T15:30:00")
    (proposal,) = read(outlook, conversation, MANAGER).json()["proposals"]

    accepted = outlook.app.call(
        "POST",
        f"conversations/{conversation['id']}/proposals/{proposal['id']}/accept",
        MANAGER,
    )
    outlook.settle()

    assert accepted.status_code == 200, accepted.text
    moved = accepted.json()
    assert (moved["start"], moved["end"]) == (f"{DAY}T15:00:00+00:00", f"{DAY}T15:30:00+00:00")
    assert moved["sync"]["state"] == "synced"
    assert moved["proposals"] == []
    in_outlook = meeting(outlook, conversation)
    assert in_outlook["start"]["dateTime"].startswith(f"{DAY}T15:00:00")
    assert all("proposedNewTime" not in a for a in in_outlook["attendees"])
    again = read(outlook, conversation, MANAGER).json()
    assert again["start"] == f"{DAY}T15:00:00+00:00"
    assert again["proposals"] == []


def test_dismissing_a_proposal_hides_it_and_moves_nothing(outlook):
    conversation = create(outlook)
    propose(outlook, "declined", f"{DAY}T16:00:00", f"{DAY}T16:30:00")
    (proposal,) = read(outlook, conversation, MANAGER).json()["proposals"]
    path = f"conversations/{conversation['id']}/proposals/{proposal['id']}"

    assert outlook.app.call("POST", f"{path}/accept", EMPLOYEE_ALEX).status_code == 403
    dismissed = outlook.app.call("POST", f"{path}/dismiss", MANAGER)

    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["proposals"] == []
    assert dismissed.json()["start"] == f"{DAY}T09:00:00+00:00"
    assert meeting(outlook, conversation)["start"]["dateTime"].startswith(f"{DAY}T09:00:00")
    gone = outlook.app.call("POST", f"{path}/accept", MANAGER)
    assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
    # a new proposal from the same attendee is shown and told again
    propose(outlook, "tentativelyAccepted", f"{DAY}T17:00:00", f"{DAY}T17:30:00")
    (newer,) = read(outlook, conversation, MANAGER).json()["proposals"]
    assert newer["start"] == f"{DAY}T17:00:00+00:00"
    told = [c for c in feed(outlook, MANAGER) if c["kind"] == "time_proposed"]
    assert len(told) == 2
