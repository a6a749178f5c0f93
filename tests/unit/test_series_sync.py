"""Issue 12, cases 1 and 2, in the services: a removal is read back before it cancels anything,
and a series syncs both ways (the whole series, and one occurrence at a time).

The fake Graph reports changes outside the delta's window as `@removed`, and a changed series as
its master plus occurrences with only id, type, seriesMasterId, start and end, as Graph does.
"""

from datetime import UTC, datetime, timedelta

import pytest

from shared.conversations.model import Conversation, ConversationStatus, RecordKind, SyncState
from shared.conversations.requests import Window, parse_change, parse_new_conversation
from shared.errors import ConversationNotFound, OccurrenceNotFound
from shared.sync.notifications import NotificationKind, SyncMessage
from shared.sync.outlook_changes import series_recurrence
from tests.unit.world import ADELE, ALEX, NOW, ORG, World

MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # the first Monday after NOW
WEEK = timedelta(weeks=1)
SERIES = {
    "type": "check_in",
    "title": "Weekly check-in",
    "attendees": [{"email": ALEX.upn, "userId": ALEX.user_id}],
    "start": "2026-12-07T09:00:00",
    "end": "2026-12-07T09:30:00",
    "timeZone": "UTC",
    "location": {"kind": "text", "text": "Room 1"},
    "recurrence": {
        "pattern": {"type": "weekly", "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "numberOfOccurrences": 4},
    },
}


@pytest.fixture
def world() -> World:
    world = World.connected(ADELE)
    world.timer()  # the first read of the mailbox, as after connecting
    return world


def create(world: World, **overrides) -> Conversation:
    new = parse_new_conversation({**SERIES, **overrides})
    return world.app.conversations.create(ADELE.caller, new, None).conversation


def notified(world: World) -> str:
    message = SyncMessage(NotificationKind.CHANGE, ORG, ADELE.user_id, "s", world.clock())
    return world.app.sync_worker.process(message.to_json())


def reread(world: World, conversation: Conversation) -> Conversation | None:
    """As its attendee reads it (no Graph call), None once it is gone."""
    try:
        return world.app.conversations.get(ALEX.caller, conversation.id)
    except ConversationNotFound:
        return None


def listed(world: World, conversation: Conversation) -> list:
    window = Window(datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 15, tzinfo=UTC), "UTC")
    (found,) = [
        item
        for item in world.app.conversations.in_window(ADELE.caller, window)
        if item.conversation.id == conversation.id
    ]
    return found.occurrences


def at(moment: datetime) -> dict:
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def kinds(world: World, person=ADELE) -> list[str]:
    return [c["kind"] for c in world.feed(person)]


# --- a removal is confirmed before it is acted on -------------------------------------------------


def test_an_answer_to_a_meeting_beyond_the_delta_window_is_taken_not_a_cancel(world):
    far = NOW + timedelta(days=800)
    conversation = create(
        world, start=f"{far.date()}T09:00:00", end=f"{far.date()}T09:30:00", recurrence=None
    )
    event_id = conversation.outlook.event_id
    world.graph.respond(ADELE.upn, event_id, ALEX.upn, "accepted")

    notified(world)

    kept = reread(world, conversation)
    assert kept is not None
    assert kept.status is ConversationStatus.SCHEDULED
    assert [a.response for a in kept.attendees] == ["accepted"]
    assert "conversation_cancelled" not in kinds(world)
    assert f"GET me/events/{event_id}" in world.graph.requests, "read back by its id"
    assert [e["id"] for e in world.graph.events_of(ADELE.upn)] == [event_id]


def test_a_past_meeting_moved_out_of_the_window_in_outlook_is_moved_not_cancelled(world):
    conversation = create(
        world, start="2026-11-28T09:00:00", end="2026-11-28T09:30:00", recurrence=None
    )
    far = NOW + timedelta(days=760)
    world.graph.edit(
        ADELE.upn, conversation.outlook.event_id, start=at(far), end=at(far + timedelta(hours=1))
    )

    notified(world)

    moved = reread(world, conversation)
    assert (moved.status, moved.start) == (ConversationStatus.SCHEDULED, far)
    assert kinds(world) == ["conversation_moved"]


