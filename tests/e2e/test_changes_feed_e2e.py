"""The host app's change feed end to end: GET /api/me/changes?since= refuses what is not a cursor
it gave out; RSVPs and guests from Outlook reach the organiser's feed; guests added in Outlook get
no access to notes and actions. (Paging through the feed: tests/unit/test_change_feed.py.)

Outlook is the emulator, the app the local host; tests wait on events (Outlook.settle), never time.
"""

import pytest
import requests

from devtools.demo_directory import EMPLOYEE_ALEX, EMPLOYEE_LYNNE, MANAGER
from devtools.host_app import HostApp
from tests.e2e.test_two_way_sync_e2e import DAY, Outlook, create, organiser_event, outlook, read

pytestmark = pytest.mark.e2e

__all__ = ["outlook"]  # the fixture, reused from the two-way sync tests

GUEST_EMAIL = "coach@northwind.example"
MAX_PAGES = 10  # a feed that never ends fails the test instead of hanging it


def feed_page(app: HostApp, who=MANAGER, since: str | None = None) -> dict:
    answer = app.call("GET", "me/changes", who, params={"since": since} if since else {})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    return answer.json()


def whole_feed(app: HostApp, who=MANAGER) -> list[dict]:
    """Every change of the caller's feed, following the cursor until a page comes back empty."""
    changes, cursor = [], None
    for _ in range(MAX_PAGES):
        page = feed_page(app, who, cursor)
        if not page["value"]:
            assert page["cursor"] == cursor, "an empty page keeps the cursor where it was"
            ids = [c["id"] for c in changes]
            assert len(set(ids)) == len(ids), "each change once, by its id (nothing died here)"
            return changes
        changes += page["value"]
        assert page["cursor"] == page["value"][-1]["cursor"]
        assert cursor is None or page["cursor"] > cursor, "the cursor moves forward"
        cursor = page["cursor"]
    raise AssertionError(f"the feed never ended: {len(changes)} changes in {MAX_PAGES} pages")


def about(changes: list[dict], conversation: dict) -> list[dict]:
    return [c for c in changes if c.get("conversationId") == conversation["id"]]


def assert_problem(answer: requests.Response, *statuses: int) -> dict:
    assert answer.status_code in statuses, (answer.status_code, answer.text)
    assert answer.headers["Content-Type"].startswith("application/problem+json"), answer.headers
    body = answer.json()
    assert body["status"] == answer.status_code
    return body


# --- cursors (paging itself is proven on the feed's own unit tests) ----------------------------


@pytest.mark.parametrize(
    "since",
    [
        "not-a-cursor",
        "20240101T000000.000000Z",  # a time without the change's id
        "20240101T000000.000000Z|zz'or'1",
        "20241301T000000.000000Z|0123abcd",  # month 13
        "~",
        "x" * 300,
    ],
)
def test_a_malformed_cursor_is_a_bad_request(host_app: HostApp, since: str):
    answer = host_app.call("GET", "me/changes", MANAGER, params={"since": since})
    problem = assert_problem(answer, 400)
    assert problem["code"] == "invalid_cursor"


# --- RSVPs and guests from Outlook --------------------------------------------------------------


def with_lynne(outlook: Outlook) -> dict:
    return create(
        outlook,
        attendees=[
            {"email": EMPLOYEE_ALEX.mail, "userId": EMPLOYEE_ALEX.host_user_id},
            {"email": EMPLOYEE_LYNNE.mail, "userId": EMPLOYEE_LYNNE.host_user_id},
        ],
    )


def copy_of(outlook: Outlook, person, conversation: dict) -> str:
    subject = conversation["title"]
    (copy,) = [
        e
        for e in outlook.app.control("GET", f"mailboxes/{person.mail}/events")["value"]
        if e["subject"] == subject
    ]
    return copy["id"]


def respond(outlook: Outlook, person, conversation: dict, response: str) -> None:
    event_id = copy_of(outlook, person, conversation)
    outlook.act("POST", f"mailboxes/{person.mail}/events/{event_id}/respond", response=response)


def add_in_outlook(outlook: Outlook, conversation: dict, email: str, name: str) -> None:
    outlook.act(
        "POST",
        f"mailboxes/{MANAGER.mail}/events/{organiser_event(outlook, conversation)}/attendees",
        email=email,
        name=name,
    )


