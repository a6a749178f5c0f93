"""`python -m devtools.graph_emulator --port 7443 --state-dir .stack/emulator [--persist]`

Runs in the foreground until SIGINT or SIGTERM; prints one line once it is ready. With
`--persist` it keeps its state in the state directory across restarts; with `--clock-file` its
clock is the local stack's shared one (`python -m devtools.clock`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from devtools.graph_emulator.server import EmulatorBroken, GraphEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.graph_emulator")
    parser.add_argument("--port", type=int, default=7443, help="0 picks a free port")
    parser.add_argument("--state-dir", type=Path, default=Path(".stack/emulator"))
    parser.add_argument(
        "--redirect-uri",
        action="append",
        dest="redirect_uris",
        metavar="URI",
        help="a redirect URI of the app registration (repeatable; `*` wildcards allowed); "
        "default: any http://127.0.0.1:* or http://localhost:* URI",
    )
    parser.add_argument("--access-token-lifetime", type=int, default=3600, metavar="SECONDS")
    parser.add_argument(
        "--persist", action="store_true", help="keep keys, sign-ins, mailboxes, subscriptions "
        "in the state directory across restarts"
    )  # fmt: skip
    parser.add_argument("--clock-file", type=Path, help="the shared clock's offset file")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())

    emulator = GraphEmulator(
        state_dir=args.state_dir,
        port=args.port,
        redirect_uris=args.redirect_uris,
        access_token_lifetime=args.access_token_lifetime,
        clock_file=args.clock_file,
        persist=args.persist,
    )
    try:
        emulator.start()
    except (OSError, EmulatorBroken) as error:
        print(f"graph emulator: cannot start: {error}", file=sys.stderr)
        return 1
    print(f"graph emulator: {emulator.base_url} (CA: {emulator.ca_file})", flush=True)
    try:
        stopping.wait()
    finally:
        emulator.stop()
    print("graph emulator: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
