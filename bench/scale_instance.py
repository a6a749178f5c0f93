"""One Functions instance for bench/scale.py, in its own process (its own interpreter and GIL, as
an instance is in Azure): the app's services, and the local host's listener on
`maintenance-work` with host.json's batch settings, running the real worker.

Protocol on stdin/stdout, a line each: prints `ready` once listening; prints `done <outcome>
<epoch seconds>` per work item; on `stop` (or end of stdin) stops taking messages and prints
`totals <json>`: its storage requests by kind and the CPU seconds this process used.

Run by bench/scale.py: python -m bench.scale_instance ENVIRON_JSON_FILE CLOCK_OFFSET_SECONDS
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.renewal import StorageRequests
from devtools.localhost.catalog import QueueFunction
from devtools.localhost.hostconfig import HostConfig
from devtools.localhost.queues import QueueBroker, QueueListener
from shared.bootstrap import AccountTables, AppServices
from shared.secrets import secret_provider
from shared.settings import load_settings
from shared.storage import names
from shared.storage.account import StorageAccount
from shared.storage.queues import QueueWorkQueue

PROJECT = Path(__file__).resolve().parents[1]
_print_lock = threading.Lock()


def say(line: str) -> None:
    with _print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def services(environ: dict[str, str], offset: timedelta, counter: StorageRequests) -> AppServices:
    settings = load_settings(environ)
    storage = StorageAccount(settings.storage, raw_request_hook=counter)
    return AppServices(
        settings,
        secret_provider(None, environ),
        clock=lambda: datetime.now(UTC) + offset,
        tables=AccountTables(storage),
        work_queue=QueueWorkQueue(storage.queue(names.MAINTENANCE_WORK_QUEUE)),
    )


def main() -> None:
    environ = json.loads(Path(sys.argv[1]).read_text())
    offset = timedelta(seconds=float(sys.argv[2]))
    counter = StorageRequests()
    app = services(environ, offset, counter)

    def do_maintenance_work(msg: Any) -> None:
        outcome = app.maintenance_worker.process(msg.get_body().decode(), msg.id)
        say(f"done {outcome.replace(' ', '_')} {time.time():.6f}")

    function = QueueFunction(
        name="do_maintenance_work",
        user_function=do_maintenance_work,
        trigger_arg="msg",
        queue_name=names.MAINTENANCE_WORK_QUEUE,
    )
    storage = StorageAccount(load_settings(environ).storage)
    stopping = threading.Event()
    config = HostConfig.load(PROJECT / "host.json").queues
    listener = QueueListener(function, QueueBroker(storage), storage, config, stopping)
    listener.start()
    before = cpu_seconds()
    say("ready")
    for line in sys.stdin:
        if line.strip() == "stop":
            break
    stopping.set()
    listener.join()
    say("totals " + json.dumps({**counter.counts, "cpu": cpu_seconds() - before}))


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
