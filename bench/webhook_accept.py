"""The webhook's own time per notification, in process: what Graph waits for before the 202.

Calls the function app's `graph_notifications` handler directly (no HTTP server), over Azurite:
- cold: a new process's first POST of one notification, the app's import included, and that
  first call alone (p50/p99 of `--cold` processes), with storage and Key Vault set to addresses
  where nothing answers: the accept path reads neither, or it could not answer 202;
- warm: POSTs of 1 and of 50 notifications signed with our key (no storage is read for them);
- what an anonymous POST can make it do: 1,000 notifications signed with a key we do not hold,
  1,000 with random clientStates of the shape subscriptions had before signing (at most 10
  storage reads), and 10,000 (refused whole, 413);
- memory: the process's resident size before and after accepting notifications of 1,000,000
  distinct subscriptions (nothing is kept per subscription, so it stays bounded).
Run: .venv/bin/python -m bench.webhook_accept [--warm 2000] [--cold 10]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from devtools.azurite import Azurite
from shared.settings import StorageSettings
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.entities import EntityTable
from shared.sync.client_state import ClientStateKeys, client_state_hash
from shared.sync.subscriptions import Subscription, SubscriptionRepository

KEYS = "w1:dGVzdC13ZWJob29rLWNsaWVudC1zdGF0ZS1rZXktMzI="
ENVIRONMENT = {
    "APP_PUBLIC_BASE_URL": "http://127.0.0.1:7071",
    "ENTRA_CLIENT_ID": "00000000-0000-0000-0000-00000000c11e",
    "HOST_APP_ORIGINS": "http://localhost:3000",
    "HOST_APP_TOKEN_ISSUER": "https://host-app.test",
    "HOST_APP_TOKEN_AUDIENCE": "calendar-sync",
    "WEBHOOK_CLIENT_STATE_KEYS": KEYS,
}
# A new process: import the app, POST one signed notification, print the milliseconds taken.
COLD = """
import time
started = time.perf_counter()
import azure.functions as func
from function_app import app
handler = next(f for f in app.get_functions() if f.get_function_name() == "graph_notifications")
body = {body!r}.encode()
request = func.HttpRequest("POST", "http://127.0.0.1/api/graph/notifications", body=body)
class Out:
    def set(self, value): self.value = value
