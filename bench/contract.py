"""A longer contract fuzz: schemathesis against /api/openapi.json for a time budget.

The same checks as the contract test (devtools/contract_fuzz.py, devtools/schemathesis.toml),
on a stack of its own (Azurite in memory, the emulator, the local host on free ports), until
the budget is spent. Prints the operations tried, test cases, and each failure found.

Run: .venv/bin/python -m bench.contract --seconds 300 [--seed 7] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from devtools.contract_fuzz import fuzzing_caller, run_schemathesis
from devtools.host_app import HostApp
from devtools.stack import LocalStack


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.contract")
    parser.add_argument("--seconds", type=int, default=120, help="fuzzing budget")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    with LocalStack.throwaway() as stack, tempfile.TemporaryDirectory() as reports:
        app = HostApp(stack.host_url, stack.emulator_url, stack.ca_file, stack.environ)
        started = time.monotonic()
        run = run_schemathesis(
            stack.host_url,
            fuzzing_caller(app),
            Path(reports),
            seed=args.seed,
            max_time=args.seconds,
            workers=args.workers,
        )
        elapsed = time.monotonic() - started
    print(f"contract fuzz: seed {args.seed}, budget {args.seconds} s, ran {elapsed:.0f} s")
    print(run.summary())
    if run.failures:
        print("\nschemathesis output (the failing cases, with curl lines to reproduce):")
        print(run.output[-20000:])
    return 0 if run.exit_code == 0 and not run.failures else 1


if __name__ == "__main__":
    sys.exit(main())
