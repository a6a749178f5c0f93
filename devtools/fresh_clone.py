"""`make fresh-clone-check`: the README's two commands work from a clone alone.

Clones the committed HEAD into an empty temporary folder (nothing beside it: no ../shared, no
.venv, no node_modules), then runs there, as a new user would:

- `make test`: installs everything from the pinned files and runs ruff and every test;
- `make run` (on free ports): waits until it prints its pids, checks that the functions' health
  and the emulator's answer healthy, then stops it with Ctrl-C (SIGINT) and checks that no
  process is left.

Slow (a fresh install and the whole suite: minutes), so it is not part of `make test`; the fast
guard there is tests/unit/test_self_contained.py. Uncommitted changes are not checked: commit
first. `--keep` leaves the clone for a look; `--skip-test` checks only `make run`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from devtools.stack import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RUN_START_TIMEOUT = 600  # seconds: `make run` may install first
_PYTEST_SUMMARY = re.compile(r"=+ (.*(?:passed|failed|error).*) =+")


def git(*args: str, cwd: Path = PROJECT_ROOT) -> str:
    command = ["git", *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout.strip()


def clean_environment() -> dict[str, str]:
    """This machine's environment without anything that points into this checkout."""
    here = str(PROJECT_ROOT)
    environ = {k: v for k, v in os.environ.items() if here not in v and k != "VIRTUAL_ENV"}
    path = os.environ.get("PATH", "").split(os.pathsep)
    environ["PATH"] = os.pathsep.join(p for p in path if not p.startswith(here))
    return environ


def clone_head(into: Path) -> str:
    head = git("rev-parse", "HEAD")
    if git("status", "--porcelain", "--untracked-files=no"):
        print("fresh clone: uncommitted changes are not part of this check", flush=True)
    subprocess.run(  # noqa: S603
        ["git", "clone", "--quiet", "--no-checkout", str(PROJECT_ROOT), str(into)],  # noqa: S607
        check=True,
    )
    git("checkout", "--quiet", "--detach", head, cwd=into)
    return head


def make_test(clone: Path, environ: dict[str, str], log: Path) -> bool:
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(
            ["make", "test"], cwd=clone, env=environ,  # noqa: S607
            stdout=out, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
    summary = _PYTEST_SUMMARY.findall(log.read_text())
    took = time.monotonic() - started
    counts = summary[-1] if summary else "no pytest summary"
    print(f"make test: exit {done.returncode} in {took:.0f}s ({counts}); log: {log}", flush=True)
    return done.returncode == 0


def make_run(clone: Path, environ: dict[str, str], log: Path) -> bool:
    host_port, emulator_port = free_port(), free_port()
    run_args = f"--host-port {host_port} --emulator-port {emulator_port} --azurite-ports 0,0,0"
    started = time.monotonic()
    with log.open("w") as out:
        make = subprocess.Popen(  # noqa: S603
            ["make", "run", f"RUN_ARGS={run_args}"], cwd=clone, env=environ,  # noqa: S607
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip
        pids = _wait_for_pids(make, out)
        healthy = bool(pids) and _healthy(clone, host_port, emulator_port)
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C reaches make and the stack alike
        try:
            make.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    left = [pid for pid in pids if _alive(pid)]
    stopped = "stack stopped" in log.read_text() and not left
    took = time.monotonic() - started
    print(f"make run: pids {pids or 'never printed'}, healthy {healthy}, stopped cleanly "
          f"{stopped} in {took:.0f}s; log: {log}", flush=True)  # fmt: skip
    return healthy and stopped


def _wait_for_pids(make: subprocess.Popen[str], out: object) -> list[int]:
    found: list[int] = []
    seen = threading.Event()

    def copy() -> None:
        for line in make.stdout or ():
            out.write(line)  # type: ignore[attr-defined]
            out.flush()  # type: ignore[attr-defined]
            if line.startswith("stack pids:"):
                found.extend(int(pid) for pid in line.split(":", 1)[1].split())
                seen.set()
        seen.set()  # make ended

    threading.Thread(target=copy, daemon=True).start()
    seen.wait(RUN_START_TIMEOUT)
    return list(found)


def _healthy(clone: Path, host_port: int, emulator_port: int) -> bool:
    functions = requests.get(f"http://127.0.0.1:{host_port}/api/health", timeout=10)
    emulator = requests.get(
        f"https://127.0.0.1:{emulator_port}/_emulator/health",
        verify=str(clone / ".stack" / "emulator" / "ca.pem"),
        timeout=10,
    )
    for name, answer in (("functions", functions), ("emulator", emulator)):
        if answer.status_code != 200:
            print(f"make run: {name} health {answer.status_code}: {answer.text}", flush=True)
    return functions.status_code == 200 and emulator.status_code == 200


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.fresh_clone")
    parser.add_argument("--keep", action="store_true", help="leave the clone in place")
    parser.add_argument("--skip-test", action="store_true", help="check `make run` only")
    args = parser.parse_args(argv)

    alone = Path(tempfile.mkdtemp(prefix="fresh-clone-"))  # the clone and nothing else
    logs = Path(tempfile.mkdtemp(prefix="fresh-clone-logs-"))
    clone = alone / PROJECT_ROOT.name
    try:
        head = clone_head(clone)
        print(f"fresh clone: {head[:12]} in {clone} (alone in {alone})", flush=True)
        environ = clean_environment()
        ok = args.skip_test or make_test(clone, environ, logs / "make-test.log")
        ok = make_run(clone, environ, logs / "make-run.log") and ok
    finally:
        if args.keep:
            print(f"fresh clone: kept {clone}", flush=True)
        else:
            shutil.rmtree(alone, ignore_errors=True)
    print("fresh clone: PASS" if ok else "fresh clone: FAIL", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