imported = time.perf_counter()
answer = handler.get_user_function()(request, out=Out())
done = time.perf_counter()
assert answer.status_code == 202, answer.status_code
print((done - started) * 1000, (done - imported) * 1000)
"""
# Where nothing answers: a cold POST that read storage or Key Vault would fail or time out.
NOWHERE = {
    "AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;",
    "KEY_VAULT_URL": "https://127.0.0.1:9/",
}


class Out:
    def set(self, value: object) -> None:
        self.value = value


def notification(subscription_id: str, client_state: str) -> dict[str, str]:
    return {
        "subscriptionId": subscription_id,
        "clientState": client_state,
        "changeType": "updated",
        "resource": "Users/3f1c/Events/AAMkAGI2",
        "subscriptionExpirationDateTime": "2026-12-08T10:00:00Z",
        "tenantId": "6bb2ee6e-06cc-41b5-a063-adcfcbaa2f48",
    }


def body_of(items: list[dict[str, str]]) -> bytes:
    return json.dumps({"value": items}).encode()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def main() -> None:
    logging.basicConfig(handlers=[logging.NullHandler()])  # one warning a POST, not printed
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm", type=int, default=2000, help="warm POSTs per case")
    parser.add_argument("--cold", type=int, default=10, help="new processes")
    args = parser.parse_args()
    azurite = Azurite(in_memory=True)
    endpoints = azurite.start()
    try:
        os.environ.update(ENVIRONMENT, AzureWebJobsStorage=endpoints.connection_string)
        storage = StorageAccount(StorageSettings(connection_string=endpoints.connection_string))
        storage.create_missing(names.TABLES, names.QUEUES)
        run(args, storage)
    finally:
        azurite.stop()


def run(args: argparse.Namespace, storage: StorageAccount) -> None:
    keys = ClientStateKeys([("w1", b"test-webhook-client-state-key-32")])
    signed = notification(str(uuid.uuid4()), keys.mint())
    starts = [cold_start(body_of([signed])) for _ in range(args.cold)]
    cold, first = [t for t, _ in starts], [f for _, f in starts]
    print(f"cold (new process, import included), 1 notification: p50 {statistics.median(cold):.0f}"
          f" ms, p99 {percentile(cold, 0.99):.0f} ms over {len(cold)} processes")  # fmt: skip
    print(f"cold instance's first notification (after import; storage and Key Vault unreachable,"
          f" so neither was called): p50 {statistics.median(first):.2f} ms, p99 "
          f"{percentile(first, 0.99):.2f} ms")  # fmt: skip

    from function_app import app

    handler = next(f for f in app.get_functions() if f.get_function_name() == "graph_notifications")
    call = handler.get_user_function()
    seed_legacy(storage)

    def timed(body: bytes, expected: int) -> Callable[[], float]:
        import azure.functions as func

        def once() -> float:
            request = func.HttpRequest("POST", "http://127.0.0.1/api/graph/notifications",
                                       body=body)  # fmt: skip
            started = time.perf_counter()
            answer = call(request, out=Out())
            elapsed = (time.perf_counter() - started) * 1000
            assert answer.status_code == expected, answer.get_body()
            return elapsed

        return once

    forged = "v1.w1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA"
    cases = [
        ("warm, 1 signed notification", [signed], 202, args.warm),
        ("warm, 50 signed notifications", [signed] * 50, 202, args.warm // 10),
        ("1,000 signed with a key we do not hold", [notification(str(uuid.uuid4()), forged)
                                                    for _ in range(1000)], 202, 50),
        ("1,000 unknown, pre-signing shape (<= 10 reads)",
         [notification(str(uuid.uuid4()), uuid.uuid4().hex * 2) for _ in range(1000)], 202, 20),
        ("10,000 short notifications, 400 KB (413)",
         [{"subscriptionId": str(uuid.uuid4()), "clientState": "x"} for _ in range(10_000)],
         413, 10),
    ]  # fmt: skip
    for label, items, expected, repeats in cases:
        once = timed(body_of(items), expected)
        once()  # a first call warms caches
        times = [once() for _ in range(repeats)]
        per_item = [t / len(items) for t in times]
        print(f"{label}: per POST p50 {statistics.median(times):.2f} ms, p99 "
              f"{percentile(times, 0.99):.2f} ms; per notification p50 "
              f"{statistics.median(per_item) * 1000:.1f} us ({repeats} POSTs)")  # fmt: skip
    memory_with_a_million(call, keys)


def cold_start(body: bytes) -> tuple[float, float]:
    script = COLD.format(body=body.decode())
    finished = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120,
        env={**os.environ, **NOWHERE},
    )  # fmt: skip
    total, first = finished.stdout.strip().splitlines()[-1].split()
    return float(total), float(first)


def memory_with_a_million(call: Callable[..., object], keys: ClientStateKeys) -> None:
    """Accept notifications of 1,000,000 distinct subscriptions, 1,000 a POST: resident size
    before and after, and the time per notification."""
    import azure.functions as func

    state = keys.mint()
    before = resident_mb()
    started = time.perf_counter()
    for _ in range(1000):
        items = [notification(str(uuid.uuid4()), state) for _ in range(1000)]
        request = func.HttpRequest("POST", "http://127.0.0.1/api/graph/notifications",
                                   body=body_of(items))  # fmt: skip
        answer: Any = call(request, out=Out())
        assert answer.status_code == 202
    elapsed = time.perf_counter() - started
    print(f"1,000,000 distinct subscriptions (1,000 POSTs of 1,000): resident size "
          f"{before:.0f} MB before, {resident_mb():.0f} MB after (nothing kept per "
          f"subscription); {elapsed:.0f} ms a POST of 1,000, bodies built included")  # fmt: skip


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def seed_legacy(storage: StorageAccount) -> None:
    """One subscription from before signing, as deployments have them at the upgrade."""
    repository = SubscriptionRepository(EntityTable(storage.table(names.SUBSCRIPTIONS_TABLE)))
    secret = uuid.uuid4().hex * 2
    expires = datetime.now(UTC) + timedelta(days=3)
    repository.put(Subscription(str(uuid.uuid4()), "org-bench", "u-bench",
                                client_state_hash(secret), expires))  # fmt: skip


if __name__ == "__main__":
    main()
