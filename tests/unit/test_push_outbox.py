"""Pushes to Outlook survive what goes wrong between Graph and storage, and wait out of the way.

Whatever fails after Graph did the work (storage, the process, the answer lost on the way), the
timer finishes the push once its grace is over: exactly one Outlook event, and a synced
conversation that knows it. A push that cannot proceed until someone acts is parked, and comes
back when they do.
"""

from datetime import timedelta
from typing import Any

import pytest
import requests

from shared.conversations.model import Conversation, SyncState
from shared.conversations.pushes import PUSH_GRACE
from shared.conversations.requests import parse_change, parse_new_conversation
from shared.errors import ConversationNotFound
from shared.schedule import WorkKind
from shared.storage import names
from shared.sync.notifications import NotificationKind, SyncMessage
from tests.fakes import ProcessDied
from tests.unit.test_sync import BODY
from tests.unit.world import ADELE, NOW, ORG, World

MOVE = {"start": "2026-12-08T10:00:00", "end": "2026-12-08T10:30:00", "timeZone": "UTC"}
BACK = {"start": "2026-12-07T09:00:00", "end": "2026-12-07T09:30:00", "timeZone": "UTC"}


class StorageDown(Exception):
    pass


def storage_down() -> None:
    raise StorageDown("table service unreachable")


def die() -> None:
    raise ProcessDied


def answer_lost() -> None:
    raise requests.ReadTimeout("no answer within the read timeout")


@pytest.fixture
def world() -> World:
    world = World(NOW)
    world.switch()
    assert world.connect(ADELE) == "connected"
    world.timer()
    return world


def create(world: World) -> Conversation:
    return world.app.conversations.create(
        ADELE.caller, parse_new_conversation(BODY), None
    ).conversation


def conversation_ids(world: World) -> list[str]:
    return [row.row_key for row in world.tables.table(names.CONVERSATIONS_TABLE).rows()]


def stored(world: World) -> Conversation:
    (conversation_id,) = conversation_ids(world)
    return world.app.conversations.get(ADELE.caller, conversation_id)


def events(world: World) -> list[dict[str, Any]]:
    return world.graph.events_of(ADELE.upn)


def after_the_grace(world: World) -> dict[str, dict[str, int]]:
    world.clock.advance(PUSH_GRACE)
    return world.timer()


# --- interrupted between Graph and storage ------------------------------------------------------


@pytest.mark.parametrize(
    "interruption",
    [
        pytest.param(lambda world: world.tables.table(names.CONVERSATIONS_TABLE).fail(
            "replace", storage_down), id="storage down"),
        pytest.param(lambda world: world.graph.on("POST", "me/events", after=die),
                     id="process killed"),
    ],
)  # fmt: skip
def test_a_create_interrupted_after_graph_made_the_event_ends_with_that_one_event(
    world, interruption
):
    interruption(world)
    with pytest.raises((StorageDown, ProcessDied)):
        create(world)
    (made,) = events(world)
    assert stored(world).sync_state is SyncState.PENDING

    assert world.timer()[WorkKind.PUSH_CONVERSATION] == {}, "a request's push has its grace"
    assert after_the_grace(world)[WorkKind.PUSH_CONVERSATION] == {"synced": 1}

    assert [e["id"] for e in events(world)] == [made["id"]], "one event: the transactionId"
    conversation = stored(world)
    assert conversation.sync_state is SyncState.SYNCED
    assert conversation.outlook.event_id == made["id"]
    assert world.app.conversations.carrying_event(ORG, made["id"]) is not None
    assert after_the_grace(world)[WorkKind.PUSH_CONVERSATION] == {}, "and the work is done"


def test_a_create_whose_answer_was_lost_is_made_once_when_tried_again(world):
    world.graph.on("POST", "me/events", after=answer_lost)

    conversation = create(world)
    assert conversation.sync_state is SyncState.PENDING
    world.timer()

    (event,) = events(world)
    assert stored(world).outlook.event_id == event["id"]
    assert world.graph.requests.count("POST me/events") == 2


def test_a_create_interrupted_then_cancelled_leaves_no_meeting_behind(world):
    """The create's event exists, but its id was never stored: the cancel finds it by its
    transactionId instead of forgetting it (a series' by its master: tests/faults)."""
    world.graph.on("POST", "me/events", after=die)
    with pytest.raises(ProcessDied):
        create(world)
    assert len(events(world)) == 1
    (conversation_id,) = conversation_ids(world)

    world.app.conversations.cancel(ADELE.caller, conversation_id)
    after_the_grace(world)

    assert events(world) == []
    assert conversation_ids(world) == []


def test_a_cancelled_create_that_never_reached_graph_cancels_nothing(world):
    world.graph.fail("POST", "me/events", 503)
    conversation = create(world)
    world.app.conversations.cancel(ADELE.caller, conversation.id)

    world.timer()

    assert conversation_ids(world) == []
    assert not [r for r in world.graph.requests if r.endswith("/cancel")]


def test_an_update_interrupted_after_graph_took_it_is_finished_by_the_timer(world):
    conversation = create(world)
    world.tables.table(names.CONVERSATIONS_TABLE).fail("replace", storage_down, after=1)

    with pytest.raises(StorageDown):
        world.app.conversations.update(ADELE.caller, conversation.id, parse_change(MOVE), None)
    assert stored(world).sync_state is SyncState.PENDING

    assert after_the_grace(world)[WorkKind.PUSH_CONVERSATION] == {"synced": 1}
    (event,) = events(world)
    assert event["start"]["dateTime"].startswith("2026-12-08T10:00:00")
    assert stored(world).sync_state is SyncState.SYNCED
    assert stored(world).version == 2


