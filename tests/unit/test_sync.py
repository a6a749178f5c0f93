"""Two-way sync on the fakes: webhooks accepted without secrets, Outlook edits applied once."""

import base64
import json
from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

import pytest

from shared.conversations.model import Conversation, RecordKind
from shared.conversations.requests import parse_new_conversation
from shared.errors import ErrorCode, InvalidRequest, TooLarge, UnreadableMessage
from shared.identity import IdentityUnavailable
from shared.schedule import WorkKind
from shared.storage import names
from shared.sync.client_state import client_state_hash
from shared.sync.notifications import NotificationKind, SyncMessage
from shared.sync.service import LEASE
from shared.sync.subscriptions import LIFETIME, RENEW_BEFORE
from tests.fakes import FakeTables, ProcessDied
from tests.unit.world import ADELE, ALEX, LYNNE, ORG, SETTINGS, Person, World

BODY = {
    "type": "check_in",
    "title": "Weekly check-in",
    "attendees": [{"email": ALEX.upn, "userId": ALEX.user_id}],
    "start": "2026-12-07T09:00:00",
    "end": "2026-12-07T09:30:00",
    "timeZone": "UTC",
    "location": {"kind": "text", "text": "Room 1"},
}


@pytest.fixture
def world() -> World:
    world = World()
    world.switch()
    assert world.connect(ADELE) == "connected"
    world.timer()  # the first read of the mailbox, as after connecting
    return world


def create(world: World) -> Conversation:
    new = parse_new_conversation(BODY)
    return world.app.conversations.create(ADELE.caller, new, None).conversation


def notified(world: World, person: Person = ADELE) -> str:
    """Graph says the person's mailbox changed; the queue worker handles it."""
    message = SyncMessage(NotificationKind.CHANGE, ORG, person.user_id, "s", world.clock())
    return world.app.sync_worker.process(message.to_json())


def reread(world: World, conversation: Conversation) -> Conversation:
    stored = world.app.conversations.carrying_event(ORG, conversation.outlook.event_id)
    assert stored is not None
    return stored.conversation


# --- the webhook ----------------------------------------------------------------------------------


def notification_body(world: World, **item: str) -> bytes:
    subscription = next(iter(world.graph.subscriptions.values()))  # the first made
    base = {"subscriptionId": subscription["id"], "clientState": subscription["clientState"]}
    return json.dumps({"value": [base | {"changeType": "updated"} | item]}).encode()


def test_the_webhook_queues_what_comes_from_our_subscriptions_with_no_storage_or_secret():
    connected = World()
    connected.switch()
    connected.connect(ADELE)
    (subscription,) = connected.graph.subscriptions.values()
    assert subscription["clientState"].startswith("v1.w1."), "signed with the first key"
    cold = World(tables=FakeTables())  # another instance: nothing built, no storage, no secret
    cold.secrets.values.clear()

    messages = cold.app.webhooks.accept(notification_body(connected), NotificationKind.CHANGE)

    (message,) = [SyncMessage.parse(m) for m in messages]
    assert message.subscription_id == subscription["id"]
    assert all(table.reads == 0 for table in cold.tables.tables.values())
    assert cold.secrets.read == []
    assert "identity" not in vars(cold.app), "no MSAL client was built"
    # The worker, with storage, finds the mailbox and reads it.
    (text,) = messages
    assert connected.app.sync_worker.process(text) == "applied 0 in 1 round(s)"


def test_a_clientstate_we_did_not_sign_costs_no_storage_read(world):
    reads = subscription_reads(world)
    forged = ["v1.w1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA", "v1.nokey.a.b", "v1.", "v1.w1"]
    for client_state in forged:
        body = notification_body(world, clientState=client_state, subscriptionId=str(uuid4()))
        assert world.app.webhooks.accept(body, NotificationKind.CHANGE) == []
    assert subscription_reads(world) == reads


def test_a_post_of_a_thousand_strangers_costs_at_most_ten_storage_reads(world):
    reads = subscription_reads(world)
    legacy_looking = [
        {"subscriptionId": str(uuid4()), "clientState": uuid4().hex * 2, "changeType": "updated"}
        for _ in range(1000)
    ]
    body = json.dumps({"value": legacy_looking}).encode()
    assert world.app.webhooks.accept(body, NotificationKind.CHANGE) == []
    assert subscription_reads(world) - reads <= 10