def test_only_an_event_outlook_no_longer_has_is_a_cancel_and_notes_keep_it(world):
    kept = create(world, recurrence=None)
    gone = create(world, recurrence=None)
    world.app.conversations.add_record(ALEX.caller, kept.id, RecordKind.NOTE, "Goals")
    for conversation in (kept, gone):
        world.graph.delete(ADELE.upn, conversation.outlook.event_id)

    notified(world)

    assert reread(world, kept).status is ConversationStatus.CANCELLED
    assert reread(world, gone) is None
    assert kinds(world) == ["conversation_cancelled", "conversation_cancelled"]


def test_a_read_back_that_fails_for_now_cancels_nothing_and_is_read_again(world):
    far = NOW + timedelta(days=800)
    conversation = create(
        world, start=f"{far.date()}T09:00:00", end=f"{far.date()}T09:30:00", recurrence=None
    )
    event_id = conversation.outlook.event_id
    world.graph.respond(ADELE.upn, event_id, ALEX.upn, "declined")
    world.graph.fail("GET", f"me/events/{event_id}", 503, code="ServiceUnavailable", times=3)

    assert notified(world).startswith("read later")
    assert reread(world, conversation).status is ConversationStatus.SCHEDULED

    world.clock.advance(timedelta(minutes=5))
    world.timer()
    assert [a.response for a in reread(world, conversation).attendees] == ["declined"]
    assert "conversation_cancelled" not in kinds(world)


# --- the whole series, from Outlook ---------------------------------------------------------------


def test_the_whole_series_moved_in_outlook_moves_every_occurrence(world):
    conversation = create(world)
    master = conversation.outlook.event_id
    world.graph.edit_occurrence(ADELE.upn, master, MONDAY + WEEK, location={"displayName": "Cafe"})
    notified(world)

    eleven = MONDAY.replace(hour=11)
    world.graph.edit(ADELE.upn, master, start=at(eleven), end=at(eleven + timedelta(hours=1)))
    notified(world)

    after = reread(world, conversation)
    assert (after.start, after.end) == (eleven, eleven + timedelta(hours=1))
    assert after.exceptions == (), "a new time for the series drops its exceptions, as Outlook"
    assert [(o.start, o.location.text) for o in listed(world, conversation)] == [
        (eleven + WEEK * n, "Room 1") for n in range(4)
    ]
    assert "conversation_moved" in kinds(world, ALEX)


def test_a_series_ended_earlier_in_outlook_ends_the_conversation_earlier(world):
    conversation = create(world)
    ended = {
        "pattern": {"type": "weekly", "daysOfWeek": ["monday"], "interval": 1},
        "range": {"type": "endDate", "startDate": "2026-12-07", "endDate": "2026-12-14"},
    }
    world.graph.edit(ADELE.upn, conversation.outlook.event_id, recurrence=ended)

    notified(world)

    after = reread(world, conversation)
    assert after.recurrence["range"]["type"] == "endDate"
    assert after.recurrence["range"]["endDate"] == "2026-12-14"
    assert [o.start for o in listed(world, conversation)] == [MONDAY, MONDAY + WEEK]
    (change,) = [c for c in world.feed(ALEX) if c["kind"] == "conversation_recurrence_changed"]
    assert change["recurrence"]["range"]["endDate"] == "2026-12-14"


