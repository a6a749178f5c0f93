"""The sync model of issue 12 (tests/model/machine.py) on a longer budget than `make test` gives
it: random sequences of host-app writes and Outlook edits, each step checked once the queue is
drained. Prints how many steps were checked, and each failure with the sequence that made it.

Seeded: the same `--seed` draws the same sequences (dates are counted from the Monday after
today). Hypothesis stops a run at its first failure, so the budget is spent in rounds of a few
sequences, each round with the next seed; `--shrink` makes each failure minimal first (slow:
it replays the sequence many times).

Runs its own stack: the emulator, the function app in this process, its tables in memory (as in
`make test`) or, with `--azurite`, in Azurite.

Run: .venv/bin/python -m bench.sync_model [--steps 300] [--length 25] [--seed 0] [--shrink]
     [--azurite]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis.stateful import get_state_machine_test

from tests.model.machine import SyncModel
from tests.model.stack import ModelStack

SEQUENCES_PER_ROUND = 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=300, help="steps to check, at least")
    parser.add_argument("--length", type=int, default=25, help="steps per sequence, at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shrink", action="store_true", help="minimise each failure")
    parser.add_argument("--azurite", action="store_true", help="the app's tables in Azurite")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the app logs every step; failures print below
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if args.shrink else [])
    budget = settings(
        max_examples=SEQUENCES_PER_ROUND,
        stateful_step_count=args.length,
        database=None,
        deadline=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
    )
    failures: list[tuple[int, str]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, ModelStack(Path(tmp), azurite=args.azurite) as stack:
        SyncModel.stack = stack
        round_seed = args.seed
        while SyncModel.steps_checked < args.steps:
            run = seed(round_seed)(get_state_machine_test(SyncModel, settings=budget))
            try:
                run()
            except Exception as failure:  # a failed invariant, or the app answering 5xx
                failures.append((round_seed, _described(failure)))
                print(f"seed {round_seed}: FAILED after {SyncModel.steps_checked} steps in all")
            else:
                print(f"seed {round_seed}: passed ({SyncModel.steps_checked} steps in all)")
            round_seed += 1
    elapsed = time.perf_counter() - started
    print(f"\nsteps checked: {SyncModel.steps_checked}")
    print(f"rounds: {round_seed - args.seed} (seeds {args.seed}..{round_seed - 1}), "
          f"sequences of at most {args.length} steps, {SEQUENCES_PER_ROUND} per round")  # fmt: skip
    print(f"queue messages handled: {stack.messages_handled}")
    print(f"failures: {len(failures)}")
    print(f"time: {elapsed:.0f} s ({elapsed / max(SyncModel.steps_checked, 1):.2f} s per step)")
    for failed_seed, text in failures:
        print(f"\n--- seed {failed_seed} ---\n{text}")
    if failures:
        sys.exit(1)


def _described(failure: BaseException) -> str:
    """The failure and the sequence Hypothesis noted with it; each of several distinct ones."""
    if isinstance(failure, BaseExceptionGroup):
        return "\n\n".join(_described(inner) for inner in failure.exceptions)
    notes = getattr(failure, "__notes__", [])
    return "\n".join([f"{type(failure).__name__}: {failure}", *notes])


if __name__ == "__main__":
    main()
