"""`make run`: Azurite, the Graph emulator, the local functions host and the demo page, together.

Ctrl-C (or SIGTERM) stops them all and waits for them; if any of them dies, the others are
stopped too, so no process is left behind either way.

State lives in `.stack/`: Azurite's data, the emulator's (keys, sign-ins, mailboxes,
subscriptions), and the shared clock (`python -m devtools.clock`), so a second `make run` goes on
where the first stopped. `make reset` (devtools/stack_reset.py) wipes it all, so the next run
starts clean, every part together.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

from devtools import clock, demo_directory
from devtools.azurite import Azurite
from devtools.localhost.cors import settings_cors
from devtools.stack_info import describe_stack
from devtools.stack_reset import RUN_PID, running_pid
from shared.settings import StorageSettings
from shared.storage import names
from shared.storage.account import StorageAccount

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SETTINGS = PROJECT_ROOT / "local.settings.example.json"
LOCAL_SETTINGS = PROJECT_ROOT / "local.settings.json"


def settings_values(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return {k: str(v) for k, v in json.loads(path.read_text()).get("Values", {}).items()}


def stack_environment(
    *,
    storage_connection_string: str,
    emulator_url: str,
    ca_file: Path,
    host_port: int,
    demo_origin: str | None = None,
) -> dict[str, str]:
    """The example settings, the developer's local.settings.json, then what this run started."""
    environ = dict(os.environ)
    environ.update(settings_values(EXAMPLE_SETTINGS))
    environ.update(settings_values(LOCAL_SETTINGS))
    environ["HOST_APP_ORIGINS"] = with_origin(environ.get("HOST_APP_ORIGINS", ""), demo_origin)
    environ.update(
        {
            "AzureWebJobsStorage": storage_connection_string,
            "ENTRA_AUTHORITY_HOST": emulator_url,
            "GRAPH_BASE_URL": f"{emulator_url}/v1.0",
            "TLS_CA_BUNDLE": str(ca_file),
            "APP_PUBLIC_BASE_URL": f"http://127.0.0.1:{host_port}",
            # The emulator plays the Functions platform's managed identity endpoint, for
            # ENTRA_CLIENT_CREDENTIAL=managed_identity (shared/client_credential.py).
            "IDENTITY_ENDPOINT": f"{emulator_url}/msi/token",
            "IDENTITY_HEADER": demo_directory.IDENTITY_HEADER,
        }
    )
    return environ


def with_origin(origins: str, origin: str | None) -> str:
    """A comma-separated origin list that includes `origin` (the demo page's, on its port)."""
    listed = [o.strip() for o in origins.split(",") if o.strip()]
    return ",".join(listed + ([origin] if origin and origin not in listed else []))


def host_cors(demo_origin: str) -> str:
    """`Host.CORS` as Core Tools takes it (local.settings.json, else the example), so the demo
    page may call the API from its origin."""
    local, _ = settings_cors(LOCAL_SETTINGS)
    example, _ = settings_cors(EXAMPLE_SETTINGS)
    return with_origin(local if local is not None else example or "", demo_origin)


