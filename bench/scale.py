"""Scale-out of the maintenance work: renewals per second with 1, 2, 4 and 8 queue worker
instances against a Graph answering in a fixed 100 ms, the time to renew 5,000 subscriptions
with 8, and storage requests per renewal.

Runs its own stack (Azurite in memory, the emulator, the local host) on free ports. The
subscriptions are created for real through Graph (the validation handshake through the local
host), then the local host is stopped and N Functions instances are started, each a process of
its own (bench/scale_instance.py: its own interpreter, services, mailbox gate and storage
clients, as an instance in Azure has) with one queue listener of the local host on
`maintenance-work`, which applies host.json's batchSize and newBatchThreshold as the Functions
host does. The real timer (in this process) hands out the due renewals, its time counted; the
real worker runs them. Between rounds the app's clock and the emulator's move on five days, so
every subscription is due again. Besides the rate, it prints the CPU each renewal costs in the
instances, Azurite and the emulator: what a machine with a CPU per instance would do.

Simplifications, printed with the figures: the subscriptions watch the demo directory's 8
mailboxes (real Graph caps one mailbox at 1,000 subscriptions), so the emulator's limit of 4
concurrent requests per mailbox is raised to let 8 instances' requests through (with one
subscription per mailbox, as in production, that limit never binds); the instances, Azurite
(one Node process) and the emulator share this machine's CPUs, so beyond its CPUs the figures
measure this machine, not the design.

Run: .venv/bin/python -m bench.scale [--subscriptions 5000] [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.renewal import StorageRequests
from bench.scale_instance import services
from devtools import demo_directory as people
from devtools.host_app import HostApp
from devtools.localhost.hostconfig import HostConfig
from devtools.stack import LocalStack
from shared.bootstrap import AppServices
from shared.schedule import WorkKind

ROUND = timedelta(days=5)  # past a renewal's due time (LIFETIME - RENEW_BEFORE), within LIFETIME
MAILBOXES = (
    people.MANAGER, people.EMPLOYEE_ALEX, people.EMPLOYEE_LYNNE, people.NEVER_CONNECTS,
    people.MAIL_ON_ALIAS_DOMAIN, people.RENAMED, people.WITHOUT_TEAMS, people.FABRIKAM_USER,
)  # fmt: skip
PROJECT = Path(__file__).resolve().parents[1]


class Offset:
    """How far the bench moved the app's clock (and the emulator's) from real time."""

    def __init__(self) -> None:
        self.delta = timedelta(0)


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
    manager = app.subscription_manager
    graphs = [(org, user, app.connections.graph_for(org, user)) for org, user in mailboxes]

    def one(number: int) -> None:
        org_id, user_id, graph = graphs[number % len(graphs)]
        manager.create(graph, org_id, user_id)

    with ThreadPoolExecutor(4 * len(graphs)) as pool:  # 4 at a time per mailbox
        list(pool.map(one, range(count)))


class Instances:
    """`count` Functions instances, each its own process (bench/scale_instance.py) listening
    on maintenance-work; what they report, read as it comes."""

    def __init__(self, stack: LocalStack, clock: Offset, count: int, expected: int) -> None:
        self._environ_file = stack.state / "bench-environ.json"
        self._environ_file.write_text(json.dumps(stack.environ))
        self.outcomes: dict[str, int] = {}
        self.last_renewal = 0.0
        self.totals: Counter[str] = Counter()
        self.cpu: list[float] = []
        self.renewed_all = threading.Event()
        self._expected = expected
        self._lock = threading.Lock()
        self._processes = [
            subprocess.Popen(  # noqa: S603 - this interpreter, this repository's module
                [sys.executable, "-m", "bench.scale_instance", str(self._environ_file),
                 str(clock.delta.total_seconds())],
                cwd=PROJECT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )
            for _ in range(count)
        ]  # fmt: skip
        self._readers = []
        for process in self._processes:
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError("an instance did not start; see its stderr above")
            reader = threading.Thread(target=self._read, args=(process,), daemon=True)
            reader.start()
            self._readers.append(reader)

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "done":
                outcome, at = rest.rsplit(" ", 1)
                with self._lock:
                    self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
                    if outcome == "renewed":
                        self.last_renewal = max(self.last_renewal, float(at))
                        if self.outcomes[outcome] >= self._expected:
                            self.renewed_all.set()
            elif word == "totals":
                totals = json.loads(rest)
                with self._lock:
                    self.cpu.append(totals.pop("cpu"))
                    self.totals.update(totals)

    def stop(self) -> None:
        for process in self._processes:
            assert process.stdin is not None
            process.stdin.write("stop\n")
            process.stdin.close()
        for process, reader in zip(self._processes, self._readers, strict=True):
            process.wait(60)
            reader.join(10)


def cpu_of(pid: int | None) -> float:
    """CPU seconds a process has used so far (user + system), from /proc."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Round:
    seconds: float
    renewed: int
    outcomes: dict[str, int]
    storage: Counter[str]
    instance_cpu: float  # seconds, all instances together
    timer_cpu: float
    storage_cpu: float  # Azurite
    graph_cpu: float  # the emulator


