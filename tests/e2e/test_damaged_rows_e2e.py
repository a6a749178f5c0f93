"""A conversation row that cannot be read back, planted in Azurite as an older version could
have left it, breaks nobody's list, nobody's sync, and its organiser can delete it
(issue 13, finding 2). Poisoned input is refused before it is stored.
"""

from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import UpdateMode

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.host_app import HostApp
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.keys import table_key
from tests.e2e.stack_support import connect_both, eventually
from tests.e2e.test_connect_e2e import assert_problem

pytestmark = pytest.mark.e2e

DAY = (datetime.now(UTC) + timedelta(days=10)).date()
WINDOW = {"start": f"{DAY}T00:00:00", "end": f"{DAY + timedelta(days=1)}T00:00:00"}


@pytest.fixture
def app(host_app: HostApp) -> HostApp:
    connect_both(host_app)
    return host_app


def create(app: HostApp, title: str, hour: int) -> dict:
    body = {
        "type": "check_in",
        "title": title,
        "attendees": [{"email": EMPLOYEE_ALEX.mail, "userId": EMPLOYEE_ALEX.host_user_id}],
        "start": f"{DAY}T{hour:02d}:00:00",
        "end": f"{DAY}T{hour:02d}:30:00",
        "timeZone": "UTC",
    }
    created = app.call("POST", "conversations", MANAGER, json=body)
    assert created.status_code == 201, created.text
    conversation: dict = created.json()
    assert conversation["sync"]["state"] == "synced"
    return conversation


def plant(storage: StorageAccount, app: HostApp, conversation: dict, **properties) -> None:
    """Overwrite properties of the stored row directly, as no request of the API can."""
    storage.table(names.CONVERSATIONS_TABLE).update_entity(
        {
            "PartitionKey": table_key(app.org_id),
            "RowKey": table_key(conversation["id"]),
            **properties,
        },
        mode=UpdateMode.MERGE,
    )


def listed(app: HostApp, person=MANAGER) -> list[str]:
    answer = app.call("GET", "conversations", person, params=WINDOW)
    assert answer.status_code == 200, answer.text
    return [c["title"] for c in answer.json()["value"]]


DAMAGE = {
    # The storage SDK writes year 999 as "999-..." and cannot parse it back.
    "year 999": {"Start": datetime(999, 12, 8, 9, tzinfo=UTC)},
    "a weekday that does not exist": {
        "Recurrence": '{"pattern": {"type": "weekly", "daysOfWeek": ["monday"], '
        '"firstDayOfWeek": "funday", "interval": 1}, "range": {"type": "noEnd"}}'
    },
}


@pytest.mark.parametrize("how", DAMAGE)
def test_a_damaged_row_breaks_no_list_no_sync_and_its_organiser_deletes_it(
    app, storage, local_host, how
):
    healthy, broken = create(app, "Healthy", 9), create(app, "Broken", 11)
    plant(storage, app, broken, **DAMAGE[how])

    assert listed(app) == ["Healthy"]
    assert listed(app, EMPLOYEE_ALEX) == ["Healthy"]
    assert_problem(app.call("GET", f"conversations/{broken['id']}", MANAGER), 409, "unreadable")
    assert_problem(app.call("GET", f"conversations/{broken['id']}", EMPLOYEE_ALEX), 404)

    # Outlook changes both meetings: the damaged one is passed over, the other one follows.
    mailbox = f"mailboxes/{MANAGER.mail}/events"
    for conversation in (broken, healthy):
        app.control("PATCH", f"{mailbox}/{conversation['outlook']['eventId']}", location="Room 9")
    app.control("POST", "notifications/flush")

    def relocated() -> bool:
        answer = app.call("GET", f"conversations/{healthy['id']}", MANAGER).json()
        return answer["location"] == {"kind": "text", "text": "Room 9"}

    eventually(relocated, "the healthy conversation follows Outlook")
    assert local_host.wait_for("is unreadable")

    assert app.call("DELETE", f"conversations/{broken['id']}", MANAGER).status_code == 204
    events = {e["id"] for e in app.control("GET", mailbox)["value"]}
    assert broken["outlook"]["eventId"] not in events, "its Outlook meeting is cancelled"
    assert healthy["outlook"]["eventId"] in events
    assert_problem(app.call("GET", f"conversations/{broken['id']}", MANAGER), 404)
    assert listed(app) == ["Healthy"]


POISONED = {
    "a start before year 1000": {"start": "0999-06-01T09:00:00", "end": "0999-06-01T10:00:00"},
    "year 9999 behind UTC": {
        "start": "9999-12-30T20:00:00",
        "end": "9999-12-30T21:00:00",
        "timeZone": "America/New_York",
    },
    "firstDayOfWeek funday": {
        "recurrence": {
            "pattern": {"type": "weekly", "daysOfWeek": ["monday"], "firstDayOfWeek": "funday"},
            "range": {"type": "noEnd"},
        }
    },
    "dayOfMonth 32": {
        "recurrence": {
            "pattern": {"type": "absoluteMonthly", "dayOfMonth": 32},
            "range": {"type": "noEnd"},
        }
    },
    "month 13": {
        "recurrence": {
            "pattern": {"type": "absoluteYearly", "dayOfMonth": 1, "month": 13},
            "range": {"type": "noEnd"},
        }
    },
}


@pytest.mark.parametrize("how", POISONED)
def test_poisoned_input_is_refused_and_nothing_is_stored(app, how):
    body = {
        "type": "check_in",
        "title": "Poisoned",
        "attendees": [],
        "start": f"{DAY}T09:00:00",
        "end": f"{DAY}T09:30:00",
        "timeZone": "UTC",
        **POISONED[how],
    }
    answer = app.call("POST", "conversations", MANAGER, json=body)
    assert assert_problem(answer, 400)["code"] in ("invalid_time", "invalid_recurrence")
    assert listed(app) == []
    healthy = create(app, "Healthy", 9)
    times = {k: v for k, v in POISONED[how].items() if k in ("start", "end", "timeZone")}
    if times:  # the same through PATCH
        changed = app.call("PATCH", f"conversations/{healthy['id']}", MANAGER, json=times)
        assert assert_problem(changed, 400)["code"] == "invalid_time"
    assert listed(app) == ["Healthy"]
