"""Subscription renewal at scale: time, storage requests and Graph requests to renew N
subscriptions (5,000 by default): the maintenance timer hands them out to the `maintenance-work`
queue, then one worker (this process, one message at a time) renews them.

Runs its own stack (Azurite in memory, the emulator, the local host) on free ports. The
subscriptions are created for real (Graph POST with the validation handshake through the local
host), then the local host is stopped (the queue is this bench's alone) and the real timer and
worker run in this process against the same Azurite and emulator, with every storage request
counted by an azure-core hook. bench/scale.py measures the same work with concurrent instances.

Simplification, said here and in the output: all N subscriptions watch the demo manager's
mailbox (the emulator's per-mailbox request budget is raised for it; real Graph caps one mailbox
at 1,000 subscriptions). Per subscription the work is the same as for N mailboxes: the
connection is read and its token taken from the cache for each one.

Run: .venv/bin/python -m bench.renewal [--subscriptions 5000]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from devtools.demo_directory import MANAGER
from devtools.host_app import HostApp
from devtools.stack import LocalStack
from shared.bootstrap import AccountTables, AppServices
from shared.conversations.time_zones import parse_timestamp
from shared.schedule import WorkKind
from shared.secrets import secret_provider
from shared.settings import load_settings
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.queues import QueueWorkQueue
from shared.sync.subscriptions import LIFETIME, RENEW_BEFORE


class StorageRequests:
    """Counts table and queue requests by kind, from the SDK's raw request hook."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, request: Any) -> None:
        http = request.http_request
        if http.method != "GET":
            self.counts["writes"] += 1
        elif "$filter" in http.url:
            self.counts["range queries"] += 1
        else:
            self.counts["point reads"] += 1

    def reset(self) -> None:
        self.counts.clear()


def create_subscriptions(app: AppServices, org_id: str, user_id: str, count: int) -> datetime:
    """Creates `count` subscriptions through Graph; returns when the last one becomes due."""
    manager = app.subscription_manager
    graph = app.connections.graph_for(org_id, user_id)
    with ThreadPoolExecutor(4) as pool:  # Outlook allows 4 concurrent requests per mailbox
        created = list(pool.map(lambda _: manager.create(graph, org_id, user_id), range(count)))
    return max(s.expires_at for s in created) - RENEW_BEFORE


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=5000)
    args = parser.parse_args()
    count = args.subscriptions

    with LocalStack.throwaway() as stack:
        host = HostApp(stack.host_url, stack.emulator_url, stack.ca_file, stack.environ)
        host.set_switches(MANAGER, allow=True).raise_for_status()
        host.control(
            "PATCH",
            "settings",
            mailbox_limits={"requests": 10 * count + 1000},
            access_token_lifetime=60 * 24 * 3600,
        )  # tokens outlive the clock's move
        assert host.connect(MANAGER) == {"outlook": "connected"}

        settings = load_settings(stack.environ)
        counter = StorageRequests()
        storage = StorageAccount(settings.storage, raw_request_hook=counter)
        setup = AppServices(settings, secret_provider(None, stack.environ),
                            tables=AccountTables(storage))  # fmt: skip
        started = time.perf_counter()
        all_due = create_subscriptions(setup, host.org_id, MANAGER.host_user_id, count)
        created_in = time.perf_counter() - started
        print(f"created {count} subscriptions through Graph in {created_in:.1f} s (setup)")
        for child in stack.children:
            if child.name == "functions host":
                child.stop()

        # Timer and worker run as if the renewal window of every subscription had opened.
        # Renewed ones fall due again a week on, at second resolution: wait into the next
        # second so that none of them is due again inside this window.
        queue = storage.queue(names.MAINTENANCE_WORK_QUEUE)
        app = AppServices(
            settings,
            secret_provider(None, stack.environ),
            clock=lambda: all_due,
            tables=AccountTables(storage),
            work_queue=QueueWorkQueue(queue),
        )
        last_created = all_due + RENEW_BEFORE - LIFETIME
        while setup.clock() < last_created.replace(microsecond=0) + timedelta(seconds=1):
            time.sleep(0.01)
        # Graph's clock moves with the app's: it refuses an expiry over 10,080 minutes ahead.
        ahead = (all_due - setup.clock()).total_seconds()
        host.control("POST", "clock", move=f"+{max(0, int(ahead))}s")
        expected = count + 1  # and the subscription made when the manager connected
        host.control("DELETE", "requests")
        counter.reset()
        started = time.perf_counter()
        report = app.maintenance_timer.run([WorkKind.RENEW_SUBSCRIPTION])
        handed = report[WorkKind.RENEW_SUBSCRIPTION].get("enqueued", 0)
        timer_seconds = time.perf_counter() - started
        timer_counts = dict(counter.counts)
        counter.reset()
        outcomes: Counter[str] = Counter()
        started = time.perf_counter()
        while outcomes["renewed"] < expected:
            messages = list(queue.receive_messages(messages_per_page=32, visibility_timeout=300))
            if not messages:
                raise RuntimeError(f"the queue ran dry after {dict(outcomes)} of {expected}")
            for message in messages:
                outcomes[app.maintenance_worker.process(message.content, message.id)] += 1
                queue.delete_message(message)
        worker_seconds = time.perf_counter() - started
        renewed = outcomes["renewed"]

        graph = [r for r in host.control("GET", "requests")["requests"] if r["area"] == "graph"]
        patches = sum(1 for r in graph if r["method"] == "PATCH" and "subscriptions" in r["path"])
        live = host.control("GET", "subscriptions")["value"]
        renewed_by = all_due + RENEW_BEFORE
        moved = sum(1 for s in live if parse_timestamp(s["expirationDateTime"]) > renewed_by)
        counts = counter.counts
        print(
            f"timer: handed out {handed} renewals in {timer_seconds:.1f} s "
            f"({timer_counts.get('range queries', 0)} range queries, "
            f"{timer_counts.get('writes', 0)} writes: a claim and a queue message each)"
        )
        print(
            f"worker: renewed {renewed} subscriptions one at a time in {worker_seconds:.1f} s, "
            f"{1000 * worker_seconds / renewed:.1f} ms each (other outcomes "
            f"{ {k: v for k, v in outcomes.items() if k != 'renewed'} })"
        )
        print(
            f"storage per renewal in the worker: {counts['point reads'] / renewed:.1f} point "
            f"reads, {counts['range queries'] / renewed:.2f} range queries, "
            f"{counts['writes'] / renewed:.1f} writes (queue receive and delete included)"
        )
        print(
            f"graph: {len(graph)} requests, {patches} subscription PATCHes "
            f"(minimum {renewed}: one per subscription); {moved} of {len(live)} live "
            f"subscriptions now expire later"
        )
        print(f"(all {count} watch one mailbox here; real Graph allows 1,000 per mailbox)")


if __name__ == "__main__":
    main()
