"""Subscription renewal at scale: time, storage requests and Graph requests for the maintenance
timer to renew N subscriptions (5,000 by default), a bounded batch per run.

Runs its own stack (Azurite in memory, the emulator, the local host) on free ports. The
subscriptions are created for real (Graph POST with the validation handshake through the local
host), then the real MaintenanceService runs in this process against the same Azurite and
emulator, with every storage request counted by an azure-core hook.

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
from shared.secrets import secret_provider
from shared.settings import load_settings
from shared.storage.account import StorageAccount
from shared.sync.maintenance import BATCH, MaintenanceService
from shared.sync.subscriptions import (
    LIFETIME,
    RENEW_BEFORE,
    SubscriptionManager,
)


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
    manager = SubscriptionManager(
        repository=app.subscriptions,
        schedule=app.schedule,
        keys=app.client_state_keys,
        public_base_url=app.settings.public_base_url,
        clock=app.clock,
    )
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
        assert host.connect(MANAGER) == {"outlook": "connected"}
        host.control("PATCH", "settings", mailbox_limits={"requests": 10 * count + 1000})

        settings = load_settings(stack.environ)
        counter = StorageRequests()
        app = AppServices(
            settings,
            secret_provider(None, stack.environ),
            tables=AccountTables(StorageAccount(settings.storage, raw_request_hook=counter)),
        )
        started = time.perf_counter()
        all_due = create_subscriptions(app, host.org_id, MANAGER.host_user_id, count)
        created_in = time.perf_counter() - started
        print(f"created {count} subscriptions through Graph in {created_in:.1f} s (setup)")

        # The timer runs as if the renewal window of every subscription had opened. Renewed ones
        # fall due again a week on, at second resolution: wait into the next second so that none
        # of them is due again inside this window.
        maintenance = MaintenanceService(
            schedule=app.schedule,
            watcher=app.watcher,
            mailbox_sync=app.mailbox_sync,
            conversations=app.conversations,
            connections=app.connections,
            clock=lambda: all_due,
        )
        last_created = all_due + RENEW_BEFORE - LIFETIME
        while app.clock() < last_created.replace(microsecond=0) + timedelta(seconds=1):
            time.sleep(0.01)
        expected = count + 1  # and the subscription made when the manager connected
        host.control("DELETE", "requests")
        counter.reset()
        renewed = runs = 0
        started = time.perf_counter()
        while renewed < expected:
            report = maintenance.run()
            runs += 1
            done = report.get("renew-subscription", {})
            if not done:
                raise RuntimeError(f"nothing left to renew after {renewed} of {expected}")
            renewed += done.get("renewed", 0)
        elapsed = time.perf_counter() - started

        graph = [r for r in host.control("GET", "requests")["requests"] if r["area"] == "graph"]
        patches = sum(1 for r in graph if r["method"] == "PATCH" and "subscriptions" in r["path"])
        live = host.control("GET", "subscriptions")["value"]
        renewed_by = all_due + RENEW_BEFORE
        moved = sum(1 for s in live if parse_timestamp(s["expirationDateTime"]) > renewed_by)
        counts = counter.counts
        print(
            f"renewed {renewed} subscriptions in {runs} timer runs ({BATCH} a run): "
            f"{elapsed:.1f} s, {1000 * elapsed / renewed:.1f} ms each, "
            f"{1000 * elapsed / runs:.0f} ms a run"
        )
        print(
            f"storage: {counts['point reads']} point reads "
            f"({counts['point reads'] / renewed:.1f} per subscription), "
            f"{counts['range queries']} range queries ({counts['range queries'] / runs:.1f} a run:"
            f" one per kind of work), {counts['writes']} writes, no table scans"
        )
        print(
            f"graph: {len(graph)} requests, {patches} subscription PATCHes "
            f"(minimum {renewed}: one per subscription); {moved} of {len(live)} live "
            f"subscriptions now expire later"
        )
        print(f"(all {count} watch one mailbox here; real Graph allows 1,000 per mailbox)")


if __name__ == "__main__":
    main()