def test_outlooks_echo_of_a_series_with_its_defaults_filled_in_is_no_change():
    new = parse_new_conversation(
        {
            **SERIES,
            "recurrence": {
                "pattern": {"type": "weekly", "daysOfWeek": ["monday"]},
                "range": {"type": "noEnd"},
            },
        }
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
    echoed = {  # as Exchange answers: defaults filled in, the series ended two years on
        "pattern": {
            "type": "weekly",
            "interval": 1,
            "month": 0,
            "dayOfMonth": 0,
            "daysOfWeek": ["monday"],
            "firstDayOfWeek": "sunday",
            "index": "first",
        },
        "range": {
            "type": "endDate",
            "startDate": "2026-12-07",
            "endDate": "2028-12-06",
            "numberOfOccurrences": 0,
            "recurrenceTimeZone": "UTC",
        },
    }
    assert series_recurrence(conversation, echoed) is None
    shorter = {**echoed, "range": {**echoed["range"], "endDate": "2027-06-30"}}
    assert series_recurrence(conversation, shorter)["range"]["endDate"] == "2027-06-30"


def test_a_series_deleted_in_outlook_cancels_the_conversation_kept_with_its_notes(world):
    conversation = create(world)
    world.app.conversations.add_record(ADELE.caller, conversation.id, RecordKind.ACTION, "Plan")
    world.graph.delete(ADELE.upn, conversation.outlook.event_id)

    notified(world)

    assert reread(world, conversation).status is ConversationStatus.CANCELLED
    assert "conversation_cancelled" in kinds(world, ALEX)


# --- one occurrence, from Outlook -----------------------------------------------------------------


def test_one_occurrence_moved_and_relocated_in_outlook_is_listed_so_and_reported(world):
    conversation = create(world)
    before = listed(world, conversation)
    moved = (MONDAY + WEEK).replace(hour=15)
    world.graph.edit_occurrence(
        ADELE.upn,
        conversation.outlook.event_id,
        MONDAY + WEEK,
        start=at(moved),
        end=at(moved + timedelta(minutes=30)),
        location={"displayName": "Cafe"},
    )

    notified(world)

    after = listed(world, conversation)
    assert [o.id for o in after] == [o.id for o in before], "an occurrence keeps its id"
    assert [(o.start, o.location.text) for o in after] == [
        (MONDAY, "Room 1"),
        (moved, "Cafe"),
        (MONDAY + 2 * WEEK, "Room 1"),
        (MONDAY + 3 * WEEK, "Room 1"),
    ]
    named = [c for c in world.feed(ALEX) if c.get("occurrenceId")]
    assert [(c["kind"], c["occurrenceId"]) for c in named] == [
        ("occurrence_moved", before[1].id),
        ("occurrence_relocated", before[1].id),
    ]
    whole = reread(world, conversation)
    assert (whole.start, whole.location.text, whole.status) == (MONDAY, "Room 1", "scheduled")
    assert notified(world) == "applied 0 in 1 round(s)", "read again: nothing new"


def test_one_occurrence_cancelled_in_outlook_leaves_the_list_and_is_reported(world):
    conversation = create(world)
    before = listed(world, conversation)
    world.graph.cancel_occurrence(ADELE.upn, conversation.outlook.event_id, MONDAY + 2 * WEEK)

    notified(world)

    assert [o.start for o in listed(world, conversation)] == [MONDAY + WEEK * n for n in (0, 1, 3)]
    named = [(c["kind"], c["occurrenceId"]) for c in world.feed(ALEX) if c.get("occurrenceId")]
    assert named == [("occurrence_cancelled", before[2].id)]
    assert reread(world, conversation).status is ConversationStatus.SCHEDULED


def test_the_series_place_changed_in_outlook_moves_with_occurrences_that_kept_theirs(world):
    conversation = create(world)
    master = conversation.outlook.event_id
    world.graph.edit_occurrence(ADELE.upn, master, MONDAY, location={"displayName": "Cafe"})
    notified(world)

    world.graph.edit(ADELE.upn, master, location={"displayName": "Room 12"})
    notified(world)

    assert [o.location.text for o in listed(world, conversation)] == [
        "Cafe",
        "Room 12",
        "Room 12",
        "Room 12",
    ]


# --- one occurrence, from the app -----------------------------------------------------------------


def change(**body) -> object:
    return parse_change(body)


def test_moving_one_occurrence_in_the_app_moves_that_outlook_occurrence_only(world):
    conversation = create(world)
    second = listed(world, conversation)[1]
    moved = second.start.replace(hour=16)

    updated = world.app.conversations.update_occurrence(
        ADELE.caller,
        conversation.id,
        second.id,
        change(
            start=moved.isoformat(),
            end=(moved + timedelta(minutes=30)).isoformat(),
            timeZone="UTC",
            location={"kind": "text", "text": "Garden"},
        ),
        None,
    )

    assert updated.sync_state is SyncState.SYNCED
    assert [e.pending for e in updated.exceptions] == [False]
    master = conversation.outlook.event_id
    assert f"PATCH me/events/{master}" not in world.graph.requests, (
        "the series' master is left alone: naming its time may reset its other occurrences"
    )
    outlook = world.graph.instances(
        ADELE.upn, conversation.outlook.event_id, MONDAY, MONDAY + 5 * WEEK
    )
    assert [(o["start"]["dateTime"][11:16], o["location"]["displayName"]) for o in outlook] == [
        ("09:00", "Room 1"),
        ("16:00", "Garden"),
        ("09:00", "Room 1"),
        ("09:00", "Room 1"),
    ]
    assert [(o.start, o.location.text) for o in listed(world, conversation)][1] == (moved, "Garden")
    notified(world)
    assert world.feed(ALEX) == [], "Outlook's echo of the app's own change reports nothing"


def test_cancelling_one_occurrence_in_the_app_cancels_it_in_outlook(world):
    conversation = create(world)
    third = listed(world, conversation)[2]

    world.app.conversations.cancel_occurrence(ADELE.caller, conversation.id, third.id)

    outlook = world.graph.instances(
        ADELE.upn, conversation.outlook.event_id, MONDAY, MONDAY + 5 * WEEK
    )
    assert [o["originalStart"] for o in outlook] == [
        "2026-12-07T09:00:00Z",
        "2026-12-14T09:00:00Z",
        "2026-12-28T09:00:00Z",
    ]
    assert third.id not in [o.id for o in listed(world, conversation)]
    with pytest.raises(OccurrenceNotFound):
        world.app.conversations.cancel_occurrence(ADELE.caller, conversation.id, third.id)
    notified(world)
    assert world.feed(ALEX) == []


@pytest.mark.parametrize("occurrence", ["20261208T090000Z", "20270104T090000Z", "tomorrow"])
def test_an_occurrence_the_series_does_not_have_is_not_found(world, occurrence):
    conversation = create(world)
    with pytest.raises(OccurrenceNotFound):
        world.app.conversations.cancel_occurrence(ADELE.caller, conversation.id, occurrence)
    assert reread(world, conversation).version == conversation.version


def test_an_occurrence_changed_while_outlook_is_down_waits_and_is_pushed_later(world):
    conversation = create(world)
    second = listed(world, conversation)[1]
    world.graph.fail("GET", "me/events", 503, code="ServiceUnavailable", times=3)
    world.graph.fail("PATCH", "me/events", 503, code="ServiceUnavailable", times=3)

    pending = world.app.conversations.cancel_occurrence(ADELE.caller, conversation.id, second.id)

    assert pending.sync_state is SyncState.PENDING
    assert [(e.cancelled, e.pending) for e in pending.exceptions] == [(True, True)]
    notified(world)  # Outlook still has it: the app's pending change is not overwritten
    assert second.id not in [o.id for o in listed(world, conversation)]

    world.clock.advance(timedelta(minutes=10))
    world.timer()

    done = reread(world, conversation)
    assert done.sync_state is SyncState.SYNCED
    assert [(e.cancelled, e.pending) for e in done.exceptions] == [(True, False)]
    outlook = world.graph.instances(
        ADELE.upn, conversation.outlook.event_id, MONDAY, MONDAY + 5 * WEEK
    )
    assert len(outlook) == 3