def run_round(
    stack: LocalStack, host: HostApp, clock: Offset, workers: int, expected: int
) -> Round:
    """Every subscription due again; the timer, then `workers` instances until all renewed."""
    clock.delta += ROUND
    host.control("POST", "clock", move=f"+{ROUND.days}d")
    instances = Instances(stack, clock, workers, expected)
    try:
        timer_counter = StorageRequests()
        timer_app = services(stack.environ, clock.delta, timer_counter)
        emulator = next(c.process.pid for c in stack.children if c.name == "graph emulator")
        before = (cpu_of(stack.azurite_pid), cpu_of(emulator), time.process_time())
        started = time.time()
        report = timer_app.maintenance_timer.run([WorkKind.RENEW_SUBSCRIPTION])
        timer_cpu = time.process_time() - before[2]
        handed = report[WorkKind.RENEW_SUBSCRIPTION].get("enqueued", 0)
        if handed < expected:
            raise RuntimeError(f"the timer handed out {handed} renewals, {expected} expected")
        if not instances.renewed_all.wait(900):
            raise RuntimeError(f"not all renewed within 15 minutes: {instances.outcomes}")
        after = (cpu_of(stack.azurite_pid), cpu_of(emulator))
    finally:
        instances.stop()
    return Round(
        seconds=instances.last_renewal - started,
        renewed=instances.outcomes.get("renewed", 0),
        outcomes=instances.outcomes,
        storage=instances.totals + timer_counter.counts,
        instance_cpu=sum(instances.cpu),
        timer_cpu=timer_cpu,
        storage_cpu=after[0] - before[0],
        graph_cpu=after[1] - before[1],
    )


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
        create_subscriptions(services(stack.environ, clock.delta, counter), mailboxes, count)
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
        print(f"this machine: {os.cpu_count()} CPUs; each instance is a process of its own")
        rates: dict[int, float] = {}
        for workers in (int(n) for n in args.workers.split(",")):
            result = run_round(stack, host, clock, workers, expected)
            rates[workers] = result.renewed / result.seconds
            c, n = result.storage, result.renewed
            others = {k: v for k, v in result.outcomes.items() if k != "renewed"}
            print(f"{workers} instance(s): {n} renewals in {result.seconds:.1f} s = "
                  f"{rates[workers]:.0f}/s ({rates[workers] / rates[min(rates)]:.1f}x of "
                  f"{min(rates)}); storage per renewal: "
                  f"{(c['point reads'] + c['range queries']) / n:.1f} reads "
                  f"({c['point reads'] / n:.1f} point, {c['range queries'] / n:.2f} range), "
                  f"{c['writes'] / n:.1f} writes incl. queue; CPU per renewal: "
                  f"instances {1000 * result.instance_cpu / n:.1f} ms, "
                  f"timer {1000 * result.timer_cpu / n:.1f} ms, "
                  f"storage (Azurite) {1000 * result.storage_cpu / n:.1f} ms, "
                  f"Graph (emulator) {1000 * result.graph_cpu / n:.1f} ms; "
                  f"other outcomes {others}")  # fmt: skip
            busy = result.instance_cpu + result.storage_cpu + result.graph_cpu + result.timer_cpu
            print(f"   CPU busy {busy / result.seconds:.1f} of {os.cpu_count()} CPUs; one instance "
                  f"with a CPU of its own would do at most "
                  f"{n / max(result.instance_cpu, 1e-9):.0f} renewals/s by its CPU, "
                  f"{per_instance / (args.latency_ms / 1000):.0f}/s by host.json's concurrency "
                  f"and Graph's latency alone")  # fmt: skip
        print(
            f"(subscriptions on {len(mailboxes)} mailboxes, the emulator's per-mailbox "
            "concurrency raised; Azurite, the emulator and every instance share this machine's "
            "CPUs: past its CPUs, more instances measure the machine, not the design)"
        )


if __name__ == "__main__":
    main()
