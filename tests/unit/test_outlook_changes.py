from datetime import UTC, datetime

from shared.conversations.model import (
    CancelledInOutlook,
    Conversation,
    ConversationStatus,
    GuestAdded,
    Location,
    LocationKind,
    Moved,
    OutlookEvent,
    Participant,
    ParticipantRole,
    Relocated,
    Responded,
    with_edit,
)
from shared.sync.outlook_changes import outlook_edit

KNOWN = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CONVERSATION = Conversation(
    id="c1",
    org_id="org",
    type="check_in",
    title="Weekly check-in",
    organiser_id="u-manager",
    organiser_email="adele@contoso.com",
    attendees=(Participant("alex@contoso.com", "Alex", "u-alex"),),
    start=datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
    end=datetime(2026, 12, 7, 9, 30, tzinfo=UTC),
    time_zone="Europe/London",
    location=Location(LocationKind.TEXT, "Room 1"),
    outlook=OutlookEvent("ev1", last_modified=KNOWN, change_key="ck1"),
)


class Applied:
    """An Outlook state's edit, and the conversation after it."""

    def __init__(self, conversation: Conversation, event: dict) -> None:
        edit = outlook_edit(conversation, event)
        assert edit is not None, "the event changes nothing"
        self.changes = list(edit.changes)
        self.conversation = with_edit(conversation, edit)


def apply_event(conversation: Conversation, event: dict) -> Applied | None:
    return Applied(conversation, event) if outlook_edit(conversation, event) else None


def event(**overrides) -> dict:
    base = {
        "id": "ev1",
        "type": "singleInstance",
        "subject": "Renamed in Outlook",
        "start": {"dateTime": "2026-12-07T09:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-07T09:30:00.0000000", "timeZone": "UTC"},
        "location": {"displayName": "Room 1"},
        "isOnlineMeeting": False,
        "attendees": [
            {"emailAddress": {"address": "alex@contoso.com"}, "status": {"response": "none"}}
        ],
        "lastModifiedDateTime": "2026-12-02T10:00:00.1234567Z",
        "changeKey": "ck2",
    }
    return {**base, **overrides}


def test_a_move_in_outlook_moves_the_conversation_but_never_renames_it():
    moved = event(
        start={"dateTime": "2026-12-08T14:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "2026-12-08T15:00:00.0000000", "timeZone": "UTC"},
    )
    applied = apply_event(CONVERSATION, moved)
    assert applied.conversation.start == datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
    assert applied.conversation.title == "Weekly check-in"
    assert applied.conversation.version == CONVERSATION.version + 1
    assert applied.changes == [
        Moved(datetime(2026, 12, 8, 14, 0, tzinfo=UTC), datetime(2026, 12, 8, 15, 0, tzinfo=UTC))
    ]


def test_a_new_location_or_teams_follows_outlook():
    applied = apply_event(CONVERSATION, event(location={"displayName": "Cafe"}))
    assert applied.conversation.location == Location(LocationKind.TEXT, "Cafe")
    assert applied.changes == [Relocated(Location(LocationKind.TEXT, "Cafe"))]
    teams = apply_event(CONVERSATION, event(isOnlineMeeting=True, location={"displayName": ""}))
    assert teams.conversation.location.kind is LocationKind.TEAMS


def test_a_room_chosen_after_teams_is_kept_though_outlook_keeps_the_meeting_online():
    # Graph ignores isOnlineMeeting false once a meeting is online.
    applied = apply_event(
        CONVERSATION, event(isOnlineMeeting=True, location={"displayName": "Cafe"})
    )
    assert applied.conversation.location == Location(LocationKind.TEXT, "Cafe")
    teams = apply_event(
        CONVERSATION,
        event(isOnlineMeeting=True, location={"displayName": "Microsoft Teams Meeting"}),
    )
    assert teams.conversation.location.kind is LocationKind.TEAMS


def test_an_echo_of_our_own_write_or_an_older_state_changes_nothing():
    same_time = event(lastModifiedDateTime="2026-12-01T08:00:00Z", location={"displayName": "X"})
    assert apply_event(CONVERSATION, same_time) is None
    older = event(lastModifiedDateTime="2026-11-30T08:00:00Z", location={"displayName": "X"})
    assert apply_event(CONVERSATION, older) is None


def test_responses_become_rsvps_and_people_added_in_outlook_become_guests():
    answered = event(
        attendees=[
            {"emailAddress": {"address": "Alex@Contoso.com"}, "status": {"response": "accepted"}},
            {"emailAddress": {"address": "adele@contoso.com"}, "status": {"response": "organizer"}},
            {
                "emailAddress": {"address": "coach@northwind.example", "name": "Coach"},
                "status": {"response": "none"},
            },
        ]
    )
    applied = apply_event(CONVERSATION, answered)
    alex, guest = applied.conversation.attendees
    assert alex.response == "accepted"
    assert (guest.email, guest.role, guest.user_id) == (
        "coach@northwind.example",
        ParticipantRole.GUEST,
        None,
    )
    assert applied.changes == [Responded("alex@contoso.com", "accepted"), GuestAdded(guest)]
    assert applied.conversation.version == CONVERSATION.version, "RSVPs are not a user edit"


def test_only_state_newer_than_the_last_applied_one_counts_after_an_update():
    first = apply_event(CONVERSATION, event(location={"displayName": "Cafe"}))
    replayed = apply_event(first.conversation, event(location={"displayName": "Cafe"}))
    assert replayed is None
    stale = apply_event(
        first.conversation,
        event(location={"displayName": "Old"}, lastModifiedDateTime="2026-12-02T09:00:00Z"),
    )
    assert stale is None


def test_a_cancellation_in_outlook_cancels_the_conversation_once():
    removed = event(isCancelled=True)
    applied = apply_event(CONVERSATION, removed)
    assert applied.changes == [CancelledInOutlook()]
    assert applied.conversation.status is ConversationStatus.CANCELLED
    assert applied.conversation.version == CONVERSATION.version + 1
    assert apply_event(applied.conversation, removed) is None, "already cancelled"
    assert outlook_edit(CONVERSATION, event()).changes == (), "only the newer change key"


def test_a_delta_removal_alone_is_no_cancellation():
    # "@removed" only says "not in this view": the sync worker reads the event by id first.
    assert outlook_edit(CONVERSATION, {"@removed": {"reason": "deleted"}, "id": "ev1"}) is None


def test_a_newer_state_with_no_change_is_remembered_but_reports_nothing():
    edit = outlook_edit(CONVERSATION, event())
    assert edit.changes == ()
    assert edit.seen.change_key == "ck2"
    assert edit.seen.last_modified == datetime(2026, 12, 2, 10, 0, 0, 123456, tzinfo=UTC)


def test_a_move_in_outlook_to_a_time_the_app_cannot_keep_is_not_taken():
    far = event(
        start={"dateTime": "9999-12-31T20:00:00.0000000", "timeZone": "UTC"},
        end={"dateTime": "9999-12-31T21:00:00.0000000", "timeZone": "UTC"},
        location={"displayName": "Room 2"},
        lastModifiedDateTime="2026-12-02T08:00:00Z",
    )
    applied = Applied(CONVERSATION, far)
    assert not [c for c in applied.changes if isinstance(c, Moved)]
    assert (applied.conversation.start, applied.conversation.location.text) == (
        CONVERSATION.start,
        "Room 2",
    )