def test_rsvps_and_a_guest_from_outlook_reach_the_organisers_feed(outlook: Outlook):
    conversation = with_lynne(outlook)
    assert about(whole_feed(outlook.app), conversation) == []

    respond(outlook, EMPLOYEE_ALEX, conversation, "accepted")
    respond(outlook, EMPLOYEE_LYNNE, conversation, "declined")
    add_in_outlook(outlook, conversation, GUEST_EMAIL, "Coach")

    changes = about(whole_feed(outlook.app), conversation)
    assert [(c["kind"], c["email"]) for c in changes] == [
        ("rsvp", EMPLOYEE_ALEX.mail),
        ("rsvp", EMPLOYEE_LYNNE.mail),
        ("guest_added", GUEST_EMAIL),
    ]
    assert [c.get("response") for c in changes] == ["accepted", "declined", None]
    assert changes[2]["name"] == "Coach"
    assert {c["title"] for c in changes} == {conversation["title"]}
    # What the feed says is what the conversation shows.
    attendees = read(outlook, conversation).json()["attendees"]
    shown = {a["email"]: (a["role"], a["response"]) for a in attendees}
    assert shown[EMPLOYEE_ALEX.mail] == ("attendee", "accepted")
    assert shown[EMPLOYEE_LYNNE.mail] == ("attendee", "declined")
    assert shown[GUEST_EMAIL][0] == "guest"

    # Reported once: a later Outlook state with the same responses and guests adds none.
    end = whole_feed(outlook.app)[-1]["cursor"]
    event_path = f"mailboxes/{MANAGER.mail}/events/{organiser_event(outlook, conversation)}"
    outlook.act("PATCH", event_path, location="Room 2")
    later = about(feed_page(outlook.app, since=end)["value"], conversation)
    assert [c["kind"] for c in later] == ["conversation_relocated"]


def test_an_rsvp_is_reported_even_when_the_organiser_looked_before_the_notification(
    outlook: Outlook,
):
    """Reading the conversation shows fresh RSVPs from Outlook; that must not swallow the
    change the host app is told about when the notification is processed."""
    conversation = create(outlook)
    outlook.app.control("POST", "notifications/hold")
    event_id = copy_of(outlook, EMPLOYEE_ALEX, conversation)
    outlook.app.control(
        "POST", f"mailboxes/{EMPLOYEE_ALEX.mail}/events/{event_id}/respond", response="accepted"
    )
    seen = read(outlook, conversation, MANAGER).json()["attendees"][0]["response"]
    assert seen == "accepted", "the organiser sees the RSVP at once"

    outlook.app.control("POST", "notifications/release")
    outlook.settle()

    rsvps = [c for c in about(whole_feed(outlook.app), conversation) if c["kind"] == "rsvp"]
    assert [(c["email"], c["response"]) for c in rsvps] == [(EMPLOYEE_ALEX.mail, "accepted")]


# --- guests get no access to notes and actions --------------------------------------------------


def test_a_host_app_user_added_in_outlook_is_only_a_guest_without_access(outlook: Outlook):
    """Lynne is a host-app user of the same organisation, but the organiser added her in Outlook:
    she is recorded as a guest (by address, with no host-app user id), so her own token reaches
    neither the conversation nor its notes and actions, while an invited attendee's does."""
    conversation = create(outlook)
    add_in_outlook(outlook, conversation, EMPLOYEE_LYNNE.mail, EMPLOYEE_LYNNE.display_name)

    attendees = read(outlook, conversation, MANAGER).json()["attendees"]
    guest = next(a for a in attendees if a["email"] == EMPLOYEE_LYNNE.mail)
    assert (guest["role"], guest["userId"]) == ("guest", None)

    base = f"conversations/{conversation['id']}"
    assert_problem(outlook.app.call("GET", base, EMPLOYEE_LYNNE), 403, 404)
    for kind in ("notes", "actions"):
        refused = outlook.app.call("POST", f"{base}/{kind}", EMPLOYEE_LYNNE, json={"text": "Mine"})
        assert_problem(refused, 403, 404)
    window = {"start": f"{DAY}T00:00:00", "end": f"{DAY}T23:59:00", "timeZone": "UTC"}
    listed = outlook.app.call("GET", "conversations", EMPLOYEE_LYNNE, params=window)
    assert listed.status_code == 200, listed.text
    assert conversation["id"] not in [c["id"] for c in listed.json()["value"]]
    assert about(whole_feed(outlook.app, EMPLOYEE_LYNNE), conversation) == []

    # The invited attendee may; the guest's attempts left nothing behind.
    for kind in ("notes", "actions"):
        added = outlook.app.call("POST", f"{base}/{kind}", EMPLOYEE_ALEX, json={"text": "Ours"})
        assert added.status_code == 201, added.text
    after = read(outlook, conversation, MANAGER).json()
    assert (after["notesCount"], after["actionsCount"]) == (1, 1)
    assert_problem(outlook.app.call("GET", base, EMPLOYEE_LYNNE), 403, 404)


def test_a_guest_from_outlook_stays_a_guest_after_the_organiser_edits_the_conversation(
    outlook: Outlook,
):
    conversation = create(outlook)
    add_in_outlook(outlook, conversation, EMPLOYEE_LYNNE.mail, EMPLOYEE_LYNNE.display_name)
    moved = outlook.app.call(
        "PATCH",
        f"conversations/{conversation['id']}",
        MANAGER,
        json={"location": {"kind": "text", "text": "Room 2"}},
        headers={"If-Match": read(outlook, conversation, MANAGER).headers["ETag"]},
    )
    assert moved.status_code == 200, moved.text
    outlook.settle()

    attendees = read(outlook, conversation, MANAGER).json()["attendees"]
    roles = {a["email"]: (a["role"], a["userId"]) for a in attendees}
    assert roles[EMPLOYEE_LYNNE.mail] == ("guest", None)
    refused = outlook.app.call(
        "POST", f"conversations/{conversation['id']}/notes", EMPLOYEE_LYNNE, json={"text": "x"}
    )
    assert_problem(refused, 403, 404)
