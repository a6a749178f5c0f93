"""The maintenance timer does a bounded amount of each kind of work per run, oldest due first."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.storage.account import StorageAccount
from shared.storage.entities import EntityTable
from shared.sync import schedule as work
from shared.sync.maintenance import MaintenanceService
from shared.sync.schedule import WorkSchedule

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class RenewingSync:
    """Renews like the real service: the item due now goes, the next one is a week away."""

    def __init__(self, schedule: WorkSchedule, dues: dict[str, datetime]) -> None:
        self.renewed: list[str] = []
        self._schedule = schedule
        self._dues = dues

    def renew(self, subscription_id: str) -> str:
        self.renewed.append(subscription_id)
        self._schedule.remove(work.RENEW_SUBSCRIPTION, self._dues[subscription_id], subscription_id)
        self._schedule.add(work.RENEW_SUBSCRIPTION, NOW + timedelta(days=5), subscription_id)
        return "renewed"


@pytest.fixture
def schedule(storage: StorageAccount) -> WorkSchedule:
    name = "s" + uuid.uuid4().hex[:12]
    storage.table_service().create_table(name)
    return WorkSchedule(EntityTable(storage.table(name)))


def test_each_run_takes_at_most_a_batch_and_the_next_run_takes_the_rest(schedule):
    dues = {f"sub-{i}": NOW - timedelta(hours=3 - i) for i in range(3)}
    for key, due in dues.items():
        schedule.add(work.RENEW_SUBSCRIPTION, due, key)
    schedule.add(work.RENEW_SUBSCRIPTION, NOW + timedelta(hours=1), "not-yet")
    sync = RenewingSync(schedule, dues)
    maintenance = MaintenanceService(
        schedule=schedule, sync=sync, conversations=None, connections=None, changes=None,
        clock=lambda: NOW, batch=2,
    )  # type: ignore[arg-type]  # fmt: skip

    first = maintenance.run()
    assert first[work.RENEW_SUBSCRIPTION] == {"renewed": 2}
    assert sync.renewed == ["sub-0", "sub-1"]  # the most overdue first

    second = maintenance.run()
    assert second[work.RENEW_SUBSCRIPTION] == {"renewed": 1}
    assert sync.renewed == ["sub-0", "sub-1", "sub-2"]

    assert maintenance.run()[work.RENEW_SUBSCRIPTION] == {}
