"""`/me/calendarView/delta`: initial sync in pages, incremental rounds, removals, 410 resets."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from tests.emulator.sync_support import DAY, PREFER, Graph, event_body

pytestmark = pytest.mark.integration

WINDOW = {
    "startDateTime": f"{DAY - timedelta(days=1)}T00:00:00Z",
    "endDateTime": f"{DAY + timedelta(days=30)}T00:00:00Z",
}
REMOVED_KEYS = {"@odata.type", "id", "@removed"}


@pytest.fixture
def manager(identity, emulator, http) -> Graph:
    token = identity.sign_in(MANAGER.user_principal_name)[1]["access_token"]
    return Graph(http, emulator.graph_base_url, token)


def page(graph: Graph, url: str, size: int | None = None, params=None):
    headers = {"Prefer": f"{PREFER}, odata.maxpagesize={size}"} if size else None
    answer = graph.call("GET", url, headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer


def sync(graph: Graph, url: str = "/me/calendarView/delta", size: int | None = None):
    """Follow a round to its end: (items, deltaLink, pages)."""
    params = WINDOW if "?" not in url else None
    items, pages = [], 0
    while True:
        body = page(graph, url, size, params).json()
        pages += 1
        items.extend(body["value"])
        if "@odata.nextLink" in body:
            url, params = body["@odata.nextLink"], None
            continue
        return items, body["@odata.deltaLink"], pages


def test_the_initial_round_pages_through_the_window(manager):
    made = [manager.create_event(f"E{h}", hour=h)["id"] for h in (13, 9, 11, 10, 12)]
    manager.create_event("Far away", day=DAY + timedelta(days=90))

    first = page(manager, "/me/calendarView/delta", 2, WINDOW)
    body = first.json()
    assert "odata.maxpagesize=2" in first.headers["Preference-Applied"]
    assert "odata.track-changes" in first.headers["Preference-Applied"]
    assert body["@odata.context"].endswith("/$metadata#Collection(event)")
    assert len(body["value"]) == 2
    next_query = parse_qs(urlsplit(body["@odata.nextLink"]).query)
    assert set(next_query) == {"$skiptoken"}

    items, delta_link, pages = sync(manager, size=2)
    assert pages == 3
    assert [i["id"] for i in items] == [made[1], made[3], made[2], made[4], made[0]]
    assert set(parse_qs(urlsplit(delta_link).query)) == {"$deltatoken"}
    assert all(i["@odata.type"] == "#microsoft.graph.event" for i in items)
    assert all(i["@odata.etag"] == f'W/"{i["changeKey"]}"' for i in items)
    assert all("subject" in i and "start" in i for i in items)


def test_a_round_with_no_changes_is_empty(manager):
    manager.create_event("Steady")
    _, delta_link, _ = sync(manager)

    items, again, _ = sync(manager, delta_link)

    assert items == []
    assert again.startswith(manager.base + "/me/calendarView/delta?$deltatoken=")


def test_the_next_round_has_only_what_changed(manager):
    keep = manager.create_event("Keep", hour=8)
    edit = manager.create_event("Edit", hour=9)
    drop = manager.create_event("Drop", hour=10)
    leave = manager.create_event("Leave", hour=11)
    _, delta_link, _ = sync(manager)

    new = manager.create_event("New", hour=12)
    manager.call("PATCH", f"/me/events/{edit['id']}", {"subject": "Edited"})
    manager.call("DELETE", f"/me/events/{drop['id']}")
    far = f"{DAY + timedelta(days=60)}T09:00:00"
    manager.call(
        "PATCH",
        f"/me/events/{leave['id']}",
        {
            "start": {"dateTime": far, "timeZone": "UTC"},
            "end": {"dateTime": far.replace("09:00", "10:00"), "timeZone": "UTC"},
        },
    )
    outside = manager.create_event("Outside", day=DAY + timedelta(days=90))

    items, _, _ = sync(manager, delta_link)

    by_id = {i["id"]: i for i in items}
    assert keep["id"] not in by_id
    assert by_id[new["id"]]["subject"] == "New"
    assert by_id[edit["id"]]["subject"] == "Edited"
    for gone in (drop["id"], leave["id"], outside["id"]):
        assert set(by_id[gone]) == REMOVED_KEYS
        assert by_id[gone]["@removed"] == {"reason": "deleted"}
        assert by_id[gone]["@odata.type"] == "#microsoft.graph.event"
    assert len(items) == 5


def test_changes_made_in_outlook_show_up(manager, emulator, http):
    _, delta_link, _ = sync(manager)
    made = http.post(
        f"{emulator.base_url}/_emulator/mailboxes/{MANAGER.mail}/events",
        json={"subject": "Gym", "start": f"{DAY}T18:00:00", "end": f"{DAY}T19:00:00"},
        timeout=10,
    ).json()

    items, _, _ = sync(manager, delta_link)

    assert [(i["id"], i["subject"]) for i in items] == [(made["id"], "Gym")]


REDUCED_KEYS = {"@odata.type", "@odata.etag", "id", "seriesMasterId", "type", "start", "end"}


def weekly(manager: Graph, subject: str = "Weekly", first=DAY, count: int = 3) -> dict:
    return manager.create_event(
        subject,
        day=first,
        recurrence={
            "pattern": {
                "type": "weekly",
                "interval": 1,
                "daysOfWeek": [first.strftime("%A").lower()],
            },
            "range": {"type": "numbered", "startDate": str(first), "numberOfOccurrences": count},
        },
    )


def test_a_series_is_its_master_whole_and_its_occurrences_reduced(manager):
    series = weekly(manager)

    items, delta_link, _ = sync(manager)

    master, *occurrences = items
    assert (master["id"], master["type"], master["subject"]) == (
        series["id"],
        "seriesMaster",
        "Weekly",
    )
    assert [o["type"] for o in occurrences] == ["occurrence"] * 3
    assert all(set(o) == REDUCED_KEYS for o in occurrences), "no subject, location, attendees"
    assert {o["seriesMasterId"] for o in occurrences} == {series["id"]}

    renamed = manager.call("PATCH", f"/me/events/{series['id']}", {"subject": "Weekly sync"})
    assert renamed.status_code == 200, renamed.text
    changed, delta_link, _ = sync(manager, delta_link)
    assert [i["id"] for i in changed] == [i["id"] for i in items]
    assert changed[0]["subject"] == "Weekly sync"

    assert manager.call("DELETE", f"/me/events/{series['id']}").status_code == 204
    removed, _, _ = sync(manager, delta_link)
    assert removed == [
        {
            "@odata.type": "#microsoft.graph.event",
            "id": series["id"],
            "@removed": {"reason": "deleted"},
        }
    ], "the occurrences get no indication"


def test_one_occurrence_moved_or_cancelled_lists_the_series_again_without_removals(manager):
    series = weekly(manager)
    items, delta_link, _ = sync(manager)
    first, second, third = (i["id"] for i in items[1:])

    moved = manager.call("PATCH", f"/me/events/{second}", event_body("ignored", hour=15))
    moved_body = moved.json()
    assert moved.status_code == 200, moved.text
    assert (moved_body["id"], moved_body["type"]) == (second, "exception")
    assert manager.call("POST", f"/me/events/{third}/cancel", {}).status_code == 202

    changed, _, _ = sync(manager, delta_link)

    assert [i["id"] for i in changed] == [series["id"], first, second]
    assert "@removed" not in str(changed), "a cancelled occurrence is only missing"
    exception = changed[2]
    assert (exception["type"], exception["start"]["dateTime"][11:16]) == ("exception", "15:00")
    assert exception["seriesMasterId"] == series["id"]


def test_a_series_whose_master_lies_before_the_window_comes_as_removed_when_it_changes(manager):
    series = weekly(manager, first=DAY - timedelta(days=7), count=4)  # starts before the window
    items, delta_link, _ = sync(manager)
    assert series["id"] not in [i["id"] for i in items], "the master is outside the window"
    assert [i["type"] for i in items] == ["occurrence"] * 3

    manager.call("PATCH", f"/me/events/{series['id']}", {"location": {"displayName": "Room 2"}})
    changed, _, _ = sync(manager, delta_link)

    assert changed[0] == {
        "@odata.type": "#microsoft.graph.event",
        "id": series["id"],
        "@removed": {"reason": "deleted"},
    }
    assert [i["type"] for i in changed[1:]] == ["occurrence"] * 3
    assert manager.call("GET", f"/me/events/{series['id']}").status_code == 200, "still there"


def test_an_event_edited_or_answered_before_the_window_comes_as_removed(manager, control):
    past = manager.create_event("Last week", day=DAY - timedelta(days=10))
    _, delta_link, _ = sync(manager)

    manager.call("PATCH", f"/me/events/{past['id']}", {"location": {"displayName": "Notes"}})
    changed, _, _ = sync(manager, delta_link)

    assert changed == [
        {
            "@odata.type": "#microsoft.graph.event",
            "id": past["id"],
            "@removed": {"reason": "deleted"},
        }
    ]


def test_invalidated_tokens_answer_410_and_point_at_a_fresh_start(manager, control):
    for hour in (9, 10, 11):
        manager.create_event(f"E{hour}", hour=hour)
    _, delta_link, _ = sync(manager)
    half_way = page(manager, "/me/calendarView/delta", 1, WINDOW).json()["@odata.nextLink"]

    control.invalidate_delta_tokens(MANAGER.user_principal_name)

    for url in (delta_link, half_way):
        gone = manager.call("GET", url)
        assert gone.status_code == 410
        error = gone.json()["error"]
        assert error["code"] == "SyncStateNotFound"
        assert error["message"].startswith("The sync state generation is not found")
        assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    restart = manager.call("GET", delta_link).headers["Location"]
    assert restart.startswith(manager.base + "/me/calendarView/delta?startDateTime=")
    assert restart.endswith("&$deltatoken=")

    items, fresh, _ = sync(manager)  # starting over works
    assert len(items) == 3
    assert page(manager, fresh).status_code == 200


def test_invalidating_everything_and_resetting_also_answer_410(manager, control):
    _, delta_link, _ = sync(manager)
    control.invalidate_delta_tokens()
    assert manager.call("GET", delta_link).status_code == 410

    _, delta_link, _ = sync(manager)
    control.reset()
    assert manager.call("GET", delta_link).status_code == 410


def test_a_window_is_required_and_tokens_belong_to_their_mailbox(manager, identity, emulator, http):
    missing = manager.call("GET", "/me/calendarView/delta")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "ErrorInvalidParameter"

    _, delta_link, _ = sync(manager)
    alex = Graph(
        http,
        emulator.graph_base_url,
        identity.sign_in(EMPLOYEE_ALEX.user_principal_name)[1]["access_token"],
    )
    stolen = alex.call("GET", delta_link)
    assert stolen.status_code == 400
    assert stolen.json()["error"]["code"] == "ErrorInvalidUrlQuery"


def test_users_id_works_like_me(manager):
    manager.create_event("Mine")
    items, delta_link, _ = sync(manager, f"/users/{MANAGER.object_id}/calendarView/delta")
    assert len(items) == 1
    assert f"/users/{MANAGER.object_id}/calendarView/delta?$deltatoken=" in delta_link
