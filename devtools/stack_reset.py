"""`make reset`: wipe the local stack's state so the next `make run` starts clean.

Azurite's data, the emulator's state (keys, sign-ins, mailboxes, subscriptions) and the shared
clock go together, so no part remembers what another forgot. A running stack is left alone: the
command refuses and says so. Standard library only, so it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from devtools import clock

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RUN_PID = "run.pid"  # in the state directory while `make run` runs
# What a reset removes from the state directory (the logs stay until the next run).
STATE_ENTRIES = ("azurite", "emulator", clock.FILE_NAME, "tokens.env")


def running_pid(state: Path) -> int | None:
    """The pid of the `make run` using this state directory, if one is running."""
    try:
        pid = int((state / RUN_PID).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def reset(state: Path) -> int:
    """Wipe the stack's state so the next run starts clean; a running stack is left alone."""
    pid = running_pid(state)
    if pid is not None:
        print(f"make reset: `make run` (pid {pid}) uses {state}; stop it first (Ctrl-C)",
              file=sys.stderr)  # fmt: skip
        return 1
    for name in STATE_ENTRIES:
        path = state / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    print(f"{state}: Azurite's data, the emulator's state and the clock are gone; "
          "the next `make run` starts clean")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.stack_reset")
    parser.add_argument("--state-dir", type=Path, default=PROJECT_ROOT / ".stack")
    return reset(parser.parse_args(argv).state_dir.resolve())


if __name__ == "__main__":
    sys.exit(main())
