"""The function app in this process, against the Graph emulator (its tables in memory, or in
Azurite), with its queue and timer run by the caller: what the sync model drives.

The app's HTTP functions are served as the local host serves them (its catalogue and WSGI app),
so the emulator's webhooks and the host app's calls go through the real functions. What the
webhook queues, and the work items the timer hands out, are kept here instead of in storage
queues, and `drain()` hands each message to the real queue function in the order (and as many
times) the model chooses: no thread takes a message behind the model's back, and nothing waits
on time.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azure.functions.queue import QueueMessage
from azure.functions.timer import TimerRequest
from werkzeug.serving import make_server

from devtools.azurite import Azurite
from devtools.clock import ClockFile
from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.graph_emulator.control_client import EmulatorControl
from devtools.graph_emulator.server import GraphEmulator
from devtools.host_app import HostApp
from devtools.localhost.catalog import build_catalog
from devtools.localhost.hostconfig import HostConfig
from devtools.localhost.http_server import FunctionsWsgiApp
from devtools.localhost.invoker import Invocation, invoke
from devtools.stack import free_port
from shared import bootstrap
from shared.bootstrap import AppServices
from shared.secrets import secret_provider
from shared.settings import StorageSettings, load_settings
from shared.storage import names
from shared.storage.account import StorageAccount
from tests.conftest import app_settings
from tests.e2e.conftest import emulator_settings
from tests.fakes import FakeTables, FakeWorkQueue
from tests.openapi_contract import app_functions

PROJECT_ROOT = Path(__file__).parents[2]
MAX_DEQUEUE = 5  # host.json's maxDequeueCount: then the message is poison
logger = logging.getLogger("sync_model")


class ModelStack:
    """The emulator on a clock file, and the function app served in this process."""

    def __init__(self, tmp: Path, *, azurite: bool = False) -> None:
        """`azurite`: the app's tables in Azurite; otherwise in memory (tests/fakes.py), new for
        each sequence, which makes a step about three times faster."""
        self.tmp = tmp
        self.clock = ClockFile(tmp / "clock.json")
        self._azurite = Azurite(in_memory=True) if azurite else None
        self.emulator = GraphEmulator(
            state_dir=tmp / "emulator", port=0, clock_file=self.clock.path
        )
        self._lock = threading.Lock()
        self._queued: list[str] = []
        self.work = FakeWorkQueue(self.now)  # maintenance-work: the timer's items, run by drain()
        self._previous_services: AppServices | None = None
        self.poisoned: list[str] = []
        self.messages_handled = 0

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> ModelStack:
        self.storage: StorageAccount | None = None
        connection_string = "UseDevelopmentStorage=true"  # never used with tables in memory
        if self._azurite is not None:
            connection_string = self._azurite.start().connection_string
            self.storage = StorageAccount(StorageSettings(connection_string=connection_string))
            self.storage.create_missing(names.TABLES, names.QUEUES)
        self.emulator.start()
        port = free_port()
        self.environ = app_settings(connection_string, **emulator_settings(self.emulator, port))
        self._previous_services = bootstrap._services
        self._new_services()
        config = HostConfig.load(PROJECT_ROOT / "host.json")
        self.catalog = build_catalog(_IndexedApp(), config.route_prefix, self.environ)
        wsgi = FunctionsWsgiApp(self.catalog, self._collect, lambda name, text: False)
        self._server = make_server("127.0.0.1", port, wsgi, threaded=True)
        werkzeug = logging.getLogger("werkzeug")
        self._werkzeug_level = werkzeug.level
        werkzeug.setLevel(logging.WARNING)  # a line per request otherwise
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{port}"
        self.control = EmulatorControl(self.emulator.base_url, self.emulator.ca_file)
        return self

    def _new_services(self) -> None:
        settings = load_settings(self.environ)
        secrets = secret_provider(settings.key_vault_url, self.environ)
        tables = FakeTables() if self.storage is None else None
        self.services = AppServices(
            settings, secrets, clock=self.now, tables=tables, work_queue=self.work
        )
        # The functions read the process's services: these, for as long as the stack runs.
        bootstrap._services = self.services

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()
        bootstrap._services = self._previous_services
        logging.getLogger("werkzeug").setLevel(self._werkzeug_level)
        self.emulator.stop()
        if self._azurite is not None:
            self._azurite.stop()

    def __enter__(self) -> ModelStack:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- the world ---------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now_utc()

    def fresh_world(self, anchor: Callable[[datetime], datetime]) -> HostApp:
        """The emulator at its seed, the clock at `anchor(real now)`, a new organisation whose
        manager and Alex are connected and read once; answers the host app."""
        self.control.reset()
        self.control.release_notifications()
        self.control.duplicate_notifications(1)
        self.control.shuffle_notifications(False)
        self.clock.set_offset(0)
        real = self.now()
        self.clock.set_offset((anchor(real) - real).total_seconds())
        if self.storage is None:
            self._new_services()  # empty tables
        else:  # every demo account free to link, no work left by an earlier sequence
            for name in (names.ACCOUNT_LINKS_TABLE, names.SCHEDULE_TABLE):
                table = self.storage.table(name)
                for entity in table.list_entities():
                    table.delete_entity(entity["PartitionKey"], entity["RowKey"])
        with self._lock:
            self._queued.clear()
        self.work.messages.clear()
        self.poisoned.clear()
        app = HostApp(self.base_url, self.emulator.base_url, self.emulator.ca_file, self.environ)
        answer = app.set_switches(MANAGER, allow=True)
        assert answer.status_code == 200, answer.text
        for person in (MANAGER, EMPLOYEE_ALEX):
            assert app.connect(person) == {"outlook": "connected"}
        self.drain(timer=True)  # the first reads of both mailboxes
        return app

    def move_clock(self, delta: timedelta) -> None:
        self.clock.set_offset(self.clock.offset_seconds() + delta.total_seconds())

    # --- the queue and the timer -------------------------------------------------------------

    def _collect(self, invocation: Invocation) -> None:
        for queue_name, messages in invocation.queue_messages.items():
            assert queue_name == names.GRAPH_NOTIFICATIONS_QUEUE, queue_name
            with self._lock:
                self._queued.extend(messages)

    def delivered(self) -> list[str]:
        """Wait until the emulator has posted every notification due; take what was queued."""
        self.control.flush_notifications()
        with self._lock:
            taken, self._queued = self._queued, []
        return taken

    def handle(self, message: str) -> None:
        """The notification queue function on one message, retried as the host retries it."""
        self._run_queued("process_graph_notification", message)

    def _run_queued(self, function: str, message: str) -> None:
        """A queue function on one message, retried as the host retries it (the same message
        id each time, its dequeue count rising); what it parks in a poison queue is kept."""
        entry = self.catalog.by_name(function)
        assert entry is not None, function
        for attempt in range(1, MAX_DEQUEUE + 1):
            trigger = QueueMessage(id=f"{function}-m", body=message, dequeue_count=attempt)
            try:
                invocation = invoke(entry, trigger)
            except Exception:
                logger.exception("%s failed (attempt %s)", function, attempt)
                continue
            self.messages_handled += 1
            for queue_name, texts in invocation.queue_messages.items():
                assert queue_name.endswith("-poison"), queue_name
                self.poisoned.extend(texts)
            return
        self.poisoned.append(json.dumps({"message": message, "reason": "failed every attempt"}))

    def run_work(self) -> int:
        """Every work item visible now, run by the real worker function (its follow-up items
        too); how many ran. Items sent back for later (a paused tenant) wait for the clock."""
        ran = 0
        while (item := self.work.take_visible()) is not None:
            self._run_queued("do_maintenance_work", item.text)
            ran += 1
        return ran

    def run_timer(self) -> None:
        entry = self.catalog.by_name("maintenance")
        assert entry is not None
        invoke(entry, TimerRequest(past_due=False))

    def drain(self, *, timer: bool = False, rounds: int = 8) -> None:
        """Notifications delivered and handled until no more come (handling a change can make
        more: the app's own writes notify too); with `timer`, the timer's due work after, run
        by the queue workers."""
        for _ in range(rounds):
            batch = self.delivered()
            for message in batch:
                self.handle(message)
            if batch or self.run_work():
                continue
            if not timer:
                return
            self.run_timer()
            timer = False
        raise AssertionError(f"notifications still coming after {rounds} rounds")


class _IndexedApp:
    """function_app's app as the local host reads it, indexed once per process: the SDK refuses
    a second get_functions() on the same app (other tests in the session index it too)."""

    def get_functions(self) -> tuple[Any, ...]:
        return app_functions()


def next_monday_morning(real: datetime) -> datetime:
    """The model's day one: 08:00 UTC on the Monday after `real` (so runs see the same weekdays)."""
    day = real.date() + timedelta(days=7 - real.weekday())
    return datetime(day.year, day.month, day.day, 8, tzinfo=UTC)
