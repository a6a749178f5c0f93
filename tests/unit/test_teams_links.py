"""Teams links on the fakes: one missing from Graph's answer is fetched later and told; a calendar
that does not allow Teams is said so, at connect time and on the conversations it organises."""

from datetime import timedelta
from typing import Any

import pytest

from shared.connections.views import status_view
from shared.conversations.join_links import BACKOFF
from shared.conversations.model import Conversation
from shared.conversations.requests import parse_new_conversation
from shared.conversations.views import conversation_view
from tests.unit.world import ADELE, ALEX, NOW, World

BODY = {
    "type": "check_in",
    "title": "Weekly check-in",
    "attendees": [{"email": ALEX.upn, "userId": ALEX.user_id}],
    "start": "2026-12-07T09:00:00",
    "end": "2026-12-07T09:30:00",
    "timeZone": "Europe/London",
    "location": {"kind": "teams"},
}


@pytest.fixture
def world() -> World:
    world = World(NOW)
    world.switch()
    return world


def create(world: World, **body: Any) -> Conversation:
    new = parse_new_conversation({**BODY, **body})
    return world.app.conversations.create(ADELE.caller, new, None).conversation


def shown(world: World, conversation: Conversation) -> dict[str, Any]:
    stored = world.app.conversations.get(ADELE.caller, conversation.id)
    return conversation_view(stored)


def kinds(world: World) -> list[str]:
    return [change["kind"] for change in world.feed(ADELE)]


def test_a_teams_link_missing_from_graphs_answer_is_fetched_by_the_timer_and_told(world):
    world.graph.mailboxes[ADELE.upn].join_url_later = True
    assert world.connect(ADELE) == "connected"
    conversation = create(world)
    assert conversation_view(conversation)["outlook"]["teamsJoinUrl"] is None

    world.timer()

    view = shown(world, conversation)
    assert view["outlook"]["teamsJoinUrl"] == f"https://teams.test/{conversation.outlook.event_id}"
    assert view["notices"] == []
    (added,) = [c for c in world.feed(ADELE) if c["kind"] == "teams_link_added"]
    assert added["teamsJoinUrl"] == view["outlook"]["teamsJoinUrl"]
    assert "teams_link_added" in [c["kind"] for c in world.feed(ALEX)], "attendees are told too"


def test_a_link_that_never_comes_is_tried_with_backoff_a_bounded_number_of_times(world):
    mailbox = world.graph.mailboxes[ADELE.upn]
    mailbox.join_url_later = True
    assert world.connect(ADELE) == "connected"
    mailbox.teams = False  # the link will never come (Teams switched off after connecting)
    conversation = create(world)

    reads = []
    for wait in (*BACKOFF[1:], timedelta(hours=8)):
        world.graph.requests.clear()
        world.timer()
        reads.append(sum(r.startswith("GET me/events/") for r in world.graph.requests))
        world.clock.advance(wait)
    world.graph.requests.clear()
    world.timer()
    reads.append(sum(r.startswith("GET me/events/") for r in world.graph.requests))

    assert reads == [1] * len(BACKOFF) + [0], "one read each, never again after the last"
    view = shown(world, conversation)
    assert view["outlook"]["teamsJoinUrl"] is None
    assert [n["code"] for n in view["notices"]] == ["teams_unavailable"]
    assert kinds(world).count("teams_unavailable") == 1


def test_a_calendar_that_does_not_allow_teams_is_reported_at_connect_and_on_conversations(world):
    world.graph.mailboxes[ADELE.upn].teams = False
    assert world.connect(ADELE) == "connected"

    status = status_view(world.app.connections.status(ADELE.caller))
    conversation = create(world)
    world.graph.requests.clear()
    world.timer()

    assert [n["code"] for n in status["notices"]] == ["teams_unavailable"]
    view = conversation_view(conversation)
    assert view["sync"]["state"] == "synced", "the meeting is in Outlook, without Teams"
    assert view["outlook"]["teamsJoinUrl"] is None
    assert [n["code"] for n in view["notices"]] == ["teams_unavailable"]
    assert not [r for r in world.graph.requests if r.startswith("GET me/events/")], "no fetches"
    (event,) = world.graph.events_of(ADELE.upn)
    assert event["location"]["displayName"] == "", "Outlook's meeting claims no Teams meeting"
    assert event["isOnlineMeeting"] is False


def test_a_conversation_without_teams_has_no_notice_even_so(world):
    world.graph.mailboxes[ADELE.upn].teams = False
    assert world.connect(ADELE) == "connected"

    conversation = create(world, location={"kind": "text", "text": "Room 4"})

    assert conversation_view(conversation)["notices"] == []
