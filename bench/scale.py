"""Scale-out of the maintenance work: renewals per second with 1, 2, 4 and 8 queue worker
instances against a Graph answering in a fixed 100 ms, the time to renew 5,000 subscriptions
with 8, and storage requests per renewal.

Runs its own stack (Azurite in memory, the emulator, the local host) on free ports. The
subscriptions are created for real through Graph (the validation handshake through the local
host), then the local host is stopped and this process plays N Functions instances: each has
its own services (its own mailbox gate and storage clients, as a process in Azure has) and one
queue listener of the local host on `maintenance-work`, which applies host.json's batchSize and
newBatchThreshold as the Functions host does. The real timer hands out the due renewals (its
time is counted), the real worker runs them. Between rounds the app's clock and the emulator's
move on five days, so every subscription is due again.

Simplifications, printed with the figures: the subscriptions watch the demo directory's 8
mailboxes (real Graph caps one mailbox at 1,000 subscriptions), so the emulator's limit of 4
concurrent requests per mailbox is raised to let 8 instances' requests through (with one
subscription per mailbox, as in production, that limit never binds); every instance is a thread
group of one Python process on this machine's CPUs, so beyond the CPUs' share the figures
measure this machine, not the design.

Run: .venv/bin/python -m bench.scale [--subscriptions 5000] [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.renewal import StorageRequests
from devtools import demo_directory as people
from devtools.host_app import HostApp
from devtools.localhost.catalog import QueueFunction
from devtools.localhost.hostconfig import HostConfig
from devtools.localhost.queues import QueueBroker, QueueListener
from devtools.stack import LocalStack
from shared.bootstrap import AccountTables, AppServices
from shared.schedule import WorkKind
from shared.secrets import secret_provider
from shared.settings import load_settings
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.queues import QueueWorkQueue
from shared.sync.subscriptions import SubscriptionManager

ROUND = timedelta(days=5)  # past a renewal's due time (LIFETIME - RENEW_BEFORE), within LIFETIME
MAILBOXES = (
    people.MANAGER, people.EMPLOYEE_ALEX, people.EMPLOYEE_LYNNE, people.NEVER_CONNECTS,
    people.MAIL_ON_ALIAS_DOMAIN, people.RENAMED, people.WITHOUT_TEAMS, people.FABRIKAM_USER,
)  # fmt: skip
PROJECT = Path(__file__).resolve().parents[1]


class Offset:
    """The app's clock: real time plus the moves the bench made (the emulator moves with it)."""

    def __init__(self) -> None:
        self.delta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.delta


def instance(stack: LocalStack, clock: Offset, counter: StorageRequests) -> AppServices:
    """One Functions instance's services: storage requests counted."""
    settings = load_settings(stack.environ)
    storage = StorageAccount(settings.storage, raw_request_hook=counter)
    return AppServices(
        settings,
        secret_provider(None, stack.environ),
        clock=clock,
        tables=AccountTables(storage),
        work_queue=QueueWorkQueue(storage.queue(names.MAINTENANCE_WORK_QUEUE)),
    )


def worker_function(app: AppServices, renewed: Callable[[str], None]) -> QueueFunction:
    def do_maintenance_work(msg: Any) -> None:
        outcome = app.maintenance_worker.process(msg.get_body().decode(), msg.id)
        renewed(outcome)

    return QueueFunction(
        name="do_maintenance_work",
        user_function=do_maintenance_work,
        trigger_arg="msg",
        queue_name=names.MAINTENANCE_WORK_QUEUE,
    )


def connect_all(host: HostApp) -> list[tuple[str, str]]:
    mailboxes = []
    for person in MAILBOXES:
        org_id = (
            host.org_id if person.host_org_id == people.MANAGER.host_org_id else f"{host.org_id}-f"
        )
        if person is people.MANAGER or person is people.FABRIKAM_USER:
            assert host.set_switches(person, allow=True, org_id=org_id).status_code == 200
        outcome = host.connect(person, org_id=org_id)
        assert outcome.get("outlook") == "connected", (person.key, outcome)
        mailboxes.append((org_id, person.host_user_id))
    return mailboxes


def create_subscriptions(app: AppServices, mailboxes: list[tuple[str, str]], count: int) -> None:
    manager = SubscriptionManager(
        repository=app.subscriptions,
        schedule=app.schedule,
        keys=app.client_state_keys,
        public_base_url=app.settings.public_base_url,
        clock=app.clock,
    )
    graphs = [(org, user, app.connections.graph_for(org, user)) for org, user in mailboxes]

    def one(number: int) -> None:
        org_id, user_id, graph = graphs[number % len(graphs)]
        manager.create(graph, org_id, user_id)

    with ThreadPoolExecutor(4 * len(graphs)) as pool:  # 4 at a time per mailbox
        list(pool.map(one, range(count)))


