"""`python -m devtools.localhost`: serve function_app.app on 127.0.0.1 like `func start`.

With `--clock-file` (as `make run` passes it) the app and its timers run on the local stack's
movable clock (devtools/clock.py), handed to the app through `shared.bootstrap.use_clock`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from devtools.clock import ClockFile
from devtools.localhost.hostconfig import HostConfig
from shared.settings import SettingsError, load_settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def apply_local_settings(path: Path, environ: dict[str, str]) -> None:
    """Core Tools' rule: local.settings.json Values fill in, real environment variables win."""
    if not path.exists():
        return
    values = json.loads(path.read_text()).get("Values", {})
    for name, value in values.items():
        environ.setdefault(name, str(value))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.localhost")
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--settings", type=Path, default=PROJECT_ROOT / "local.settings.json")
    parser.add_argument("--cors", help="allowed origins, comma-separated (default: Host.CORS)")
    parser.add_argument("--cors-credentials", action="store_true", default=None)
    parser.add_argument("--clock-file", type=Path, help="the local stack's shared clock offset")
    parser.add_argument(
        "--queue-message-lease",
        type=float,
        metavar="SECONDS",
        help="how long a message being handled stays hidden (renewed while it runs; default "
        "300): after a crash, messages come back this long after",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # werkzeug's own request line repeats ours, with the query string (it can carry codes).
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    apply_local_settings(args.settings, os.environ)  # type: ignore[arg-type]
    try:
        settings = load_settings(os.environ)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2

    # Imported after the settings check, like the worker loading the app once the host is ready.
    sys.path.insert(0, str(PROJECT_ROOT))
    from devtools.localhost.cors import CorsPolicy, settings_cors
    from devtools.localhost.host import LocalHost
    from function_app import app
    from shared import bootstrap
    from shared.storage.account import StorageAccount

    cors, credentials = settings_cors(args.settings)
    clock = bootstrap.utc_now
    if args.clock_file is not None:
        clock = ClockFile(args.clock_file).now_utc
        bootstrap.use_clock(clock)
    config = HostConfig.load(PROJECT_ROOT / "host.json")
    if args.queue_message_lease is not None:
        lease = timedelta(seconds=args.queue_message_lease)
        config = replace(config, queues=replace(config.queues, message_lease=lease))
    host = LocalHost(
        app,
        config=config,
        environ=os.environ,
        storage=StorageAccount(settings.storage),
        port=args.port,
        cors=CorsPolicy.parse(
            args.cors if args.cors is not None else cors,
            credentials if args.cors_credentials is None else args.cors_credentials,
        ),
        clock=clock,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    host.start()
    print("Functions:\n" + "\n".join(f"  {line}" for line in host.describe()), flush=True)
    print(f"local functions host: listening on {host.base_url}", flush=True)
    stop.wait()
    host.stop()
    print("local functions host: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
