"""Webhook answer latency at a steady rate of Graph notifications, through the local host.

Graph marks an endpoint slow, then drops its notifications, when answers take long; this prints
p50/p99/max of POST /api/graph/notifications at a fixed rate (default 200/s for 30 s) while the
queue worker processes what they enqueue. Runs its own stack on free ports.
Run: .venv/bin/python -m bench.webhooks [--rate 200] [--seconds 30]
"""

from __future__ import annotations

import argparse
import math
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import requests

from devtools.stack import LocalStack
from shared.settings import StorageSettings
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.entities import EntityTable
from shared.sync.subscriptions import Subscription, SubscriptionRepository, client_state_hash


def seed_subscription(connection_string: str) -> tuple[str, str]:
    storage = StorageAccount(StorageSettings(connection_string=connection_string))
    secret = uuid.uuid4().hex
    subscription = Subscription(
        str(uuid.uuid4()),
        "org-bench",
        "u-bench",
        client_state_hash(secret),
        datetime.now(UTC) + timedelta(days=3),
    )
    SubscriptionRepository(EntityTable(storage.table(names.SUBSCRIPTIONS_TABLE))).put(subscription)
    return subscription.id, secret


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    with LocalStack.throwaway() as stack:
        subscription_id, secret = seed_subscription(stack.endpoints.connection_string)
        run(
            f"{stack.host_url}/api/graph/notifications",
            subscription_id,
            secret,
            args.rate,
            args.seconds,
        )


def run(url: str, subscription_id: str, secret: str, rate: int, seconds: int) -> None:
    body = {
        "value": [
            {
                "subscriptionId": subscription_id,
                "clientState": secret,
                "changeType": "updated",
                "resource": "Users/x/Events/y",
                "resourceData": {"id": "y"},
            }
        ]
    }
    local = threading.local()
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def send(due: float) -> None:
        nonlocal failures
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)  # pacing the load generator, not synchronising a test
        started = time.perf_counter()
        answer = session.post(url, json=body, timeout=30)
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(elapsed)
            failures += answer.status_code != 202

    total = rate * seconds
    start = time.perf_counter() + 0.5
    with ThreadPoolExecutor(max_workers=64) as pool:
        for i in range(total):
            pool.submit(send, start + i / rate)
    latencies.sort()
    p99 = latencies[math.ceil(0.99 * len(latencies)) - 1]
    print(
        f"webhook answers at {rate}/s for {seconds}s ({total} notifications, {failures} not 202): "
        f"p50 {statistics.median(latencies):.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
