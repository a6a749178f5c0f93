"""Issue 12, case 6: pending pushes that cannot proceed must not starve everyone else's.

The maintenance timer takes at most 200 pending pushes a run. A push that cannot proceed (its
organisation switched Outlook off, its organiser disconnected or past the reconnect date) used to
be put back under the same key, due at once, and so was taken first on every run: with 200 of
them, no other organisation's push ever ran. Now such a push waits parked, out of the due list,
and the due list gives every organisation its turn.
"""

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devtools.demo_directory import FABRIKAM_USER, MANAGER
from devtools.host_app import HostApp
from shared.storage import names
from shared.storage.account import StorageAccount
from tests.e2e.stack_support import run_maintenance

pytestmark = pytest.mark.e2e

STUCK = 201  # one more than the timer takes a run
DAY = (datetime.now(UTC) + timedelta(days=12)).date()


@pytest.fixture
def orgs(host_app: HostApp, storage: StorageAccount) -> Iterator[tuple[str, str]]:
    """Two organisations whose pending pushes the timer sees in this order (ids sort so)."""
    stuck, waiting = f"org-0-stuck-{uuid.uuid4().hex[:8]}", f"org-z-{uuid.uuid4().hex[:8]}"
    host_app.control("POST", "reset")
    yield stuck, waiting
    host_app.control("DELETE", "faults")
    schedule = storage.table(names.SCHEDULE_TABLE)
    for row in schedule.list_entities():
        if row.get("OrgId") in (stuck, waiting):  # later tests' timer runs must not meet them
            schedule.delete_entity(row["PartitionKey"], row["RowKey"])


def conversation(title: str) -> dict:
    return {
        "type": "check_in",
        "title": title,
        "attendees": [{"email": "guest@northwind.example"}],
        "start": f"{DAY}T09:00:00",
        "end": f"{DAY}T09:30:00",
        "timeZone": "UTC",
        "location": {"kind": "none"},
    }


def window() -> dict[str, str]:
    return {"start": f"{DAY}T00:00:00", "end": f"{DAY}T23:59:59", "timeZone": "UTC"}


def create_many(app: HostApp, org_id: str, count: int) -> None:
    token = app.token(MANAGER, org_id=org_id)

    def one(number: int) -> int:
        answer = requests.post(
            f"{app.base_url}/api/conversations",
            json=conversation(f"Check-in {number}"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert set(pool.map(one, range(count))) == {201}


def run_timer(app: HostApp, storage: StorageAccount) -> None:
    run_maintenance(app.base_url, storage, timeout=120)


def test_pushes_that_cannot_proceed_do_not_starve_another_organisations(
    host_app: HostApp, storage: StorageAccount, orgs
):
    stuck, waiting = orgs
    app = host_app
    down = {"path_prefix": "/v1.0/me/events", "status": 503, "method": "POST"}
    # Organisation one: its pushes fail while Graph is down, then it switches Outlook off.
    assert app.set_switches(MANAGER, allow=True, org_id=stuck).status_code == 200
    assert app.connect(MANAGER, org_id=stuck) == {"outlook": "connected"}
    app.control("POST", "faults", **down)
    create_many(app, stuck, STUCK)
    app.control("DELETE", "faults")
    assert app.set_switches(MANAGER, allow=False, org_id=stuck).status_code == 200
    # Organisation two: one push pending because Graph failed once; Graph is back.
    assert app.set_switches(FABRIKAM_USER, allow=True, org_id=waiting).status_code == 200
    assert app.connect(FABRIKAM_USER, org_id=waiting) == {"outlook": "connected"}
    app.control("POST", "faults", **down, count=1)
    made = app.call(
        "POST",
        "conversations",
        FABRIKAM_USER,
        org_id=waiting,
        json=conversation("Pradeep's check-in"),
    )
    assert made.json()["sync"]["state"] == "pending", made.text

    run_timer(app, storage)

    after = app.call("GET", f"conversations/{made.json()['id']}", FABRIKAM_USER, org_id=waiting)
    assert after.json()["sync"]["state"] == "synced"
    subjects = [
        e["subject"] for e in app.control("GET", f"mailboxes/{FABRIKAM_USER.mail}/events")["value"]
    ]
    assert subjects == ["Pradeep's check-in"]
    run_timer(app, storage)  # the stuck organisation's last two wait too
    stuck_one = app.call("GET", "conversations", MANAGER, org_id=stuck, params=window()).json()
    assert len(stuck_one["value"]) == STUCK
    assert {c["sync"]["error"] for c in stuck_one["value"]} == {"waiting: disabled"}
