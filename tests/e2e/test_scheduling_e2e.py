"""Scheduling end to end: availability, and conversations created, changed and cancelled in Outlook.

The local host runs the real app; the emulator plays Outlook (and the people using it).
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from azure.data.tables import UpdateMode

from devtools.demo_directory import (
    EMPLOYEE_ALEX,
    EMPLOYEE_LYNNE,
    EXTERNAL_ATTENDEE,
    MANAGER,
    NEVER_CONNECTS,
    ON_PREMISES_MAILBOX,
    Person,
)
from devtools.host_app import HostApp
from shared.schedule import WorkKind
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.keys import table_key as safe_key
from tests.e2e.stack_support import run_maintenance
from tests.e2e.test_connect_e2e import assert_problem

pytestmark = pytest.mark.e2e

# A Monday morning a few weeks ahead, in London.
DAY = (datetime.now(UTC) + timedelta(days=21)).date()
MONDAY = DAY - timedelta(days=DAY.weekday())


def local(hour: int, minute: int = 0, days: int = 0) -> str:
    return f"{MONDAY + timedelta(days=days)}T{hour:02d}:{minute:02d}:00"


def attendee(person: Person) -> dict:
    return {"email": person.mail, "name": person.display_name, "userId": person.host_user_id}


@pytest.fixture
def app(host_app: HostApp, storage: StorageAccount) -> Iterator[HostApp]:
    host_app.control("POST", "reset")
    assert host_app.set_switches(MANAGER, allow=True).status_code == 200
    for person in (MANAGER, EMPLOYEE_ALEX, EMPLOYEE_LYNNE):
        assert host_app.connect(person) == {"outlook": "connected"}
    yield host_app
    host_app.control("DELETE", "faults")
    # Pushes left pending (Graph throttled) would be done by a later test's timer run.
    schedule = storage.table(names.SCHEDULE_TABLE)
    for row in schedule.query_entities(f"PartitionKey eq '{WorkKind.PUSH_CONVERSATION}'"):
        if row.get("OrgId") == host_app.org_id:
            schedule.delete_entity(row["PartitionKey"], row["RowKey"])


def mailbox(app: HostApp, person: Person) -> list[dict]:
    return app.control("GET", f"mailboxes/{person.mail}/events")["value"]


def create(app: HostApp, organiser: Person = MANAGER, **overrides) -> dict:
    body = {
        "type": "check_in",
        "title": "Weekly check-in",
        "attendees": [attendee(EMPLOYEE_ALEX)],
        "start": local(9),
        "end": local(9, 30),
        "timeZone": "Europe/London",
        "location": {"kind": "teams"},
        **overrides,
    }
    answer = app.call("POST", "conversations", organiser, json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def fail_event_creates(app: HostApp, *, status: int, retry_after: int | None = None) -> None:
    """Graph refuses the next creates of an event (throttled or down)."""
    fault = {"path_prefix": "/v1.0/me/events", "status": status, "count": 10, "method": "POST"}
    if retry_after is not None:
        fault["retry_after"] = retry_after
    app.control("POST", "faults", **fault)


# --- availability ---------------------------------------------------------------------------


def availability(app: HostApp, caller: Person, attendees: list[str]):
    return app.call(
        "GET",
        "availability",
        caller,
        params={
            "start": local(0),
            "end": local(0, days=5),
            "timeZone": "Europe/London",
            "attendees": ",".join(attendees),
        },
    )


def test_availability_shows_own_titles_in_blue_and_attendees_busy_only_in_green(app):
    assert app.call("GET", "me/calendar", NEVER_CONNECTS).status_code == 200  # uses the app
    app.control(
        "POST",
        f"mailboxes/{MANAGER.mail}/events",
        subject="1:1 prep",
        start=local(10),
        end=local(11),
        timeZone="Europe/London",
    )
    app.control(
        "POST",
        f"mailboxes/{EMPLOYEE_ALEX.mail}/events",
        subject="Dentist",
        location="Clinic on High Street",
        start=local(14),
        end=local(15),
        timeZone="Europe/London",
    )
    app.control("PUT", f"mailboxes/{EMPLOYEE_LYNNE.mail}/sharing", free_busy="none")

    answer = availability(
        app,
        MANAGER,
        [
            EMPLOYEE_ALEX.host_user_id,
            EMPLOYEE_LYNNE.host_user_id,
            NEVER_CONNECTS.host_user_id,
            EXTERNAL_ATTENDEE.mail,
            ON_PREMISES_MAILBOX.mail,
            "u-never-seen",
        ],
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(e["title"], e["colour"]) for e in body["events"]] == [("1:1 prep", "blue")]
    by_attendee = {a["attendee"]: a for a in body["attendees"]}
    alex = by_attendee[EMPLOYEE_ALEX.host_user_id]
    assert alex["status"] == "ok"
    assert [(b["status"], b["colour"]) for b in alex["busy"]] == [("busy", "green")]
    assert set(alex["busy"][0]) == {"start", "end", "status", "colour"}
    assert "Dentist" not in answer.text
    assert "Clinic" not in answer.text
    expected = {
        EMPLOYEE_LYNNE.host_user_id: "sharing_none",
        NEVER_CONNECTS.host_user_id: "not_connected",
        EXTERNAL_ATTENDEE.mail: "not_found",
        ON_PREMISES_MAILBOX.mail: "mailbox_on_premises",
        "u-never-seen": "not_found",  # an id the app never met
    }
    assert by_attendee[NEVER_CONNECTS.host_user_id]["message"].startswith(
        f"{NEVER_CONNECTS.display_name} has not connected"
    ), "named by display name"
    for who, status in expected.items():
        assert by_attendee[who]["status"] == status, who
        assert by_attendee[who]["message"]
        assert by_attendee[who]["busy"] == []


def test_availability_needs_the_caller_connected(app):
    answer = availability(app, NEVER_CONNECTS, [EMPLOYEE_ALEX.host_user_id])
    assert_problem(answer, 409, "not_connected")


def test_availability_chunks_attendees_by_graphs_limit(app):
    addresses = [f"guest{i}@northwind.example" for i in range(45)]
    app.control("DELETE", "requests")
    answer = availability(app, MANAGER, addresses)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["attendees"]) == 45
    paths = [r["path"] for r in app.control("GET", "requests")["requests"] if r["area"] == "graph"]
    assert paths.count("/v1.0/me/calendar/getSchedule") == 3


def test_a_refused_getschedule_call_falls_back_to_one_call_per_attendee(app):
    guests = [f"guest{i}@northwind.example" for i in range(24)]
    app.control("POST", "faults", path_prefix="/v1.0/me/calendar/getSchedule", status=400, count=1)
    app.control("DELETE", "requests")

    answer = availability(app, MANAGER, [EMPLOYEE_ALEX.host_user_id, *guests])

    assert answer.status_code == 200, answer.text
    statuses = {a["attendee"]: a["status"] for a in answer.json()["attendees"]}
    assert statuses[EMPLOYEE_ALEX.host_user_id] == "ok"
    assert {statuses[g] for g in guests} == {"not_found"}
    paths = [r["path"] for r in app.control("GET", "requests")["requests"] if r["area"] == "graph"]
    assert paths.count("/v1.0/me/calendar/getSchedule") in (2 + 20, 2 + 5)  # the refused chunk


def test_when_getschedule_keeps_failing_attendees_show_as_unavailable_beside_own_events(app):
    app.control(
        "POST",
        f"mailboxes/{MANAGER.mail}/events",
        subject="Own planning",
        start=local(10),
        end=local(11),
        timeZone="Europe/London",
    )
    app.control(
        "POST",
        "faults",
        path_prefix="/v1.0/me/calendar/getSchedule",
        status=503,
        count=50,
        retry_after=30,
    )
    answer = availability(app, MANAGER, [EMPLOYEE_ALEX.host_user_id, EXTERNAL_ATTENDEE.mail])

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [e["title"] for e in body["events"]] == ["Own planning"]
    for attendee in body["attendees"]:
        assert attendee["status"] == "unavailable"
        assert "try again" in attendee["message"]
        assert attendee["busy"] == []


# --- conversations --------------------------------------------------------------------------


def test_a_conversation_becomes_an_outlook_meeting_with_teams(app):
    conversation = create(app)

    assert conversation["sync"] == {"state": "synced", "error": None}
    outlook = conversation["outlook"]
    assert outlook["eventId"]
    assert outlook["webLink"]
    assert outlook["teamsJoinUrl"].startswith("https://teams.microsoft.com/")
    (event,) = mailbox(app, MANAGER)
    assert event["id"] == outlook["eventId"]
    assert event["subject"] == "Weekly check-in"
    assert event["isOnlineMeeting"] is True
    assert "conversations/" + conversation["id"] in event["body"]["content"]
    (copy,) = mailbox(app, EMPLOYEE_ALEX)
    assert copy["iCalUId"] == event["iCalUId"]


def test_without_teams_the_location_is_plain_text(app):
    conversation = create(app, location={"kind": "text", "text": "Room 4.01"})
    assert conversation["outlook"]["teamsJoinUrl"] is None
    (event,) = mailbox(app, MANAGER)
    assert event["location"]["displayName"] == "Room 4.01"
    assert event["isOnlineMeeting"] is False


def test_a_weekly_recurrence_is_one_series_and_lists_each_occurrence(app):
    recurrence = {
        "pattern": {"type": "weekly", "daysOfWeek": ["monday"]},
        "range": {"type": "numbered", "numberOfOccurrences": 6},
    }
    conversation = create(app, type="mentoring_session", recurrence=recurrence)
    (series,) = mailbox(app, MANAGER)
    assert series["type"] == "seriesMaster"
    assert series["recurrence"]["pattern"]["daysOfWeek"] == ["monday"]

    listed = app.call(
        "GET",
        "conversations",
        EMPLOYEE_ALEX,
        params={"start": local(0), "end": local(0, days=21), "timeZone": "Europe/London"},
    )
    (found,) = [c for c in listed.json()["value"] if c["id"] == conversation["id"]]
    assert len(found["occurrences"]) == 3


def test_a_series_without_end_reaches_outlook_for_two_years_and_keeps_its_range(app):
    recurrence = {
        "pattern": {"type": "weekly", "daysOfWeek": ["monday"]},
        "range": {"type": "noEnd"},
    }
    conversation = create(app, recurrence=recurrence)
    assert conversation["sync"]["state"] == "synced"
    assert conversation["recurrence"]["range"]["type"] == "noEnd"
    (series,) = mailbox(app, MANAGER)
    span = series["recurrence"]["range"]
    assert span["type"] == "endDate"
    assert span["startDate"] == str(MONDAY)
    assert span["endDate"] == str(MONDAY + timedelta(days=2 * 365))


def test_a_retried_create_never_makes_a_second_outlook_event(app):
    body = {
        "type": "wellbeing",
        "title": "Wellbeing chat",
        "attendees": [attendee(EMPLOYEE_ALEX)],
        "start": local(11),
        "end": local(11, 30),
        "timeZone": "Europe/London",
    }
    headers = {"Idempotency-Key": "create-42"}
    first = app.call("POST", "conversations", MANAGER, json=body, headers=headers)
    again = app.call("POST", "conversations", MANAGER, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(mailbox(app, MANAGER)) == 1


def test_an_idempotency_key_reused_with_another_body_is_refused_and_creates_nothing(app):
    body = {
        "type": "wellbeing",
        "title": "Wellbeing chat",
        "attendees": [attendee(EMPLOYEE_ALEX)],
        "start": local(13),
        "end": local(13, 30),
        "timeZone": "Europe/London",
    }
    headers = {"Idempotency-Key": "create-43"}
    before = len(mailbox(app, MANAGER))
    first = app.call("POST", "conversations", MANAGER, json=body, headers=headers)
    moved = {**body, "start": local(14), "end": local(14, 30)}
    reused = app.call("POST", "conversations", MANAGER, json=moved, headers=headers)

    assert (first.status_code, reused.status_code) == (201, 422)
    assert reused.headers["Content-Type"].startswith("application/problem+json")
    assert reused.json()["code"] == "key_reused"
    assert len(mailbox(app, MANAGER)) == before + 1


def test_when_graph_fails_the_conversation_is_saved_pending_and_pushed_later(app):
    fail_event_creates(app, status=503, retry_after=30)
    conversation = create(app)
    assert conversation["sync"]["state"] == "pending"
    assert conversation["outlook"] is None
    assert mailbox(app, MANAGER) == []

    app.control("DELETE", "faults")
    moved = app.call(
        "PATCH",
        f"conversations/{conversation['id']}",
        MANAGER,
        json={"start": local(10), "end": local(10, 30), "timeZone": "Europe/London"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["sync"]["state"] == "synced"
    (event,) = mailbox(app, MANAGER)
    assert event["start"]["dateTime"].startswith(f"{MONDAY}T")
    # That the timer's retry for later went with it: tests/unit/test_conversations.py.


def event_posts(app: HostApp) -> list[dict]:
    log = app.control("GET", "requests")["requests"]
    return [r for r in log if (r["method"], r["path"]) == ("POST", "/v1.0/me/events")]


def run_timer(app: HostApp, storage: StorageAccount) -> None:
    run_maintenance(app.base_url, storage)


def test_a_throttled_create_answers_at_once_and_the_push_waits_for_retry_after(app):
    fail_event_creates(app, status=429, retry_after=5)
    app.control("DELETE", "requests")

    conversation = create(app)

    assert conversation["sync"]["state"] == "pending"
    assert conversation["outlook"] is None
    (post,) = event_posts(app)  # one attempt: the request never slept on Retry-After
    assert post["status"] == 429
    # When the timer tries again (Retry-After, rounded up): tests/unit/test_conversations.py.


def test_the_timer_does_not_push_before_retry_after_is_over(app, storage):
    fail_event_creates(app, status=429, retry_after=600)
    conversation = create(app, title="Throttled check-in")
    assert conversation["sync"]["state"] == "pending"
    app.control("DELETE", "faults")

    run_timer(
        app, storage
    )  # it may push other tests' conversations whose time has come, not this one

    read = app.call("GET", f"conversations/{conversation['id']}", MANAGER).json()
    assert read["sync"]["state"] == "pending"
    assert [e for e in mailbox(app, MANAGER) if e["subject"] == "Throttled check-in"] == []


def test_an_attendee_who_is_not_connected_is_invited_and_can_read_it(app):
    conversation = create(app, attendees=[attendee(NEVER_CONNECTS)])
    assert conversation["sync"]["state"] == "synced"
    read = app.call("GET", f"conversations/{conversation['id']}", NEVER_CONNECTS)
    assert read.status_code == 200
    assert read.json()["attendees"][0]["email"] == NEVER_CONNECTS.mail


def test_changing_time_and_location_moves_the_outlook_meeting_for_everyone(app):
    conversation = create(app)
    read = app.call("GET", f"conversations/{conversation['id']}", MANAGER)
    moved = app.call(
        "PATCH",
        f"conversations/{conversation['id']}",
        MANAGER,
        json={
            "start": local(15),
            "end": local(16),
            "timeZone": "Europe/London",
            "location": {"kind": "text", "text": "Garden"},
        },
        headers={"If-Match": read.headers["ETag"]},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["location"] == {"kind": "text", "text": "Garden"}
    for person in (MANAGER, EMPLOYEE_ALEX):
        (event,) = mailbox(app, person)
        assert event["location"]["displayName"] == "Garden"
        assert event["subject"] == "Weekly check-in"
    stale = app.call(
        "PATCH",
        f"conversations/{conversation['id']}",
        MANAGER,
        json={"location": {"kind": "none"}},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert_problem(stale, 412, "stale")


def test_cancelling_removes_the_meeting_and_the_conversation(app):
    conversation = create(app)
    assert app.call("DELETE", f"conversations/{conversation['id']}", MANAGER).status_code == 204
    assert mailbox(app, MANAGER) == []
    (copy,) = mailbox(app, EMPLOYEE_ALEX)
    assert copy["isCancelled"] is True
    assert_problem(app.call("GET", f"conversations/{conversation['id']}", MANAGER), 404)


def test_a_conversation_with_notes_is_kept_when_cancelled(app):
    conversation = create(app)
    note = app.call(
        "POST",
        f"conversations/{conversation['id']}/notes",
        EMPLOYEE_ALEX,
        json={"text": "Talked about goals"},
    )
    assert note.status_code == 201
    cancelled = app.call("DELETE", f"conversations/{conversation['id']}", MANAGER)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["notesCount"] == 1
    assert mailbox(app, MANAGER) == []


def test_only_the_organiser_changes_or_cancels_and_strangers_see_nothing(app):
    conversation = create(app)
    path = f"conversations/{conversation['id']}"
    assert app.call("GET", path, EMPLOYEE_ALEX).status_code == 200
    assert_problem(app.call("PATCH", path, EMPLOYEE_ALEX, json={"location": {"kind": "none"}}), 403)
    assert_problem(app.call("DELETE", path, EMPLOYEE_ALEX), 403, "organiser_only")
    assert_problem(app.call("GET", path, EMPLOYEE_LYNNE), 404)
    assert_problem(app.call("GET", path, MANAGER, org_id="org-other"), 404)


def test_conversations_created_before_the_organiser_connected_stay_out_of_outlook(app):
    conversation = create(app, organiser=NEVER_CONNECTS, attendees=[attendee(EMPLOYEE_ALEX)])
    assert conversation["sync"]["state"] == "not_synced"
    assert conversation["outlook"] is None
    assert mailbox(app, EMPLOYEE_ALEX) == []


def test_conversations_more_than_two_years_ahead_are_stored_but_not_listed(app):
    far = (datetime.now(UTC) + timedelta(days=800)).date()
    conversation = create(app, start=f"{far}T09:00:00", end=f"{far}T09:30:00")
    listed = app.call(
        "GET",
        "conversations",
        MANAGER,
        params={"start": f"{far}T00:00:00", "end": f"{far}T23:00:00"},
    )
    assert listed.json()["value"] == []
    assert app.call("GET", f"conversations/{conversation['id']}", MANAGER).status_code == 200


def test_attendee_responses_come_back_with_the_conversation(app):
    conversation = create(app)
    (copy,) = mailbox(app, EMPLOYEE_ALEX)
    app.control(
        "POST", f"mailboxes/{EMPLOYEE_ALEX.mail}/events/{copy['id']}/respond", response="accepted"
    )
    read = app.call("GET", f"conversations/{conversation['id']}", MANAGER).json()
    assert read["attendees"][0]["response"] == "accepted"


def test_the_timer_pushes_conversations_outlook_missed(app, storage):
    fail_event_creates(app, status=503)  # no Retry-After: the push is due at once
    day = (datetime.now(UTC) + timedelta(days=7)).date()
    created = app.call(
        "POST",
        "conversations",
        MANAGER,
        json={
            "type": "check_in",
            "title": "Pending one",
            "start": f"{day}T09:00:00",
            "end": f"{day}T09:30:00",
            "timeZone": "Europe/London",
            "attendees": [{"email": EMPLOYEE_ALEX.mail, "userId": EMPLOYEE_ALEX.host_user_id}],
        },
    )
    assert created.json()["sync"]["state"] == "pending"
    app.control("DELETE", "faults")

    run_timer(app, storage)

    read = app.call("GET", f"conversations/{created.json()['id']}", MANAGER).json()
    assert read["sync"]["state"] == "synced"
    assert read["outlook"]["eventId"]


# --- gaps: attendees without a UPN, foreign events, Teams, time, actions, strangers ---------

LONDON = ZoneInfo("Europe/London")


def in_utc(wall_clock: str) -> str:
    """A London wall-clock time as the UTC time the emulator's mailbox listing shows."""
    moment = datetime.fromisoformat(wall_clock).replace(tzinfo=LONDON).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def test_an_attendee_whose_account_has_no_user_principal_name_is_told_to_reconnect(app, storage):
    """`no_user_principal_name`: the app holds no address Outlook can look Alex up by (a row
    saved before addresses were kept). Following the advice, disconnecting and connecting again,
    stores his addresses from Microsoft's answer and his time shows."""
    app.control(
        "POST",
        f"mailboxes/{EMPLOYEE_ALEX.mail}/events",
        subject="Dentist",
        start=local(14),
        end=local(15),
        timeZone="Europe/London",
    )
    connections = storage.table(names.CONNECTIONS_TABLE)
    keys = (safe_key(app.org_id), safe_key(EMPLOYEE_ALEX.host_user_id))
    assert connections.get_entity(*keys)["UserPrincipalName"] == EMPLOYEE_ALEX.user_principal_name
    connections.update_entity(  # a row from before `mail` was kept, and without a UPN
        {"PartitionKey": keys[0], "RowKey": keys[1], "UserPrincipalName": "", "Mail": ""},
        mode=UpdateMode.MERGE,
    )
    assert connections.get_entity(*keys)["UserPrincipalName"] == ""
    asked = [EMPLOYEE_ALEX.host_user_id, EMPLOYEE_LYNNE.host_user_id]

    answer = availability(app, MANAGER, asked)

    assert answer.status_code == 200, answer.text
    by_attendee = {a["attendee"]: a for a in answer.json()["attendees"]}
    alex = by_attendee[EMPLOYEE_ALEX.host_user_id]
    assert alex["status"] == "no_user_principal_name"
    assert alex["message"].startswith(EMPLOYEE_ALEX.display_name)
    assert "no user principal name or email address" in alex["message"]
    assert "disconnect and reconnect" in alex["message"]
    assert alex["busy"] == []
    assert by_attendee[EMPLOYEE_LYNNE.host_user_id]["status"] == "ok"  # the others still show

    # Alex follows the advice: disconnect, then connect again through Microsoft's sign-in.
    assert app.call("DELETE", "me/calendar", EMPLOYEE_ALEX).status_code == 204
    back = app.sign_in(app.start_connect(EMPLOYEE_ALEX))
    completed = app.complete(EMPLOYEE_ALEX, back)
    assert completed.status_code == 200, completed.text
    assert completed.json()["outcome"] == "connected"

    answer = availability(app, MANAGER, asked)

    assert answer.status_code == 200, answer.text
    alex = {a["attendee"]: a for a in answer.json()["attendees"]}[EMPLOYEE_ALEX.host_user_id]
    assert alex["status"] == "ok", alex
    assert "message" not in alex
    assert [
        (datetime.fromisoformat(b["start"]), datetime.fromisoformat(b["end"]), b["status"])
        for b in alex["busy"]
    ] == [
        (
            datetime.fromisoformat(local(14)).replace(tzinfo=LONDON),
            datetime.fromisoformat(local(15)).replace(tzinfo=LONDON),
            "busy",
        )
    ]