def test_more_notifications_than_one_post_carries_are_refused_unread(world):
    reads = subscription_reads(world)
    items = [{"subscriptionId": str(uuid4()), "clientState": "x"} for _ in range(10_000)]
    with pytest.raises(TooLarge):
        world.app.webhooks.accept(json.dumps({"value": items}).encode(), NotificationKind.CHANGE)
    with pytest.raises(TooLarge):
        world.app.webhooks.accept(b" " * (1024 * 1024 + 1), NotificationKind.CHANGE)
    assert subscription_reads(world) == reads


def test_our_signed_clientstate_under_another_subscriptions_id_is_dropped_by_the_worker(world):
    world.connect(LYNNE)
    adele, lynne = world.graph.subscriptions.values()
    swapped = notification_body(world, subscriptionId=lynne["id"], clientState=adele["clientState"])
    (text,) = world.app.webhooks.accept(swapped, NotificationKind.CHANGE)
    assert world.app.sync_worker.process(text).startswith("dropped")


def test_notifications_with_an_unknown_subscription_or_a_wrong_client_state_are_dropped(world):
    accept = world.app.webhooks.accept
    assert accept(notification_body(world, clientState="guess"), NotificationKind.CHANGE) == []
    unknown = notification_body(world, subscriptionId="someone-elses")
    (text,) = accept(unknown, NotificationKind.CHANGE)  # signed: the worker looks it up
    assert world.app.sync_worker.process(text).startswith("dropped")
    assert len(accept(notification_body(world), NotificationKind.LIFECYCLE)) == 1


# --- subscriptions made before clientStates were signed, and key rotation ----------------------


def make_legacy(world: World) -> str:
    """Turn Adele's subscription into one from before signing: a random clientState, its hash."""
    (subscription,) = world.graph.subscriptions.values()
    secret = uuid4().hex + uuid4().hex
    subscription["clientState"] = secret
    stored = world.app.subscriptions.get(subscription["id"])
    assert stored is not None
    legacy = replace(stored, client_state_hash=client_state_hash(secret), client_state_key_id=None)
    world.app.subscriptions.put(legacy)
    return str(subscription["id"])


def test_a_subscription_from_before_signing_is_still_heard(world):
    make_legacy(world)
    cold = World(tables=world.tables)
    (text,) = cold.app.webhooks.accept(notification_body(world), NotificationKind.CHANGE)
    assert SyncMessage.parse(text).org_id == ORG
    assert cold.app.webhooks.accept(notification_body(world, clientState="x" * 64),
                                    NotificationKind.CHANGE) == []  # fmt: skip


def test_renewing_a_subscription_from_before_signing_replaces_it_with_a_signed_one(world):
    old_id = make_legacy(world)
    world.clock.advance(LIFETIME - RENEW_BEFORE)

    assert world.timer()[WorkKind.RENEW_SUBSCRIPTION] == {"re-signed": 1}

    (new,) = world.graph.subscriptions.values()
    assert new["id"] != old_id, "the old one is deleted in Graph"
    assert new["clientState"].startswith("v1.w1.")
    assert world.app.subscriptions.get(old_id) is None
    assert len(world.app.webhooks.accept(notification_body(world), NotificationKind.CHANGE)) == 1
    assert world.timer()[WorkKind.RENEW_SUBSCRIPTION] == {}, "the new one renews later"


def test_a_new_webhook_key_signs_new_subscriptions_and_old_ones_are_re_signed_at_renewal(world):
    old_body = notification_body(world)
    new_key = "w2:" + base64.b64encode(b"a-brand-new-key-for-webhooks-32b").decode()
    rotated = World(
        now=world.clock.now,
        tables=world.tables,
        graph=world.graph,
        settings={
            "WEBHOOK_CLIENT_STATE_KEYS": f"{new_key},{SETTINGS['WEBHOOK_CLIENT_STATE_KEYS']}"
        },
    )
    assert len(rotated.app.webhooks.accept(old_body, NotificationKind.CHANGE)) == 1, "still heard"
    rotated.clock.advance(LIFETIME - RENEW_BEFORE)
    world.clock.now = rotated.clock.now

    assert rotated.timer()[WorkKind.RENEW_SUBSCRIPTION] == {"re-signed": 1}

    (new,) = world.graph.subscriptions.values()
    assert new["clientState"].startswith("v1.w2.")


