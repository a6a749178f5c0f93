"""A stack the fault suite can break: the local host as a process it can kill and restart, Azurite
behind a proxy it can take down, and a Graph emulator that can fail, hold or drop answers, all on
one movable clock. Every test starts with an emulator at its seed and a fresh organisation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devtools.azurite import Azurite, AzuriteEndpoints
from devtools.clock import ClockFile
from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.graph_emulator.control_client import EmulatorControl
from devtools.graph_emulator.server import GraphEmulator
from devtools.host_app import HostApp
from devtools.stack import free_port
from shared.settings import StorageSettings
from shared.storage import names
from shared.storage.account import StorageAccount
from tests.conftest import app_settings
from tests.e2e.conftest import RunningHost, emulator_settings, start_local_host, stop_local_host
from tests.e2e.stack_support import eventually, run_maintenance
from tests.faults.storage_proxy import StorageProxy

QUEUE_MESSAGE_LEASE = 2  # seconds: a killed host's message is back this soon
WAIT = 60  # seconds: an upper bound on background work, never a delay


@dataclass
class FaultStack:
    tmp: Path
    azurite: AzuriteEndpoints
    proxy: StorageProxy
    emulator: GraphEmulator
    clock: ClockFile
    port: int
    storage: StorageAccount  # Azurite itself, not through the proxy: what the test looks at
    environ: dict[str, str] = field(default_factory=dict)
    host: RunningHost | None = None

    def start_host(self) -> None:
        args = ["--clock-file", str(self.clock.path),
                "--queue-message-lease", str(QUEUE_MESSAGE_LEASE)]  # fmt: skip
        self.host = start_local_host(self.environ, self.tmp, self.port, args)

    def kill_host(self) -> None:
        """SIGKILL: no cleanup, no finally blocks, as when a worker is lost."""
        assert self.host is not None
        self.host.process.kill()
        self.host.process.wait(timeout=30)
        self.host = None

    def restart_host(self) -> None:
        if self.host is not None:
            stop_local_host(self.host)
        self.start_host()

    def move_clock(self, delta: timedelta) -> None:
        self.clock.set_offset(self.clock.offset_seconds() + delta.total_seconds())

    def app(self) -> HostApp:
        return HostApp(
            f"http://127.0.0.1:{self.port}", self.emulator.base_url, self.emulator.ca_file,
            self.environ,
        )  # fmt: skip

    @property
    def control(self) -> EmulatorControl:
        return EmulatorControl(self.emulator.base_url, self.emulator.ca_file)

    def run_timer(self) -> None:
        """The maintenance timer, run through the host's admin endpoint (it answers once it has
        handed out the work), then its queue workers until the work queue is empty."""
        run_maintenance(f"http://127.0.0.1:{self.port}", self.storage, timeout=WAIT)

    def queued(self) -> int:
        """Messages in the notifications queue, hidden ones (being handled) included."""
        queue = self.storage.queue(names.GRAPH_NOTIFICATIONS_QUEUE)
        return queue.get_queue_properties().approximate_message_count

    def poisoned(self) -> list[str]:
        queue = self.storage.queue(names.GRAPH_NOTIFICATIONS_POISON_QUEUE)
        return [m.content for m in queue.peek_messages(max_messages=32)]

    def drain(self) -> None:
        """Until the emulator has delivered every notification and the queue is empty."""
        self.control.flush_notifications()
        eventually(lambda: self.queued() == 0, "the notifications queue drained", timeout=WAIT)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    """Storage of its own: no other test's host may take this stack's queue messages, nor this
    stack's timer the work other tests left."""
    tmp = tmp_path_factory.mktemp("faults")
    server = Azurite(in_memory=True)
    azurite = server.start()
    clock = ClockFile(tmp / "clock.json")
    emulator = GraphEmulator(state_dir=tmp / "emulator", port=0, clock_file=clock.path)
    emulator.start()
    proxy = StorageProxy(azurite)
    port = free_port()
    storage = StorageAccount(StorageSettings(connection_string=azurite.connection_string))
    storage.create_missing(names.TABLES, names.QUEUES)
    built = FaultStack(tmp, azurite, proxy, emulator, clock, port, storage)
    built.environ = app_settings(
        proxy.endpoints.connection_string, **emulator_settings(emulator, port)
    )
    built.start_host()
    yield built
    if built.host is not None:
        stop_local_host(built.host)
    proxy.stop()
    emulator.stop()
    server.stop()


@pytest.fixture
def app(stack: FaultStack) -> Iterator[HostApp]:
    """A fresh organisation whose manager (the organiser) and Alex are connected."""
    stack.proxy.up()
    stack.control.reset()
    # Every demo account free to link again, and no work left by an earlier test that failed.
    for name in (names.ACCOUNT_LINKS_TABLE, names.SCHEDULE_TABLE):
        table = stack.storage.table(name)
        for entity in table.list_entities():
            table.delete_entity(entity["PartitionKey"], entity["RowKey"])
    stack.storage.queue(names.GRAPH_NOTIFICATIONS_QUEUE).clear_messages()
    if stack.host is None or stack.host.process.poll() is not None:
        stack.start_host()
    app = stack.app()
    assert app.set_switches(MANAGER, allow=True).status_code == 200
    for person in (MANAGER, EMPLOYEE_ALEX):
        assert app.connect(person) == {"outlook": "connected"}
    stack.drain()
    stack.run_timer()  # the first reads of both mailboxes
    yield app
    stack.proxy.up()
    stack.control.release_answers()
    stack.control.clear_faults()


DAY = (datetime.now(UTC) + timedelta(days=14)).date()
