"""The change feed never loses what Outlook changed: the entries are written with the change
(an outbox on the conversation's row) and recorded by whoever handles it next, at least once,
each with an `id` that stays the same however often it is recorded."""

import pytest

from shared.connections.model import ReconnectReason
from shared.errors import ReconnectRequired
from shared.identity import RefreshRefused
from shared.storage import names
from shared.sync.service import LEASE
from tests.fakes import ProcessDied
from tests.unit.test_sync import create, move_in_outlook, moved, notified
from tests.unit.world import ADELE, ALEX, ORG, World


def die() -> None:
    raise ProcessDied


@pytest.fixture
def world() -> World:
    world = World()
    world.switch()
    assert world.connect(ADELE) == "connected"
    world.timer()
    return world


def retried(world: World) -> None:
    """The queue tries the message again; the dead worker's lease on the mailbox runs out and
    the timer reads it (tests/unit/test_sync.py)."""
    assert notified(world) == "left to the running sync"
    world.clock.advance(LEASE)
    world.timer()


def told(world: World, kind: str) -> dict[str, list[dict]]:
    return {
        person.upn: [c for c in world.feed(person) if c["kind"] == kind] for person in (ADELE, ALEX)
    }


def test_a_move_whose_process_dies_after_the_conversation_write_is_told_once_on_retry(world):
    conversation = create(world)
    move_in_outlook(world, conversation)
    world.tables.table(names.CHANGES_TABLE).fail("create", die)  # the first feed entry

    with pytest.raises(ProcessDied):
        notified(world)
    assert moved(world, conversation), "the conversation was written"
    assert told(world, "conversation_moved") == {ADELE.upn: [], ALEX.upn: []}

    retried(world)  # Outlook and the conversation agree: no change is derived again

    entries = told(world, "conversation_moved")
    for person in (ADELE, ALEX):
        (entry,) = entries[person.upn]  # once: nothing was recorded before the process died
        assert entry["start"] == "2026-12-07T14:00:00+00:00"
        assert entry["conversationId"] == conversation.id
    assert entries[ADELE.upn][0]["id"] == entries[ALEX.upn][0]["id"], "one change, one id"
    notified(world)
    assert [len(e) for e in told(world, "conversation_moved").values()] == [1, 1]


def test_a_move_whose_process_dies_before_clearing_is_told_again_with_the_same_id(world):
    conversation = create(world)
    move_in_outlook(world, conversation)
    # the edit's write goes through; the next write of the row (clearing the outbox) dies
    world.tables.table(names.CONVERSATIONS_TABLE).fail("replace", die, after=1)

    with pytest.raises(ProcessDied):
        notified(world)
    assert [len(e) for e in told(world, "conversation_moved").values()] == [1, 1]

    retried(world)

    for entries in told(world, "conversation_moved").values():
        first, again = entries  # at least once: twice here, as the same entry
        assert first["id"] == again["id"]
        assert {**first, "at": None} == {**again, "at": None}
    notified(world)
    assert [len(e) for e in told(world, "conversation_moved").values()] == [2, 2], "cleared"


def test_an_outlook_delete_whose_process_dies_before_telling_is_told_and_removed_on_retry(world):
    conversation = create(world)
    world.graph.delete(ADELE.upn, conversation.outlook.event_id)
    world.tables.table(names.CHANGES_TABLE).fail("create", die)

    with pytest.raises(ProcessDied):
        notified(world)
    retried(world)

    for entries in told(world, "conversation_cancelled").values():
        (entry,) = entries
        assert entry["conversationId"] == conversation.id
    assert world.table_rows(names.CONVERSATIONS_TABLE) == 0, "removed: nothing protects it"
    assert world.app.conversations.carrying_event(ORG, conversation.outlook.event_id) is None


def test_a_dead_sign_in_whose_process_dies_after_marking_it_is_told_by_the_next_use():
    world = World()
    world.switch()
    world.connect(ALEX)
    world.identity.refresh_failure = RefreshRefused(ReconnectReason.ACCESS_REVOKED, "50173")
    world.tables.table(names.CHANGES_TABLE).fail("create", die)  # right after the mark's write

    with pytest.raises(ProcessDied):
        world.app.connections.graph_for(ORG, ALEX.user_id)
    assert world.feed(ALEX) == []
    with pytest.raises(ReconnectRequired):  # the next push, mailbox read or timer run
        world.app.connections.graph_for(ORG, ALEX.user_id)
    with pytest.raises(ReconnectRequired):
        world.app.connections.graph_for(ORG, ALEX.user_id)

    (told,) = world.feed(ALEX)
    assert (told["kind"], told["reason"]) == ("reconnect_required", "access_revoked")
    assert told["id"]
