"""`make run`: Azurite, the Graph emulator and the local functions host, on loopback, together.

Ctrl-C (or SIGTERM) stops all three and waits for them; if any of them dies, the others are
stopped too, so no process is left behind either way.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

from devtools.azurite import Azurite
from devtools.stack_info import describe_stack
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
    *, storage_connection_string: str, emulator_url: str, ca_file: Path, host_port: int
) -> dict[str, str]:
    """The example settings, the developer's local.settings.json, then what this run started."""
    environ = dict(os.environ)
    environ.update(settings_values(EXAMPLE_SETTINGS))
    environ.update(settings_values(LOCAL_SETTINGS))
    environ.update(
        {
            "AzureWebJobsStorage": storage_connection_string,
            "ENTRA_AUTHORITY_HOST": emulator_url,
            "GRAPH_BASE_URL": f"{emulator_url}/v1.0",
            "TLS_CA_BUNDLE": str(ca_file),
            "APP_PUBLIC_BASE_URL": f"http://127.0.0.1:{host_port}",
        }
    )
    return environ


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.stack")
    parser.add_argument("--host-port", type=int, default=7071)
    parser.add_argument("--emulator-port", type=int, default=7443)
    parser.add_argument(
        "--azurite-ports", default="10000,10001,10002", help="blob,queue,table (0 = any free port)"
    )
    parser.add_argument("--state-dir", type=Path, default=PROJECT_ROOT / ".stack")
    parser.add_argument("--in-memory", action="store_true", help="keep Azurite data in memory")
    args = parser.parse_args(argv)
    state: Path = args.state_dir.resolve()
    blob, queue, table = (int(p) for p in args.azurite_ports.split(","))

    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())

    azurite = Azurite(
        in_memory=args.in_memory, location=state / "azurite", ports=(blob, queue, table)
    )
    children: list[Child] = []
    try:
        endpoints = azurite.start()
        storage = StorageAccount(StorageSettings(connection_string=endpoints.connection_string))
        storage.create_missing(names.TABLES, names.QUEUES)

        emulator_url = f"https://127.0.0.1:{args.emulator_port}"
        ca_file = state / "emulator" / "ca.pem"
        emulator_log = state / "logs" / "graph-emulator.log"
        emulator = Child(
            "graph emulator",
            [sys.executable, "-m", "devtools.graph_emulator", "--port", str(args.emulator_port),
             "--state-dir", str(state / "emulator")],
            dict(os.environ),
            emulator_log,
        )  # fmt: skip
        children.append(emulator)
        discovery = f"{emulator_url}/organizations/v2.0/.well-known/openid-configuration"
        wait_until(
            lambda: ca_file.exists() and requests.get(discovery, verify=str(ca_file), timeout=2).ok,
            emulator,
            60,
            emulator_log,
        )

        environ = stack_environment(
            storage_connection_string=endpoints.connection_string,
            emulator_url=emulator_url,
            ca_file=ca_file,
            host_port=args.host_port,
        )
        host_log = state / "logs" / "functions-host.log"
        host = Child(
            "functions host",
            [sys.executable, "-m", "devtools.localhost", "--port", str(args.host_port)],
            environ,
            host_log,
        )
        children.append(host)
        health = f"http://127.0.0.1:{args.host_port}/api/health"
        wait_until(lambda: requests.get(health, timeout=5).status_code in (200, 503), host, 60,
                   host_log)  # fmt: skip

        print(describe_stack(environ, endpoints, emulator_url, health, state), flush=True)
        pids = [azurite.pid, *(c.process.pid for c in children)]
        print(f"stack pids: {' '.join(str(pid) for pid in pids)}", flush=True)
        while not stopping.wait(0.5):
            dead = [c for c in children if not c.alive()]
            if dead:
                print(f"{dead[0].name} stopped unexpectedly; see {state / 'logs'}", flush=True)
                return 1
        print("stopping...", flush=True)
        return 0
    except RuntimeError as error:
        print(f"make run: {error}", file=sys.stderr)
        return 1
    finally:
        for child in reversed(children):
            child.stop()
        azurite.stop()
        print("stack stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