def test_a_cancel_interrupted_after_graph_took_it_is_finished_by_the_timer(world):
    conversation = create(world)
    world.graph.on("POST", "me/events/", after=die)

    with pytest.raises(ProcessDied):
        world.app.conversations.cancel(ADELE.caller, conversation.id)
    assert events(world) == []

    assert after_the_grace(world)[WorkKind.PUSH_CONVERSATION] == {"synced": 1}
    assert conversation_ids(world) == []
    assert world.table_rows(names.EVENT_INDEX_TABLE) == 0


def test_a_push_that_lost_a_race_to_a_newer_version_makes_sure_outlook_ends_with_the_newest(
    world,
):
    """The timer pushes version 2 while the organiser saves version 3, whose push reaches
    Outlook first: Outlook would keep version 2, so the newest is pushed once more."""
    conversation = create(world)
    world.graph.fail("PATCH", "me/events", 503)
    app = world.app.conversations
    app.update(ADELE.caller, conversation.id, parse_change({"location": {"kind": "none"}}), None)
    later = {"start": "2026-12-09T10:00:00", "end": "2026-12-09T10:30:00", "timeZone": "UTC"}

    def organiser_moves_it() -> None:
        app.update(ADELE.caller, conversation.id, parse_change(later), None)

    world.graph.on("PATCH", "me/events", before=organiser_moves_it)
    world.timer()  # pushes version 2; version 3 is saved and pushed meanwhile
    (event,) = events(world)
    assert event["start"]["dateTime"].startswith("2026-12-07"), "version 2 landed last"

    after_the_grace(world)

    (event,) = events(world)
    assert event["start"]["dateTime"].startswith("2026-12-09")
    assert stored(world).sync_state is SyncState.SYNCED


def test_a_push_whose_record_outlooks_own_news_overtook_still_ends_synced(world):
    """Graph's change notification for the push itself is read before the push stores its
    outcome: only what Outlook last saw changed, so the push stands."""
    conversation = create(world)

    def the_notification_is_read_first() -> None:
        message = SyncMessage(NotificationKind.CHANGE, ORG, ADELE.user_id, "s", world.clock())
        assert world.app.sync_worker.process(message.to_json()).startswith("applied")

    world.graph.on("PATCH", "me/events", after=the_notification_is_read_first)
    moved = world.app.conversations.update(ADELE.caller, conversation.id, parse_change(MOVE), None)

    assert moved.sync_state is SyncState.SYNCED
    assert world.timer()[WorkKind.PUSH_CONVERSATION] == {}
    assert after_the_grace(world)[WorkKind.PUSH_CONVERSATION] == {}, "no work left behind"

    def read_first_then_lost() -> None:
        the_notification_is_read_first()
        answer_lost()

    world.graph.on("PATCH", "me/events", after=read_first_then_lost)
    again = world.app.conversations.update(ADELE.caller, conversation.id, parse_change(BACK), None)
    assert again.sync_state is SyncState.PENDING
    assert world.timer()[WorkKind.PUSH_CONVERSATION] == {"synced": 1}, "due at once, no grace"


# --- pushes that cannot proceed wait out of the way ----------------------------------------------


def test_an_organiser_who_must_reconnect_has_pushes_wait_until_they_do(world):
    world.clock.advance(timedelta(days=300))  # past the reconnect date

    conversation = create(world)

    assert conversation.sync_state is SyncState.PENDING
    assert conversation.sync_error == "waiting: reconnect_required"
    assert world.timer()[WorkKind.PUSH_CONVERSATION] == {}, "not in the due list"
    assert world.connect(ADELE) == "connected"
    report = world.timer()
    assert report[WorkKind.RESUME_PUSHES] == {"resumed": 1}
    assert report[WorkKind.PUSH_CONVERSATION] == {"synced": 1}
    assert len(events(world)) == 1
    assert stored(world).sync_error is None


def test_pushes_of_an_organisation_switched_off_wait_until_it_is_switched_on(world):
    world.graph.fail("POST", "me/events", 503)
    create(world)
    world.switch(allow=False)

    assert world.timer()[WorkKind.PUSH_CONVERSATION] == {"pending": 1}
    assert stored(world).sync_error == "waiting: disabled"
    assert world.timer()[WorkKind.PUSH_CONVERSATION] == {}

    world.switch(allow=True)
    world.timer()

    assert stored(world).sync_state is SyncState.SYNCED
    assert len(events(world)) == 1


def test_a_change_made_while_the_organiser_is_disconnected_reaches_outlook_when_they_connect(
    world,
):
    conversation = create(world)
    world.app.lifecycle.disconnect(ADELE.caller)

    moved = world.app.conversations.update(ADELE.caller, conversation.id, parse_change(MOVE), None)
    assert moved.sync_error == "waiting: not_connected"
    assert world.connect(ADELE) == "connected"
    world.timer()

    (event,) = events(world)
    assert event["start"]["dateTime"].startswith("2026-12-08T10:00:00")
    assert stored(world).sync_state is SyncState.SYNCED


def test_a_cancel_made_while_the_organiser_is_disconnected_reaches_outlook_when_they_connect(
    world,
):
    conversation = create(world)
    world.app.lifecycle.disconnect(ADELE.caller)

    cancelled = world.app.conversations.cancel(ADELE.caller, conversation.id)
    assert cancelled.conversation.sync_error == "waiting: not_connected"
    assert len(events(world)) == 1
    assert world.connect(ADELE) == "connected"
    world.timer()

    assert events(world) == []
    with pytest.raises(ConversationNotFound):
        world.app.conversations.get(ADELE.caller, conversation.id)
    assert (
        world.app.schedule.resume(WorkKind.PUSH_CONVERSATION, NOW, lane=ORG, holder=None, limit=10)
        == 0
    ), "nothing left parked"
