"""The timer's due list: by due time, fair across lanes, and work parked out of everyone's way."""

from datetime import UTC, datetime, timedelta

from shared.schedule import WorkKind, WorkSchedule
from shared.storage.keys import table_key
from tests.fakes import FakeEntityTable

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PUSH = WorkKind.PUSH_CONVERSATION


def schedule() -> tuple[WorkSchedule, FakeEntityTable]:
    table = FakeEntityTable("schedule")
    return WorkSchedule(table), table


def push(work: WorkSchedule, org: str, number: int, due: datetime = EPOCH) -> None:
    key = table_key(org, f"c{number:04}")
    work.add(PUSH, due, key, lane=org, OrgId=org, ConversationId=f"c{number:04}")


def orgs_of(items) -> list[str]:
    return [item.properties["OrgId"] for item in items]


def test_a_lane_with_a_long_backlog_does_not_hold_up_another():
    work, _ = schedule()
    for number in range(201):
        push(work, "org-a", number)
    push(work, "org-z", 0)

    taken = work.due(PUSH, NOW, 200)

    assert len(taken) == 200
    assert orgs_of(taken)[:4] == ["org-a", "org-z", "org-a", "org-a"]
    assert orgs_of(taken).count("org-z") == 1


def test_each_lane_gives_its_most_overdue_first_and_nothing_not_yet_due():
    work, _ = schedule()
    push(work, "org-a", 1, NOW - timedelta(minutes=1))
    push(work, "org-a", 2, NOW - timedelta(minutes=5))
    push(work, "org-a", 3, NOW + timedelta(minutes=1))

    assert [item.properties["ConversationId"] for item in work.due(PUSH, NOW, 10)] == [
        "c0002",
        "c0001",
    ]


def test_removing_a_laned_item_takes_it_off_the_list_and_an_empty_lane_goes():
    work, table = schedule()
    push(work, "org-a", 1)
    (item,) = work.due(PUSH, NOW, 10)
    assert item.lane == "org-a"

    work.remove(PUSH, item.due, item.key, lane=item.lane)

    assert work.due(PUSH, NOW, 10) == []
    assert table.rows() == [], "the lane left the lanes list with its last item"


def test_a_lane_whose_items_are_not_due_yet_stays():
    work, _ = schedule()
    push(work, "org-a", 1, NOW + timedelta(hours=1))

    assert work.due(PUSH, NOW, 10) == []
    assert work.due(PUSH, NOW + timedelta(hours=1), 10) != []


def test_with_more_lanes_than_a_run_takes_each_minute_starts_further_on():
    work, _ = schedule()
    for org in ("org-a", "org-b", "org-c"):
        push(work, org, 1)

    first = orgs_of(work.due(PUSH, NOW, 2))
    later = orgs_of(work.due(PUSH, NOW + timedelta(minutes=1), 2))

    assert len(first) == len(later) == 2
    assert set(first) | set(later) == {"org-a", "org-b", "org-c"}


def test_parked_work_is_not_due_until_resumed_by_its_holder_or_its_whole_lane():
    work, _ = schedule()
    work.park(PUSH, table_key("org-a", "c1"), lane="org-a", holder="adele", ConversationId="c1")
    work.park(PUSH, table_key("org-a", "c2"), lane="org-a", holder="alex", ConversationId="c2")
    work.park(PUSH, table_key("org-a", "c3"), lane="org-a", holder="alex|x", ConversationId="c3")
    assert work.due(PUSH, NOW, 10) == []

    assert work.resume(PUSH, EPOCH, lane="org-a", holder="alex", limit=10) == 1
    assert [i.properties["ConversationId"] for i in work.due(PUSH, NOW, 10)] == ["c2"]

    assert work.resume(PUSH, EPOCH, lane="org-a", holder=None, limit=1) == 1
    assert work.resume(PUSH, EPOCH, lane="org-a", holder=None, limit=10) == 1
    assert sorted(i.properties["ConversationId"] for i in work.due(PUSH, NOW, 10)) == [
        "c1",
        "c2",
        "c3",
    ]


def test_unparking_forgets_a_parked_item():
    work, table = schedule()
    key = table_key("org-a", "c1")
    work.park(PUSH, key, lane="org-a", holder="adele")
    work.unpark(PUSH, key, lane="org-a", holder="adele")

    assert work.resume(PUSH, EPOCH, lane="org-a", holder=None, limit=10) == 0
    assert table.rows() == []