def subscription_reads(world: World) -> int:
    return world.tables.table(names.SUBSCRIPTIONS_TABLE).reads


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", ErrorCode.INVALID_JSON),
        (b'{"value": {}}', ErrorCode.INVALID_NOTIFICATION),
        (b'{"value": [1]}', ErrorCode.INVALID_NOTIFICATION),
        (b"[" * 100_000, ErrorCode.INVALID_JSON),
    ],
)
def test_a_webhook_body_that_is_not_graphs_shape_is_refused(world, body, code):
    with pytest.raises(InvalidRequest) as refused:
        world.app.webhooks.accept(body, NotificationKind.CHANGE)
    assert refused.value.code is code


def test_a_queue_message_no_retry_can_help_is_unreadable(world):
    for text in ("not json", "{}", json.dumps({"orgId": "o", "userId": "u"})):
        with pytest.raises(UnreadableMessage):
            world.app.sync_worker.process(text)


# --- Outlook edits come back ----------------------------------------------------------------------


def test_a_move_in_outlook_moves_the_conversation_and_tells_everyone_in_it(world):
    conversation = create(world)
    start = {"dateTime": "2026-12-08T14:00:00.0000000", "timeZone": "UTC"}
    end = {"dateTime": "2026-12-08T15:00:00.0000000", "timeZone": "UTC"}
    world.graph.edit(
        ADELE.upn, conversation.outlook.event_id, start=start, end=end, subject="Renamed in Outlook"
    )

    assert notified(world) == "applied 1 in 1 round(s)"

    moved = reread(world, conversation)
    assert (moved.start.day, moved.start.hour, moved.version) == (8, 14, 2)
    assert moved.title == "Weekly check-in", "the title never changes from Outlook"
    for person in (ADELE, ALEX):
        (change,) = world.feed(person)
        assert change["kind"] == "conversation_moved"
        assert change["start"] == "2026-12-08T14:00:00+00:00"
        assert (change["conversationId"], change["title"]) == (conversation.id, "Weekly check-in")
    assert world.feed(LYNNE) == []


def test_rsvps_and_people_added_in_outlook_are_reported_once(world):
    conversation = create(world)
    event_id = conversation.outlook.event_id
    world.graph.respond(ADELE.upn, event_id, ALEX.upn, "accepted")
    event = world.graph.events_of(ADELE.upn)[0]
    guest = {"emailAddress": {"address": "coach@northwind.test", "name": "Coach"}}
    world.graph.edit(ADELE.upn, event_id, attendees=[*event["attendees"], guest])

    notified(world)
    world.graph.edit(ADELE.upn, event_id, location={"displayName": "Room 2"})
    notified(world)

    kinds = [(c["kind"], c.get("email")) for c in world.feed(ADELE)]
    assert kinds == [
        ("rsvp", ALEX.upn),
        ("guest_added", "coach@northwind.test"),
        ("conversation_relocated", None),
    ]
    attendees = reread(world, conversation).attendees
    assert [(a.email, a.role, a.response) for a in attendees] == [
        (ALEX.upn, "attendee", "accepted"),
        ("coach@northwind.test", "guest", "none"),
    ]


def test_an_echo_of_our_own_write_changes_nothing_and_tells_nobody(world):
    conversation = create(world)
    assert notified(world) == "applied 0 in 1 round(s)"
    assert reread(world, conversation).version == 1
    assert world.feed(ADELE) == []


