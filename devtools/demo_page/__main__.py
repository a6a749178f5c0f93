"""`python -m devtools.demo_page`: serve the demo host app's page (make run starts it)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from werkzeug.serving import make_server

from devtools.demo_page.server import DemoConfig, DemoPage

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo_page")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--api-url", default="http://127.0.0.1:7071", help="the function app")
    parser.add_argument("--emulator-url", default="https://127.0.0.1:7443")
    parser.add_argument(
        "--ca-file", type=Path, default=PROJECT_ROOT / ".stack" / "emulator" / "ca.pem"
    )
    args = parser.parse_args(argv)
    try:
        config = DemoConfig.from_environ(
            os.environ, api_url=args.api_url, emulator_url=args.emulator_url, ca_file=args.ca_file
        )
    except KeyError as missing:
        print(f"demo page: the setting {missing} is missing (make run sets it)", file=sys.stderr)
        return 2
    server = make_server("127.0.0.1", args.port, DemoPage(config), threaded=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    print(f"demo page: listening on http://127.0.0.1:{server.server_port}", flush=True)
    stop.wait()
    server.shutdown()
    print("demo page: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
