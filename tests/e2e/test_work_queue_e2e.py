"""Issue 15 through the local host: the timer hands out work, queue workers do it.

Renewals and pushes are done by the `do_maintenance_work` queue function, never by the timer; a
work item delivered twice does its work once; a tenant Graph throttles with Retry-After has its
work paused on every worker while another tenant's goes on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from devtools.demo_directory import CONTOSO, FABRIKAM, FABRIKAM_USER, MANAGER, Person
from devtools.host_app import HostApp
from shared.schedule import WorkKind, WorkSchedule
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.entities import EntityTable
from shared.sync.dispatch import WorkMessage
from tests.e2e.stack_support import eventually, run_maintenance, work_in_queue

pytestmark = pytest.mark.e2e
DAY = (datetime.now(UTC) + timedelta(days=9)).date()


@pytest.fixture
def two_orgs(host_app: HostApp, storage: StorageAccount) -> Iterator[tuple[str, str]]:
    """Contoso's manager and Fabrikam's user connected, each in a fresh organisation."""
    contoso, fabrikam = f"org-c-{uuid.uuid4().hex[:8]}", f"org-f-{uuid.uuid4().hex[:8]}"
    host_app.control("POST", "reset")
    for org_id, person in ((contoso, MANAGER), (fabrikam, FABRIKAM_USER)):
        assert host_app.set_switches(person, allow=True, org_id=org_id).status_code == 200
        assert host_app.connect(person, org_id=org_id) == {"outlook": "connected"}
    yield contoso, fabrikam
    host_app.control("DELETE", "faults")
    storage.queue(names.MAINTENANCE_WORK_QUEUE).clear_messages()
    schedule = storage.table(names.SCHEDULE_TABLE)
    for row in schedule.list_entities():
        if row.get("OrgId") in (contoso, fabrikam):  # later tests' timer runs must not meet them
            schedule.delete_entity(row["PartitionKey"], row["RowKey"])


def subscription_of(storage: StorageAccount, org_id: str, person: Person) -> str:
    row = storage.table(names.MAILBOX_SYNC_TABLE).get_entity(org_id, person.host_user_id)
    return str(row["SubscriptionId"])


def make_renewal_due(storage: StorageAccount, org_id: str, subscription_id: str) -> WorkMessage:
    """The subscription's renewal item, moved to a minute ago: its queue message."""
    table = storage.table(names.SCHEDULE_TABLE)
    for row in table.query_entities(f"PartitionKey eq '{WorkKind.RENEW_SUBSCRIPTION}'"):
        if row["Key"] == subscription_id:
            table.delete_entity(row["PartitionKey"], row["RowKey"])
    due = (datetime.now(UTC) - timedelta(minutes=1)).replace(microsecond=0)
    schedule = WorkSchedule(EntityTable(table))
    schedule.add(WorkKind.RENEW_SUBSCRIPTION, due, subscription_id, OrgId=org_id)
    (item,) = [i for i in schedule.due(WorkKind.RENEW_SUBSCRIPTION, due, 1000)
               if i.key == subscription_id]  # fmt: skip
    return WorkMessage.of(item)


def expiry(app: HostApp, subscription_id: str) -> str:
    live = {s["id"]: s for s in app.control("GET", "subscriptions")["value"]}
    return str(live[subscription_id]["expirationDateTime"])


def renewals_of(app: HostApp, subscription_id: str) -> int:
    return sum(
        1
        for r in app.control("GET", "requests")["requests"]
        if r["method"] == "PATCH" and r["path"].endswith(f"subscriptions/{subscription_id}")
    )