def test_a_meeting_deleted_in_outlook_cancels_the_conversation_which_goes_without_notes(world):
    kept, gone = create(world), create(world)
    world.app.conversations.add_record(ALEX.caller, kept.id, RecordKind.ACTION, "Follow up")
    for conversation in (kept, gone):
        world.graph.delete(ADELE.upn, conversation.outlook.event_id)

    notified(world)

    assert reread(world, kept).status == "cancelled"
    assert world.app.conversations.carrying_event(ORG, gone.outlook.event_id) is None
    assert world.table_rows(names.CONVERSATIONS_TABLE) == 1
    cancelled = [
        c["conversationId"] for c in world.feed(ALEX) if c["kind"] == "conversation_cancelled"
    ]
    assert cancelled == [kept.id, gone.id]
    notified(world)
    assert len(world.feed(ALEX)) == 2, "reported once"


def test_events_the_integration_did_not_create_are_never_touched(world):
    own = world.graph.add_event(ADELE.upn, "Dentist", "2026-12-07T11:00:00", "2026-12-07T12:00:00")
    world.graph.edit(ADELE.upn, own["id"], subject="Dentist (moved)")
    assert notified(world) == "applied 0 in 1 round(s)"
    assert world.table_rows(names.CONVERSATIONS_TABLE) == 0


# --- one worker per mailbox -----------------------------------------------------------------------


def test_a_notification_received_before_the_last_sync_started_is_already_covered(world):
    received = world.clock()
    world.clock.advance(timedelta(seconds=1))
    notified(world)
    message = SyncMessage(NotificationKind.CHANGE, ORG, ADELE.user_id, "s", received)
    world.graph.requests.clear()

    assert world.app.sync_worker.process(message.to_json()) == "covered"
    assert world.graph.requests == []


def test_while_a_worker_holds_the_mailbox_another_leaves_it_a_note_to_run_again(world):
    mailboxes = world.app.mailboxes
    held_by_another_worker(world)

    assert notified(world) == "left to the running sync"
    assert mailboxes.get(ORG, ADELE.user_id).state.dirty


def held_by_another_worker(world: World) -> None:
    """A worker took the mailbox's lease (and may die holding it)."""
    mailboxes = world.app.mailboxes
    found = mailboxes.get(ORG, ADELE.user_id)
    held = replace(found.state, locked_until=world.clock() + LEASE)
    mailboxes.put(ORG, ADELE.user_id, held, found.etag)


def another_worker_asks_again(world: World) -> None:
    """Another worker, finding the mailbox held, leaves its note to run again."""
    found = world.app.mailboxes.get(ORG, ADELE.user_id)
    world.app.mailboxes.put(ORG, ADELE.user_id, replace(found.state, dirty=True), found.etag)


def move_in_outlook(world: World, conversation: Conversation) -> None:
    world.graph.edit(
        ADELE.upn,
        conversation.outlook.event_id,
        start={"dateTime": "2026-12-07T14:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2026-12-07T14:30:00.0000000", "timeZone": "UTC"},
    )


def moved(world: World, conversation: Conversation) -> bool:
    return reread(world, conversation).start.hour == 14


def reads_due(world: World) -> list:
    return world.app.schedule.due(WorkKind.RESYNC_MAILBOX, world.clock() + timedelta(days=1), 10)


def test_a_graph_outage_leaves_the_read_to_the_timer_which_reads_once_graph_is_back(world):
    """Issue 13, finding 6: a valid notification is never given up for a Graph outage."""
    conversation = create(world)
    before = world.app.mailboxes.get(ORG, ADELE.user_id).state.delta_link
    move_in_outlook(world, conversation)
    world.graph.fail("GET", "me/calendarView/delta", 503, times=6)  # two reads, 3 tries each

    assert notified(world) == "read later (GraphError)", "handled: nothing for the poison queue"
    after = world.app.mailboxes.get(ORG, ADELE.user_id).state
    assert (after.locked_until, after.delta_link) == (None, before)
    (first,) = reads_due(world)
    assert first.due - world.clock() == timedelta(seconds=30)
    world.clock.now = first.due
    assert world.timer()[WorkKind.RESYNC_MAILBOX] == {"read later (GraphError)": 1}
    (second,) = reads_due(world)
    assert second.due - world.clock() == timedelta(seconds=60), "longer each time"
    world.clock.now = second.due

    assert world.timer()[WorkKind.RESYNC_MAILBOX] == {"applied 1 in 1 round(s)": 1}
    assert moved(world, conversation)
    assert reads_due(world) == []