def delivered(app: HostApp) -> int:
    """Notifications the emulator posted since its reset (once none is in flight)."""
    return len(app.control("POST", "notifications/flush")["delivered"])


def test_the_integration_never_changes_an_outlook_event_it_did_not_create(app, local_host, storage):
    seen = delivered(app)
    local_host.skip_log()
    # Same title and time as the conversation, organised by the same person, same attendee.
    foreign = app.control(
        "POST",
        f"mailboxes/{MANAGER.mail}/events",
        subject="Weekly check-in",
        start=local(9),
        end=local(9, 30),
        timeZone="Europe/London",
        location="Room 1",
        attendees=[{"email": EMPLOYEE_ALEX.mail, "name": EMPLOYEE_ALEX.display_name}],
    )
    (foreign_copy,) = mailbox(app, EMPLOYEE_ALEX)
    app.control("DELETE", "requests")

    conversation = create(app)
    path = f"conversations/{conversation['id']}"
    moved = app.call(
        "PATCH",
        path,
        MANAGER,
        json={
            "start": local(10),
            "end": local(10, 30),
            "timeZone": "Europe/London",
            "location": {"kind": "text", "text": "Garden"},
        },
    )
    assert moved.status_code == 200, moved.text
    assert app.call("DELETE", path, MANAGER).status_code == 204
    run_timer(app, storage)
    # Wait for the sync worker to have read every change Outlook notified meanwhile.
    for _ in range(delivered(app) - seen):
        local_host.wait_for("graph notification")

    own_id = conversation["outlook"]["eventId"]
    log = [(r["method"], unquote(r["path"])) for r in app.control("GET", "requests")["requests"]]
    assert ("PATCH", f"/v1.0/me/events/{own_id}") in log  # the check below looks at real writes
    assert ("POST", f"/v1.0/me/events/{own_id}/cancel") in log
    for foreign_id in (foreign["id"], foreign_copy["id"]):
        touching = [(m, p) for m, p in log if foreign_id in p]
        assert all(method == "GET" for method, _ in touching), touching
    assert mailbox(app, MANAGER) == [foreign]  # the conversation's meeting is gone
    assert [e for e in mailbox(app, EMPLOYEE_ALEX) if e["id"] == foreign_copy["id"]] == [
        foreign_copy
    ]