class Child:
    """A child process in its own process group, stopped with everything it started."""

    def __init__(self, name: str, command: list[str], environ: dict[str, str], log: Path) -> None:
        self.name = name
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - fixed commands of this project
            command,
            cwd=PROJECT_ROOT,
            env=environ,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def wait_until(ready: Callable[[], bool], child: Child, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited during start:\n{log.read_text()[-3000:]}")
        try:
            if ready():
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)  # polling a starting server; nothing to be notified by
    raise RuntimeError(f"{child.name} did not become ready in {timeout:.0f}s; see {log}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalStack:
    """Azurite, the Graph emulator, the local functions host and the demo page, together.

    `make run` uses it on the usual ports; benchmarks use it on free ones.
    """

    def __init__(
        self,
        state: Path,
        *,
        host_port: int = 7071,
        emulator_port: int = 7443,
        azurite_ports: tuple[int, int, int] = (10000, 10001, 10002),
        in_memory: bool = False,
        extra_settings: dict[str, str] | None = None,
        demo_port: int = 3000,
    ) -> None:
        self.state = state
        self.host_port = host_port
        self.demo_url = f"http://127.0.0.1:{demo_port}"  # the demo host app's page
        self._demo_port = demo_port
        self.emulator_url = f"https://127.0.0.1:{emulator_port}"
        self.ca_file = state / "emulator" / "ca.pem"
        self.clock_file = state / clock.FILE_NAME
        self._persist = not in_memory
        self.host_url = f"http://127.0.0.1:{host_port}"
        self._emulator_port = emulator_port
        self._extra = extra_settings or {}
        self._azurite = Azurite(
            in_memory=in_memory, location=state / "azurite", ports=azurite_ports
        )
        self.children: list[Child] = []
        self.environ: dict[str, str] = {}

    def start(self) -> None:
        endpoints = self.endpoints = self._azurite.start()
        storage = StorageAccount(StorageSettings(connection_string=endpoints.connection_string))
        storage.create_missing(names.TABLES, names.QUEUES)

        emulator_log = self.state / "logs" / "graph-emulator.log"
        emulator = Child(
            "graph emulator",
            [sys.executable, "-m", "devtools.graph_emulator", "--port", str(self._emulator_port),
             "--state-dir", str(self.state / "emulator"), "--clock-file", str(self.clock_file),
             *(["--persist"] if self._persist else [])],
            dict(os.environ),
            emulator_log,
        )  # fmt: skip
        self.children.append(emulator)
        wait_until(self._emulator_ready, emulator, 60, emulator_log)

        self.environ = (
            stack_environment(
                storage_connection_string=endpoints.connection_string,
                emulator_url=self.emulator_url,
                ca_file=self.ca_file,
                host_port=self.host_port,
                demo_origin=self.demo_url,
            )
            | self._extra
        )
        host_log = self.state / "logs" / "functions-host.log"
        host = Child(
            "functions host",
            [sys.executable, "-m", "devtools.localhost", "--port", str(self.host_port),
             "--cors", host_cors(self.demo_url), "--clock-file", str(self.clock_file)],
            self.environ,
            host_log,
        )  # fmt: skip
        self.children.append(host)
        wait_until(
            lambda: requests.get(self.health_url, timeout=5).status_code in (200, 503),
            host,
            60,
            host_log,
        )
        self._start_demo_page()

    def _start_demo_page(self) -> None:
        log = self.state / "logs" / "demo-page.log"
        page = Child(
            "demo page",
            [sys.executable, "-m", "devtools.demo_page", "--port", str(self._demo_port),
             "--api-url", self.host_url, "--emulator-url", self.emulator_url,
             "--ca-file", str(self.ca_file)],
            self.environ,
            log,
        )  # fmt: skip
        self.children.append(page)
        wait_until(
            lambda: requests.get(f"{self.demo_url}/demo/config", timeout=5).ok, page, 30, log
        )

    def _emulator_ready(self) -> bool:
        """The sign-in metadata answers and the emulator's own health check passes."""
        if not self.ca_file.exists():
            return False
        discovery = f"{self.emulator_url}/organizations/v2.0/.well-known/openid-configuration"
        if not requests.get(discovery, verify=str(self.ca_file), timeout=2).ok:
            return False
        health = requests.get(
            f"{self.emulator_url}/_emulator/health", verify=str(self.ca_file), timeout=10
        )
        if health.status_code == 503:
            problems = "; ".join(health.json().get("problems", []))
            raise RuntimeError(f"the graph emulator is broken: {problems}")
        return health.ok

    @property
    def health_url(self) -> str:
        return f"{self.host_url}/api/health"

    @property
    def azurite_pid(self) -> int | None:
        return self._azurite.pid

    @property
    def pids(self) -> list[int]:
        return [pid for pid in (self._azurite.pid, *(c.process.pid for c in self.children)) if pid]

    def dead_child(self) -> Child | None:
        return next((c for c in self.children if not c.alive()), None)

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        self.children = []
        self._azurite.stop()

    @classmethod
    @contextlib.contextmanager
    def throwaway(cls) -> Iterator[LocalStack]:
        """A stack on free ports with in-memory storage, in a temporary folder (benchmarks)."""
        with tempfile.TemporaryDirectory() as state:
            stack = cls(Path(state), host_port=free_port(), emulator_port=free_port(),
                        azurite_ports=(0, 0, 0), in_memory=True,
                        demo_port=free_port())  # fmt: skip
            with stack:
                yield stack

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.stack")
    parser.add_argument("--host-port", type=int, default=7071)
    parser.add_argument("--emulator-port", type=int, default=7443)
    parser.add_argument(
        "--azurite-ports", default="10000,10001,10002", help="blob,queue,table (0 = any free port)"
    )
    parser.add_argument("--demo-port", type=int, default=3000, help="the demo host app's page")
    parser.add_argument("--state-dir", type=Path, default=PROJECT_ROOT / ".stack")
    parser.add_argument(
        "--in-memory", action="store_true", help="keep nothing: Azurite's data and the emulator's "
        "state in memory only"
    )  # fmt: skip
    args = parser.parse_args(argv)
    state = args.state_dir.resolve()
    if running_pid(state) is not None:
        print(f"make run: another `make run` uses {state}", file=sys.stderr)
        return 1
    blob, queue, table = (int(p) for p in args.azurite_ports.split(","))

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())

    stack = LocalStack(
        state,
        host_port=args.host_port,
        emulator_port=args.emulator_port,
        azurite_ports=(blob, queue, table),
        in_memory=args.in_memory,
        demo_port=args.demo_port,
    )
    state.mkdir(parents=True, exist_ok=True)
    (state / RUN_PID).write_text(str(os.getpid()))
    try:
        stack.start()
        print(
            describe_stack(stack.environ, stack.endpoints, stack.emulator_url, stack.health_url,
                           stack.state, demo_url=stack.demo_url),
            flush=True,
        )  # fmt: skip
        print(f"stack pids: {' '.join(str(pid) for pid in stack.pids)}", flush=True)
        while not stopping.wait(0.5):
            dead = stack.dead_child()
            if dead:
                print(f"{dead.name} stopped unexpectedly; see {stack.state / 'logs'}", flush=True)
                return 1
        print("stopping...", flush=True)
        return 0
    except RuntimeError as error:
        print(f"make run: {error}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
        (state / RUN_PID).unlink(missing_ok=True)
        print("stack stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
