"""Import time of function_app next to the import time of its bare dependencies.

Cold start on Flex Consumption includes importing the app, so this guards against module-level
work creeping in. Each figure is the median of fresh interpreters (OS file cache warm).
Run: make bench   (or .venv/bin/python -m bench.import_time [runs])
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = {
    "azure.functions (the app's only module-level dependency)": "azure.functions",
    "function_app (the app, all blueprints)": "function_app",
    "for scale: azure.data.tables + azure.storage.queue": "azure.data.tables, azure.storage.queue",
    "for scale: msal + requests": "msal, requests",
}


def time_import(modules: str, runs: int) -> list[float]:
    probe = (
        f"import time; t = time.perf_counter(); import {modules}; print(time.perf_counter() - t)"
    )
    samples = []
    for _ in range(runs):
        result = subprocess.run(  # noqa: S603 - runs this interpreter on a fixed probe
            [sys.executable, "-c", probe],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={"PATH": "/usr/bin:/bin"},
        )
        samples.append(float(result.stdout))
    return samples


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    print(f"import time, {runs} fresh interpreters each (median / max, ms)")
    for label, modules in CANDIDATES.items():
        samples = [s * 1000 for s in time_import(modules, runs)]
        print(f"  {statistics.median(samples):7.1f} / {max(samples):7.1f}  {label}")


if __name__ == "__main__":
    main()