def test_a_sign_in_that_is_unavailable_for_now_is_read_later_not_given_up(world):
    conversation = create(world)
    move_in_outlook(world, conversation)
    world.identity.refresh_failure = IdentityUnavailable("login.microsoftonline.com: 503")
    assert notified(world) == "read later (SignInUnavailable)"

    world.identity.refresh_failure = None
    world.clock.advance(timedelta(seconds=30))
    world.timer()

    assert moved(world, conversation)


def test_a_conflict_while_asking_for_another_round_still_lets_go_of_the_mailbox(world):
    """Issue 13, finding 4: other workers write "run again" while the holder ends its round, and
    once more while it takes the note. The holder must go on or let go, never leave the lease
    held, or every later notification is left to a sync that no longer runs."""
    conversation = create(world)
    table = world.tables.table(names.MAILBOX_SYNC_TABLE)

    def asks_and_asks_again() -> None:
        another_worker_asks_again(world)
        table.fail("replace", lambda: another_worker_asks_again(world))  # taking the note

    table.fail("replace", asks_and_asks_again, after=1)  # the holder's end of its round
    try:
        notified(world)
    except Exception:
        notified(world)  # as the queue would try the message again
    move_in_outlook(world, conversation)

    notified(world)

    assert moved(world, conversation)
    assert world.app.mailboxes.get(ORG, ADELE.user_id).state.locked_until is None


def test_a_note_left_for_a_holder_that_died_is_read_by_the_timer_once_its_lease_ran_out(world):
    conversation = create(world)
    held_by_another_worker(world)
    move_in_outlook(world, conversation)

    assert notified(world) == "left to the running sync"
    assert not moved(world, conversation)
    world.clock.advance(LEASE)
    world.timer()

    assert moved(world, conversation)


def test_a_burst_while_the_mailbox_is_held_leaves_one_note(world):
    held_by_another_worker(world)
    items = world.tables.table(names.SCHEDULE_TABLE)
    rows_before = len(items.rows())

    outcomes = {notified(world) for _ in range(50)}

    assert outcomes == {"left to the running sync"}
    assert len(items.rows()) == rows_before + 1


def test_a_round_taken_over_from_a_note_is_covered_if_that_round_dies(world):
    """The holder took the note (one more round) and then died: the timer reads instead."""
    conversation = create(world)
    table = world.tables.table(names.MAILBOX_SYNC_TABLE)

    def die() -> None:
        raise ProcessDied

    def the_next_round_dies() -> None:
        world.graph.on("GET", "me/calendarView/delta", before=die)

    table.fail("replace", lambda: another_worker_asks_again(world), after=1)  # round one ends
    world.graph.on("GET", "me/calendarView/delta", before=the_next_round_dies)
    with pytest.raises(ProcessDied):
        notified(world)
    move_in_outlook(world, conversation)

    world.clock.advance(LEASE)
    world.timer()

    assert moved(world, conversation)


# --- the subscription's lifecycle -----------------------------------------------------------------


def lifecycle(world: World, event: str, subscription_id: str | None = None) -> str:
    subscription_id = subscription_id or next(iter(world.graph.subscriptions))
    message = SyncMessage(
        NotificationKind.LIFECYCLE, ORG, ADELE.user_id, subscription_id, world.clock(), event
    )
    return world.app.sync_worker.process(message.to_json())


def test_lifecycle_notifications_reauthorize_recreate_or_read_again(world):
    assert lifecycle(world, "reauthorizationRequired") == "reauthorized"
    assert lifecycle(world, "missed").startswith("applied")
    (old,) = world.graph.subscriptions
    world.graph.subscriptions.clear()  # Graph removed it
    assert lifecycle(world, "subscriptionRemoved", subscription_id=old).startswith("applied")
    (new,) = world.graph.subscriptions
    assert new != old
    assert lifecycle(world, "somethingElse") == "ignored"
    assert lifecycle(world, "missed", subscription_id="unknown") == "unknown subscription"