def run_round(
    stack: LocalStack, host: HostApp, clock: Offset, counter: StorageRequests, workers: int,
    expected: int,
) -> tuple[float, int, dict[str, int]]:  # fmt: skip
    """Every subscription due again; the timer, then `workers` instances until all renewed:
    seconds, renewals, outcomes."""
    clock.delta += ROUND
    host.control("POST", "clock", move=f"+{ROUND.days}d")
    config = HostConfig.load(PROJECT / "host.json")
    stopping = threading.Event()
    outcomes: dict[str, int] = {}
    lock = threading.Lock()
    done = threading.Event()

    def settled(outcome: str) -> None:
        with lock:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if outcomes.get("renewed", 0) >= expected:
                done.set()

    apps = [instance(stack, clock, counter) for _ in range(workers)]
    storage = StorageAccount(load_settings(stack.environ).storage)
    listeners = [
        QueueListener(worker_function(app, settled), QueueBroker(storage), storage,
                      config.queues, stopping)
        for app in apps
    ]  # fmt: skip
    counter.reset()
    started = time.perf_counter()
    for listener in listeners:
        listener.start()
    timer = apps[0].maintenance_timer.run([WorkKind.RENEW_SUBSCRIPTION])
    handed = timer[WorkKind.RENEW_SUBSCRIPTION].get("enqueued", 0)
    if handed < expected:
        raise RuntimeError(f"the timer handed out {handed} renewals, {expected} expected")
    if not done.wait(600):
        raise RuntimeError(f"not all renewed within 10 minutes: {outcomes}")
    elapsed = time.perf_counter() - started
    stopping.set()
    for listener in listeners:
        listener.join()
    return elapsed, outcomes.get("renewed", 0), outcomes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--workers", default="1,2,4,8")
    args = parser.parse_args()
    count = args.subscriptions

    with LocalStack.throwaway() as stack:
        host = HostApp(stack.host_url, stack.emulator_url, stack.ca_file, stack.environ)
        limits = {"requests": 10 * count + 1000, "concurrency": 1000}
        host.control("PATCH", "settings", access_token_lifetime=60 * 24 * 3600,
                     mailbox_limits=limits)  # fmt: skip
        mailboxes = connect_all(host)
        clock, counter = Offset(), StorageRequests()
        started = time.perf_counter()
        create_subscriptions(instance(stack, clock, counter), mailboxes, count)
        print(f"created {count} subscriptions on {len(mailboxes)} mailboxes through Graph in "
              f"{time.perf_counter() - started:.1f} s (setup)")  # fmt: skip
        for child in stack.children:  # the queue is the bench's instances' alone from now on
            if child.name == "functions host":
                child.stop()
        host.control("POST", "faults", latency_ms=args.latency_ms)
        expected = count + len(mailboxes)  # and the subscription each connect made
        config = HostConfig.load(PROJECT / "host.json").queues
        per_instance = config.batch_size + config.new_batch_threshold
        print(f"Graph latency {args.latency_ms} ms; host.json: batchSize {config.batch_size}, "
              f"newBatchThreshold {config.new_batch_threshold} (up to {per_instance} at once "
              f"per instance)")  # fmt: skip
        rates = {}
        for workers in (int(n) for n in args.workers.split(",")):
            elapsed, renewed, outcomes = run_round(stack, host, clock, counter, workers, expected)
            rates[workers] = renewed / elapsed
            c = counter.counts
            others = {k: v for k, v in outcomes.items() if k != "renewed"}
            reads = c["point reads"] + c["range queries"]
            print(f"{workers} instance(s): {renewed} renewals in {elapsed:.1f} s = "
                  f"{rates[workers]:.0f}/s ({rates[workers] / rates[min(rates)]:.1f}x of 1); "
                  f"storage per renewal: {reads / renewed:.1f} reads "
                  f"({c['point reads'] / renewed:.1f} point, {c['range queries'] / renewed:.2f} "
                  f"range), {c['writes'] / renewed:.1f} writes incl. queue; "
                  f"other outcomes {others}")  # fmt: skip
        print(
            f"(subscriptions on {len(mailboxes)} mailboxes, the emulator's per-mailbox "
            "concurrency raised; all instances in one process on this machine's CPUs)"
        )


if __name__ == "__main__":
    main()