def test_a_conversation_created_before_the_organiser_connected_stays_out_of_outlook(app, storage):
    conversation = create(app, organiser=NEVER_CONNECTS, attendees=[attendee(EMPLOYEE_ALEX)])
    assert conversation["sync"]["state"] == "not_synced"
    assert app.connect(NEVER_CONNECTS) == {"outlook": "connected"}
    app.control("DELETE", "requests")

    path = f"conversations/{conversation['id']}"
    moved = app.call(
        "PATCH",
        path,
        NEVER_CONNECTS,
        json={"start": local(13), "end": local(13, 30), "timeZone": "Europe/London"},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["sync"]["state"] == "not_synced"
    run_timer(app, storage)

    read = app.call("GET", path, NEVER_CONNECTS).json()
    assert read["sync"] == {"state": "not_synced", "error": None}
    assert read["outlook"] is None
    assert read["start"] == datetime.fromisoformat(local(13)).replace(tzinfo=LONDON).isoformat()
    assert event_posts(app) == []
    assert mailbox(app, NEVER_CONNECTS) == []
    assert mailbox(app, EMPLOYEE_ALEX) == []


def test_teams_can_be_turned_on_and_off_again(app):
    conversation = create(app, location={"kind": "text", "text": "Room 4.01"})
    assert conversation["outlook"]["teamsJoinUrl"] is None
    path = f"conversations/{conversation['id']}"

    on = app.call("PATCH", path, MANAGER, json={"location": {"kind": "teams"}})

    assert on.status_code == 200, on.text
    assert on.json()["sync"]["state"] == "synced"
    assert on.json()["location"]["kind"] == "teams"
    join_url = on.json()["outlook"]["teamsJoinUrl"]
    assert join_url.startswith("https://teams.microsoft.com/")
    assert app.call("GET", path, EMPLOYEE_ALEX).json()["outlook"]["teamsJoinUrl"] == join_url
    (event,) = mailbox(app, MANAGER)
    assert event["isOnlineMeeting"] is True
    assert event["onlineMeeting"]["joinUrl"] == join_url
    (copy,) = mailbox(app, EMPLOYEE_ALEX)
    assert copy["isOnlineMeeting"] is True

    off = app.call("PATCH", path, MANAGER, json={"location": {"kind": "text", "text": "Garden"}})

    assert off.status_code == 200, off.text
    assert off.json()["sync"]["state"] == "synced"
    assert off.json()["location"] == {"kind": "text", "text": "Garden"}
    assert off.json()["outlook"]["teamsJoinUrl"] is None
    assert app.call("GET", path, EMPLOYEE_ALEX).json()["outlook"]["teamsJoinUrl"] is None
    # Graph keeps a meeting online once it is; the meeting's place is the new one for everyone.
    for person in (MANAGER, EMPLOYEE_ALEX):
        (event,) = mailbox(app, person)
        assert event["location"]["displayName"] == "Garden"


def test_a_new_time_moves_the_outlook_meeting_for_organiser_and_attendee(app):
    conversation = create(app)
    moved = app.call(
        "PATCH",
        f"conversations/{conversation['id']}",
        MANAGER,
        json={
            "start": local(14, 15, days=2),
            "end": local(15, days=2),
            "timeZone": "Europe/London",
        },
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["sync"]["state"] == "synced"
    for person in (MANAGER, EMPLOYEE_ALEX):
        (event,) = mailbox(app, person)
        assert event["start"]["dateTime"].startswith(in_utc(local(14, 15, days=2))), person.key
        assert event["end"]["dateTime"].startswith(in_utc(local(15, days=2))), person.key
        assert event["start"]["timeZone"] == "UTC"
        assert event["subject"] == "Weekly check-in"


def test_an_action_is_recorded_and_keeps_the_conversation_when_cancelled(app):
    conversation = create(app)
    path = f"conversations/{conversation['id']}"

    action = app.call("POST", f"{path}/actions", EMPLOYEE_ALEX, json={"text": "  Book a course "})

    assert action.status_code == 201, action.text
    record = action.json()
    assert record["text"] == "Book a course"
    assert record["authorId"] == EMPLOYEE_ALEX.host_user_id
    assert set(record) == {"id", "text", "authorId", "createdAt"}
    assert_problem(app.call("POST", f"{path}/actions", MANAGER, json={"text": " "}), 400)
    read = app.call("GET", path, MANAGER).json()
    assert (read["actionsCount"], read["notesCount"]) == (1, 0)

    cancelled = app.call("DELETE", path, MANAGER)

    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert (cancelled.json()["actionsCount"], cancelled.json()["notesCount"]) == (1, 0)
    assert mailbox(app, MANAGER) == []
    (copy,) = mailbox(app, EMPLOYEE_ALEX)
    assert copy["isCancelled"] is True
    kept = app.call("GET", path, EMPLOYEE_ALEX)
    assert kept.status_code == 200
    assert kept.json()["status"] == "cancelled"


def test_someone_neither_organiser_nor_attendee_cannot_add_notes_or_actions(app):
    conversation = create(app)
    path = f"conversations/{conversation['id']}"
    for kind in ("notes", "actions"):
        stranger = app.call("POST", f"{path}/{kind}", EMPLOYEE_LYNNE, json={"text": "Hello"})
        assert_problem(stranger, 404, "not_found")
        elsewhere = app.call(
            "POST", f"{path}/{kind}", MANAGER, org_id="org-other", json={"text": "Hello"}
        )
        assert_problem(elsewhere, 404)
    read = app.call("GET", path, MANAGER).json()
    assert (read["notesCount"], read["actionsCount"]) == (0, 0)
    # Nothing protects it: cancelling still removes it.
    assert app.call("DELETE", path, MANAGER).status_code == 204
