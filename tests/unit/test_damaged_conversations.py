"""A conversation row that cannot be read back never breaks anyone else (issue 13, finding 2).

Rows are planted in the fake table as an older version, a bug or a hand-edit might have left
them: a value the storage SDK cannot parse, a recurrence Graph would refuse, an unknown status.
Lists pass over them, the mailbox's sync goes on past them, the timer drops their pushes, and
their organiser can still delete them (and their Outlook meeting).
"""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from shared.conversations.model import Conversation, SyncState
from shared.conversations.requests import parse_new_conversation, parse_window_query
from shared.errors import ConversationNotFound, ConversationUnreadable
from shared.schedule import WorkKind
from shared.storage import names
from shared.storage.keys import table_key
from shared.sync.notifications import NotificationKind, SyncMessage
from tests.fakes import FakeEntityTable, Garbled
from tests.unit.world import ADELE, ALEX, ORG, World

WEEK = {"start": "2026-12-07T00:00:00", "end": "2026-12-14T00:00:00", "timeZone": "UTC"}


def body(title: str, day: int) -> dict:
    return {
        "type": "check_in",
        "title": title,
        "attendees": [{"email": ALEX.upn, "userId": ALEX.user_id}],
        "start": f"2026-12-{day:02d}T09:00:00",
        "end": f"2026-12-{day:02d}T09:30:00",
        "timeZone": "UTC",
    }


@pytest.fixture
def world() -> World:
    world = World.connected(ADELE, ALEX)
    world.timer()
    return world


def create(world: World, title: str, day: int) -> Conversation:
    new = parse_new_conversation(body(title, day))
    return world.app.conversations.create(ADELE.caller, new, None).conversation


def table(world: World) -> FakeEntityTable:
    return world.tables.table(names.CONVERSATIONS_TABLE)


DAMAGE: dict[str, Callable[[dict], dict]] = {
    "a date the SDK cannot read back": lambda p: {**p, "Start": Garbled()},
    "a year before 1000": lambda p: {**p, "Start": datetime(999, 12, 8, 9, tzinfo=UTC)},
    "year 9999 past the end": lambda p: {**p, "End": datetime(9999, 12, 31, 23, tzinfo=UTC)},
    "a weekday that does not exist": lambda p: {
        **p,
        "Recurrence": '{"pattern": {"type": "weekly", "daysOfWeek": ["monday"], '
        '"firstDayOfWeek": "funday", "interval": 1}, "range": {"type": "noEnd"}}',
    },
    "an unknown status": lambda p: {**p, "Status": "postponed"},
    "attendees that are not JSON": lambda p: {**p, "Attendees": "[{"},
}


def damage(world: World, conversation: Conversation, how: str) -> None:
    keys = (table_key(ORG), table_key(conversation.id))
    row = table(world).get(*keys)
    assert row is not None
    table(world).plant(*keys, DAMAGE[how](dict(row.properties)))


@pytest.mark.parametrize("how", DAMAGE)
def test_a_list_passes_over_a_damaged_conversation(world, how):
    healthy, broken = create(world, "Healthy", 8), create(world, "Broken", 9)
    damage(world, broken, how)
    window = parse_window_query(WEEK, max_days=366)
    for person in (ADELE, ALEX):
        listed = world.app.conversations.in_window(person.caller, window)
        assert [c.conversation.id for c in listed] == [healthy.id]


@pytest.mark.parametrize("how", DAMAGE)
def test_only_its_organiser_hears_it_is_damaged_and_can_delete_it(world, how):
    broken = create(world, "Broken", 9)
    event_id = broken.outlook.event_id if broken.outlook else None
    assert event_id in {e["id"] for e in world.graph.events_of(ADELE.upn)}
    damage(world, broken, how)

    with pytest.raises(ConversationUnreadable):
        world.app.conversations.get(ADELE.caller, broken.id)
    with pytest.raises(ConversationNotFound):
        world.app.conversations.get(ALEX.caller, broken.id)
    with pytest.raises(ConversationNotFound):
        world.app.conversations.cancel(ALEX.caller, broken.id)

    cancelled = world.app.conversations.cancel(ADELE.caller, broken.id)

    assert cancelled.outcome == "removed"
    assert table(world).rows() == []
    assert event_id not in {e["id"] for e in world.graph.events_of(ADELE.upn)}, "cancelled"
    assert world.app.conversations.carrying_event(ORG, str(event_id)) is None
    with pytest.raises(ConversationNotFound):
        world.app.conversations.get(ADELE.caller, broken.id)


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_conversation_never_stops_its_mailboxs_sync(world, how):
    healthy, broken = create(world, "Healthy", 8), create(world, "Broken", 9)
    damage(world, broken, how)
    for conversation in (broken, healthy):  # Outlook moves both; the damaged one comes first
        assert conversation.outlook is not None
        world.graph.edit(
            ADELE.upn,
            conversation.outlook.event_id,
            location={"displayName": "Room 9"},
        )
    message = SyncMessage(NotificationKind.CHANGE, ORG, ADELE.user_id, "s", world.clock())

    assert world.app.sync_worker.process(message.to_json()) == "applied 1 in 1 round(s)"

    moved = world.app.conversations.get(ADELE.caller, healthy.id)
    assert moved.location.text == "Room 9"
    later = SyncMessage(NotificationKind.CHANGE, ORG, ADELE.user_id, "s", world.clock())
    assert world.app.sync_worker.process(later.to_json()) == "applied 0 in 1 round(s)", (
        "the delta link moved past the damaged one"
    )


def test_the_timer_drops_the_pending_push_of_a_damaged_conversation(world):
    world.graph.fail("POST", "me/events", 503, times=1)
    broken = create(world, "Broken", 9)
    assert broken.sync_state is SyncState.PENDING
    damage(world, broken, "a weekday that does not exist")

    assert world.timer()[WorkKind.PUSH_CONVERSATION] == {"gone": 1}
    assert world.timer()[WorkKind.PUSH_CONVERSATION] == {}
