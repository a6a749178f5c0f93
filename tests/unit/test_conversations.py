"""The conversation service's rules, on the fakes: what is stored, what reaches Outlook, who may."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.conversations.model import (
    PENDING_SINCE,
    CancelOutcome,
    Conversation,
    Participant,
    ParticipantRole,
    RecordKind,
    SyncState,
)
from shared.conversations.repository import ConversationRepository
from shared.conversations.requests import parse_change, parse_new_conversation, parse_window_query
from shared.errors import (
    ConversationCancelled,
    ConversationNotFound,
    GuestNotAllowed,
    IdempotencyKeyReused,
    OrganiserOnly,
    StaleVersion,
)
from shared.schedule import WorkKind
from shared.storage import names
from tests.unit.world import ADELE, ALEX, HOST_APP, LYNNE, NOW, ORG, Person, World

CONVERSATION_TABLES = (
    names.CONVERSATIONS_TABLE,
    names.CONVERSATION_INDEX_TABLE,
    names.IDEMPOTENCY_TABLE,
)
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
    world = World(NOW + timedelta(microseconds=250_000))
    world.switch()
    assert world.connect(ADELE) == "connected"
    world.timer()  # the first read of the mailbox: later reads see what changed since
    world.graph.requests.clear()
    return world


def create(world: World, by: Person = ADELE, key: str | None = None, **body: Any) -> Conversation:
    new = parse_new_conversation({**BODY, **body})
    return world.app.conversations.create(by.caller, new, key).conversation


def push_items(world: World) -> list[datetime]:
    due = world.app.schedule.due(WorkKind.PUSH_CONVERSATION, NOW + timedelta(days=1), 100)
    return [item.due for item in due]


def stored(world: World, conversation: Conversation) -> Conversation:
    return world.app.conversations.get(ADELE.caller, conversation.id)


# --- create ---------------------------------------------------------------------------------------


def test_a_conversation_becomes_a_meeting_in_the_organisers_outlook(world):
    conversation = create(world)

    assert conversation.sync_state is SyncState.SYNCED
    (event,) = world.graph.events_of(ADELE.upn)
    assert conversation.outlook.event_id == event["id"]
    assert event["subject"] == "Weekly check-in"
    assert [a["emailAddress"]["address"] for a in event["attendees"]] == [ALEX.upn]
    assert event["isOnlineMeeting"] is True
    assert f"{HOST_APP}/conversations/{conversation.id}" in event["body"]["content"]
    assert conversation.outlook.join_url.startswith("https://teams.test/")


def test_without_a_connection_or_with_sync_off_it_stays_in_the_app(world):
    assert create(world, by=ALEX).sync_state is SyncState.NOT_SYNCED
    world.switch(sync=False)
    assert create(world).sync_state is SyncState.NOT_SYNCED
    assert world.graph.events_of(ADELE.upn) == []


def test_a_retried_idempotency_key_creates_one_conversation_and_one_event(world):
    first = world.app.conversations.create(ADELE.caller, parse_new_conversation(BODY), "k-1")
    again = world.app.conversations.create(ADELE.caller, parse_new_conversation(BODY), "k-1")

    assert (first.new, again.new) == (True, False)
    assert again.conversation.id == first.conversation.id
    assert len(world.graph.events_of(ADELE.upn)) == 1


# --- Outlook later: pending pushes and Retry-After ----------------------------------------------


def test_a_throttled_create_makes_one_attempt_and_is_due_once_retry_after_is_over(world):
    world.graph.fail("POST", "me/events", 429, retry_after=5)

    conversation = create(world)

    assert conversation.sync_state is SyncState.PENDING
    assert world.graph.requests == ["POST me/events"], "one attempt, no sleep"
    assert push_items(world) == [datetime(2026, 12, 1, 8, 0, 6, tzinfo=UTC)]  # 08:00:05.25 up


def test_the_timer_leaves_it_alone_until_then_and_pushes_it_after(world):
    world.graph.fail("POST", "me/events", 429, retry_after=5)
    conversation = create(world)

    world.timer()
    assert world.graph.events_of(ADELE.upn) == []

    world.clock.advance(timedelta(seconds=6))
    world.timer()

    assert stored(world, conversation).sync_state is SyncState.SYNCED
    assert len(world.graph.events_of(ADELE.upn)) == 1
    assert push_items(world) == []


def test_throttled_again_the_timer_moves_the_item_to_the_new_retry_after(world):
    world.graph.fail("POST", "me/events", 429, retry_after=5)
    conversation = create(world)
    world.clock.advance(timedelta(seconds=6))
    world.graph.fail("POST", "me/events", 429, retry_after=60)  # past the client's budget

    world.timer()

    assert stored(world, conversation).sync_state is SyncState.PENDING
    assert push_items(world) == [datetime(2026, 12, 1, 8, 1, 7, tzinfo=UTC)]  # 08:01:06.25 up


def test_without_retry_after_the_push_is_due_at_once(world):
    world.graph.fail("POST", "me/events", 503)
    create(world)
    assert push_items(world) == [PENDING_SINCE]


def test_what_outlook_refuses_for_good_is_failed_and_a_user_edit_tries_again(world):
    world.graph.fail("POST", "me/events", 400, code="ErrorInvalidRequest")
    conversation = create(world)
    assert conversation.sync_state is SyncState.FAILED
    assert conversation.sync_error.startswith("ErrorInvalidRequest")
    assert push_items(world) == []

    moved = world.app.conversations.update(
        ADELE.caller, conversation.id, parse_change({"location": {"kind": "none"}}), None
    )
    assert moved.sync_state is SyncState.SYNCED


def test_an_outlook_deletion_takes_the_pending_push_with_it(world):
    conversation = create(world)
    world.graph.fail("PATCH", "me/events", 429, retry_after=300)
    world.app.conversations.update(
        ADELE.caller, conversation.id, parse_change({"location": {"kind": "none"}}), None
    )
    assert len(push_items(world)) == 1

    world.graph.delete(ADELE.upn, conversation.outlook.event_id)
    world.app.sync_worker.process(notification(world, ADELE))

    assert push_items(world) == []
    with pytest.raises(ConversationNotFound):
        stored(world, conversation)


def notification(world: World, person: Person) -> str:
    from shared.sync.notifications import NotificationKind, SyncMessage

    message = SyncMessage(NotificationKind.CHANGE, ORG, person.user_id, "sub", world.clock())
    return message.to_json()


# --- change and cancel ----------------------------------------------------------------------------


def test_only_the_organiser_changes_and_only_the_version_they_read(world):
    conversation = create(world)
    change = parse_change(
        {"start": "2026-12-08T10:00:00", "end": "2026-12-08T10:30:00", "timeZone": "Europe/London"}
    )

    with pytest.raises(OrganiserOnly):
        world.app.conversations.update(ALEX.caller, conversation.id, change, None)
    with pytest.raises(StaleVersion):
        world.app.conversations.update(ADELE.caller, conversation.id, change, 0)

    moved = world.app.conversations.update(ADELE.caller, conversation.id, change, 1)
    assert (moved.version, moved.start) == (2, datetime(2026, 12, 8, 10, 0, tzinfo=UTC))
    (event,) = world.graph.events_of(ADELE.upn)
    assert event["start"] == {"dateTime": "2026-12-08T10:00:00", "timeZone": "GMT Standard Time"}
    assert event["subject"] == "Weekly check-in"


def test_cancelling_removes_it_and_its_meeting(world):
    conversation = create(world)

    cancelled = world.app.conversations.cancel(ADELE.caller, conversation.id)

    assert cancelled.outcome is CancelOutcome.REMOVED
    assert world.graph.events_of(ADELE.upn) == []
    assert world.table_rows(names.CONVERSATIONS_TABLE) == 0
    assert world.table_rows(names.CONVERSATION_INDEX_TABLE) == 0
    assert world.table_rows(names.EVENT_INDEX_TABLE) == 0


def test_notes_keep_a_cancelled_conversation_which_then_cannot_change(world):
    conversation = create(world)
    world.app.conversations.add_record(ALEX.caller, conversation.id, RecordKind.NOTE, "Agreed")

    cancelled = world.app.conversations.cancel(ADELE.caller, conversation.id)

    assert cancelled.outcome is CancelOutcome.KEPT
    assert cancelled.conversation.status == "cancelled"
    assert world.graph.events_of(ADELE.upn) == []
    with pytest.raises(ConversationCancelled):
        world.app.conversations.update(
            ADELE.caller, conversation.id, parse_change({"location": {"kind": "none"}}), None
        )


def test_a_cancellation_outlook_missed_is_finished_by_the_timer(world):
    conversation = create(world)
    world.graph.fail("POST", "me/events/", 503)

    cancelled = world.app.conversations.cancel(ADELE.caller, conversation.id)
    assert cancelled.outcome is CancelOutcome.KEPT
    assert cancelled.conversation.sync_state is SyncState.PENDING

    world.timer()

    assert world.graph.events_of(ADELE.upn) == []
    assert world.table_rows(names.CONVERSATIONS_TABLE) == 0


# --- who may read and add -------------------------------------------------------------------------


def test_attendees_add_notes_and_actions_guests_and_strangers_do_not(world):
    conversation = create(world)
    app = world.app.conversations

    note = app.add_record(ALEX.caller, conversation.id, RecordKind.NOTE, "Agreed")
    app.add_record(ADELE.caller, conversation.id, RecordKind.ACTION, "Book the room")

    assert (note.author_id, note.text) == (ALEX.user_id, "Agreed")
    after = app.get(ADELE.caller, conversation.id)
    assert (after.notes_count, after.actions_count) == (1, 1)
    with pytest.raises(ConversationNotFound):
        app.add_record(LYNNE.caller, conversation.id, RecordKind.NOTE, "Mine")
    with pytest.raises(ConversationNotFound):
        app.get(LYNNE.caller, conversation.id)


def test_a_guest_added_in_outlook_reads_but_adds_nothing(world):
    conversation = create(world)
    guest = {"emailAddress": {"address": LYNNE.upn}, "status": {"response": "none"}}
    event = world.graph.events_of(ADELE.upn)[0]
    world.graph.edit(ADELE.upn, event["id"], attendees=[*event["attendees"], guest])
    world.app.sync_worker.process(notification(world, ADELE))

    lynne_by_id = Person(LYNNE.user_id, LYNNE.upn, LYNNE.name)
    with pytest.raises(ConversationNotFound):  # added by address: not her host-app id
        world.app.conversations.get(lynne_by_id.caller, conversation.id)
    roles = [a.role for a in world.app.conversations.get(ADELE.caller, conversation.id).attendees]
    assert roles == ["attendee", "guest"]


def test_a_guest_known_to_the_host_app_still_adds_no_notes(world):
    conversation = create(world)
    repository = ConversationRepository(
        *(world.tables.table(name) for name in CONVERSATION_TABLES)
    )  # a state no use case makes today: a guest carrying a host-app user id
    stored_conversation = repository.get(ORG, conversation.id)
    guest = Participant(LYNNE.upn, user_id=LYNNE.user_id, role=ParticipantRole.GUEST)
    with_guest = replace(conversation, attendees=(*conversation.attendees, guest))
    repository.replace(with_guest, stored_conversation.etag, conversation)

    assert world.app.conversations.get(LYNNE.caller, conversation.id).id == conversation.id
    with pytest.raises(GuestNotAllowed):
        world.app.conversations.add_record(LYNNE.caller, conversation.id, RecordKind.NOTE, "x")


def test_an_event_is_found_only_for_the_organisation_whose_mailbox_reported_it(world):
    event_id = create(world).outlook.event_id
    assert world.app.conversations.carrying_event(ORG, event_id) is not None
    assert world.app.conversations.carrying_event("org-fabrikam", event_id) is None


def test_only_the_organiser_and_invited_attendees_are_members():
    conversation = Conversation(
        id="c",
        org_id=ORG,
        type="check_in",
        title="t",
        organiser_id=ADELE.user_id,
        organiser_email=ADELE.upn,
        start=NOW,
        end=NOW + timedelta(minutes=30),
        time_zone="UTC",
        attendees=(
            Participant(ALEX.upn, user_id=ALEX.user_id),
            Participant(LYNNE.upn, user_id=LYNNE.user_id, role=ParticipantRole.GUEST),
        ),
    )
    assert [conversation.is_member(p.user_id) for p in (ADELE, ALEX, LYNNE)] == [True, True, False]
    assert conversation.involves(LYNNE.user_id)


# --- reading --------------------------------------------------------------------------------------


def test_the_organiser_sees_fresh_rsvps_which_are_not_stored_before_the_feed_reports_them(world):
    conversation = create(world)
    world.graph.respond(ADELE.upn, conversation.outlook.event_id, ALEX.upn, "accepted")

    seen = world.app.conversations.get(ADELE.caller, conversation.id)

    assert seen.attendees[0].response == "accepted"
    assert world.app.conversations.get(ALEX.caller, conversation.id).attendees[0].response == (
        "none"
    )
    world.app.sync_worker.process(notification(world, ADELE))
    assert [c["kind"] for c in world.feed(ADELE)] == ["rsvp"]


def test_listing_shows_each_occurrence_in_the_window_for_organiser_and_attendees(world):
    weekly = {"pattern": {"type": "weekly", "daysOfWeek": ["monday"]}, "range": {"type": "noEnd"}}
    series = create(world, title="Mentoring", recurrence=weekly)
    one_off = create(world, start="2026-12-09T09:00:00", end="2026-12-09T09:30:00")
    window = parse_window_query(
        {"start": "2026-12-07T00:00:00", "end": "2026-12-21T00:00:00", "timeZone": "UTC"},
        max_days=366,
    )

    for person in (ADELE, ALEX):
        listed = world.app.conversations.in_window(person.caller, window)
        assert [item.conversation.id for item in listed] == [series.id, one_off.id]
        assert [o.start.day for o in listed[0].occurrences] == [7, 14]
    assert world.app.conversations.in_window(LYNNE.caller, window) == []


def test_conversations_beyond_the_horizon_are_stored_but_not_listed(world):
    far = (NOW + timedelta(days=800)).date()
    conversation = create(world, start=f"{far}T09:00:00", end=f"{far}T09:30:00")
    window = parse_window_query(
        {"start": f"{far}T00:00:00", "end": f"{far}T23:00:00", "timeZone": "UTC"}, max_days=366
    )
    assert world.app.conversations.in_window(ADELE.caller, window) == []
    assert world.app.conversations.get(ADELE.caller, conversation.id).id == conversation.id


def test_an_idempotency_key_reused_for_another_conversation_is_refused_and_creates_nothing(world):
    world.app.conversations.create(ADELE.caller, parse_new_conversation(BODY), "k-2")
    other = {**BODY, "title": "Something else"}

    with pytest.raises(IdempotencyKeyReused):
        world.app.conversations.create(ADELE.caller, parse_new_conversation(other), "k-2")

    assert len(world.graph.events_of(ADELE.upn)) == 1
    assert world.table_rows(names.CONVERSATIONS_TABLE) == 1


def test_the_same_body_with_its_fields_in_another_order_is_the_same_request(world):
    reordered = dict(reversed(list(BODY.items())))
    first = world.app.conversations.create(ADELE.caller, parse_new_conversation(BODY), "k-3")
    again = world.app.conversations.create(ADELE.caller, parse_new_conversation(reordered), "k-3")

    assert (again.new, again.conversation.id) == (False, first.conversation.id)
