"""The maintenance timer through the local host: reconnect warnings, expiry, the changes feed.

The app's clock cannot be moved from outside, so each test dates the stored connection back (as
if it had been made months ago) and runs the timer on demand, as Azure's admin API does.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.host_app import HostApp
from shared.schedule import WorkKind as work
from shared.schedule import WorkSchedule
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.entities import EntityTable
from tests.e2e.stack_support import run_maintenance

pytestmark = pytest.mark.e2e
WARNING = timedelta(days=30)


@pytest.fixture
def app(host_app: HostApp, storage: StorageAccount) -> Iterator[HostApp]:
    assert host_app.set_switches(MANAGER, allow=True).status_code == 200
    assert host_app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}
    yield host_app
    host_app.call("DELETE", "me/calendar", EMPLOYEE_ALEX)


def run_timer(app: HostApp, storage: StorageAccount) -> None:
    run_maintenance(app.base_url, storage)


def date_connection_back(storage: StorageAccount, app: HostApp, reconnect_by: datetime) -> None:
    """Make the stored connection due at `reconnect_by`, with its reminder rescheduled to match."""
    connections = storage.table(names.CONNECTIONS_TABLE)
    entity = connections.get_entity(app.org_id, EMPLOYEE_ALEX.host_user_id)
    schedule = WorkSchedule(EntityTable(storage.table(names.SCHEDULE_TABLE)))
    key = f"{app.org_id}|{EMPLOYEE_ALEX.host_user_id}"
    schedule.remove(work.WARN_RECONNECT, entity["ReconnectBy"] - WARNING, key)
    entity["ReconnectBy"] = reconnect_by
    connections.update_entity(entity)
    schedule.add(
        work.WARN_RECONNECT,
        reconnect_by - WARNING,
        key,
        OrgId=app.org_id,
        UserId=EMPLOYEE_ALEX.host_user_id,
    )


def changes(app: HostApp, since: str | None = None) -> dict:
    params = {"since": since} if since else {}
    answer = app.call("GET", "me/changes", EMPLOYEE_ALEX, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_connection_near_its_reconnect_date_is_flagged_once(app, storage):
    date_connection_back(storage, app, datetime.now(UTC) + timedelta(days=10))

    run_timer(app, storage)
    run_timer(app, storage)

    status = app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()
    assert (status["status"], status["expiringSoon"]) == ("connected", True)
    feed = changes(app)
    assert [c["kind"] for c in feed["value"]] == ["connection_expiring_soon"]
    assert changes(app, feed["cursor"])["value"] == []


def test_a_connection_past_its_reconnect_date_must_be_reconnected(app, storage):
    date_connection_back(storage, app, datetime.now(UTC) - timedelta(minutes=1))

    run_timer(app, storage)  # warns, and schedules the expiry...
    run_timer(app, storage)  # ...which is due already

    status = app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()
    assert (status["status"], status["reason"]) == ("reconnect_required", "reconnect_due")
    kinds = [c["kind"] for c in changes(app)["value"]]
    assert kinds == ["connection_expiring_soon", "reconnect_required"]
    assert app.call("POST", "me/calendar/check", EMPLOYEE_ALEX).status_code == 409
    assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}
    assert app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()["status"] == "connected"