def test_renewals_and_pushes_are_done_by_queue_workers(host_app, local_host, storage, two_orgs):
    contoso, _ = two_orgs
    subscription_id = subscription_of(storage, contoso, MANAGER)
    before = expiry(host_app, subscription_id)
    make_renewal_due(storage, contoso, subscription_id)
    host_app.control("POST", "faults", path_prefix="/v1.0/me/events", status=503, method="POST")
    made = host_app.call("POST", "conversations", MANAGER, org_id=contoso, json={
        "type": "check_in", "title": "Queued check-in",
        "attendees": [{"email": "g@northwind.example"}],
        "start": f"{DAY}T09:00:00", "end": f"{DAY}T09:30:00", "timeZone": "UTC",
        "location": {"kind": "none"},
    })  # fmt: skip
    assert made.json()["sync"]["state"] == "pending", made.text
    host_app.control("DELETE", "faults")  # the push is due at once (no Retry-After)
    local_host.skip_log()

    run_maintenance(host_app.base_url, storage)

    assert expiry(host_app, subscription_id) > before
    after = host_app.call("GET", f"conversations/{made.json()['id']}", MANAGER, org_id=contoso)
    assert after.json()["sync"]["state"] == "synced"
    timer_line = local_host.wait_for("functions.sync INFO maintenance {")
    assert '"enqueued"' in timer_line, "the timer only hands work out"
    local_host.wait_for("work item")
    local_host.wait_for("Executed 'Functions.do_maintenance_work' (Succeeded")


def test_a_work_item_delivered_twice_does_its_work_once(host_app, local_host, storage, two_orgs):
    contoso, _ = two_orgs
    subscription_id = subscription_of(storage, contoso, MANAGER)
    message = make_renewal_due(storage, contoso, subscription_id)
    host_app.control("DELETE", "requests")
    local_host.skip_log()
    queue = storage.queue(names.MAINTENANCE_WORK_QUEUE)

    queue.send_message(message.to_json())
    queue.send_message(message.to_json())

    first = local_host.wait_for("work item")
    second = local_host.wait_for("work item")
    eventually(lambda: work_in_queue(storage) == 0, "both copies handled")
    assert renewals_of(host_app, subscription_id) == 1
    outcomes = {line.rsplit(": ", 1)[1].strip() for line in (first, second)}
    assert outcomes in ({"renewed", "not due any more"}, {"renewed", "taken by another worker"})


def test_a_tenant_throttled_with_retry_after_pauses_only_that_tenants_work(
    host_app, local_host, storage, two_orgs
):
    contoso, fabrikam = two_orgs
    throttled = subscription_of(storage, contoso, MANAGER)
    other = subscription_of(storage, fabrikam, FABRIKAM_USER)
    before = expiry(host_app, throttled)
    make_renewal_due(storage, contoso, throttled)
    make_renewal_due(storage, fabrikam, other)
    host_app.control("DELETE", "requests")
    host_app.control("POST", "faults", status=429, retry_after=300, tenant_id=CONTOSO.tenant_id)
    local_host.skip_log()

    timer = requests.post(f"{host_app.base_url}/admin/functions/maintenance", json={}, timeout=60)
    assert timer.status_code == 202

    local_host.wait_for("throttled: tenant paused")
    eventually(lambda: renewals_of(host_app, other) == 1, "Fabrikam's renewal done")
    assert expiry(host_app, throttled) == before, "Contoso's waits"
    paused = storage.table(names.SCHEDULE_TABLE).query_entities("PartitionKey eq 'tenant-paused'")
    assert [row["RowKey"] for row in paused] == [contoso]
    # Contoso's renewal (and any read of its mailbox) back in the queue, hidden till then
    assert work_in_queue(storage) >= 1
    local_host.skip_log()
    timer = requests.post(f"{host_app.base_url}/admin/functions/maintenance", json={}, timeout=60)
    line = local_host.wait_for("functions.sync INFO maintenance {")
    report = json.loads(line.split("maintenance ", 1)[1])
    assert "enqueued" not in report["renew-subscription"], "Contoso's is not sent again"
    assert renewals_of(host_app, throttled) == 1, "one attempt, then the whole tenant waited"
    assert FABRIKAM.tenant_id != CONTOSO.tenant_id
