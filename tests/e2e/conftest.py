"""The real function app served by the local host in its own process, as `make run` serves it."""

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from devtools.graph_emulator.server import GraphEmulator
from devtools.host_app import HostApp
from devtools.stack import free_port
from shared.storage import names
from tests.conftest import app_settings
from tests.openapi_contract import ContractChecker

PROJECT_ROOT = Path(__file__).parents[2]
START_TIMEOUT = 60


@dataclass
class RunningHost:
    base_url: str
    process: subprocess.Popen[str]
    output: list[str]
    lines: queue.Queue[str | None]

    def wait_for(self, text: str, timeout: float = START_TIMEOUT) -> str:
        """The next line of the host's log containing `text` (earlier lines are passed over)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                logged = [n for n in self.output if n[:2] == "20" and "azure.core" not in n]
                tail = "".join(logged[-60:])  # the host's own lines, not the SDK's request log
                raise AssertionError(
                    f"no {text!r} in the host's log within {timeout}s:\n{tail}"
                ) from None
            if line is None:
                raise RuntimeError("local host exited:\n" + "".join(self.output))
            if text in line:
                return line

    def wait_for_each(self, *texts: str, timeout: float = START_TIMEOUT) -> dict[str, str]:
        """The first line containing each of `texts`, in whatever order they are logged (a
        queue worker may finish before the function that queued its work logs its report)."""
        found: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while len(found) < len(texts):
            try:
                line = self.wait_for("", timeout=max(0.0, deadline - time.monotonic()))
            except AssertionError as error:
                missing = [text for text in texts if text not in found]
                raise AssertionError(f"never logged: {missing!r}\n{error}") from None
            found |= {text: line for text in texts if text in line and text not in found}
        return found

    def skip_log(self) -> None:
        """Forget what was logged so far: the next wait_for sees only what comes after."""
        while not self.lines.empty():
            self.lines.get_nowait()


def start_local_host(
    environ: dict[str, str], tmp_path: Path, port: int = 0, args: Sequence[str] = ()
) -> RunningHost:
    """Start `python -m devtools.localhost` (with more `args`); return once it says it listens."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "devtools.localhost", "--port", str(port),
         "--settings", str(tmp_path / "no-local-settings.json"), *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **environ},  # as `make run` does: the machine's CA variables too
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        for line in process.stdout or ():
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        line = lines.get(timeout=START_TIMEOUT)
        if line is None:
            raise RuntimeError("local host exited:\n" + "".join(output))
        if "listening on " in line:
            return RunningHost(line.rsplit(" ", 1)[1].strip(), process, output, lines)


def stop_local_host(host: RunningHost) -> int:
    host.process.terminate()
    return host.process.wait(timeout=30)


def emulator_settings(emulator: GraphEmulator, port: int) -> dict[str, str]:
    return {
        "ENTRA_AUTHORITY_HOST": emulator.authority_host,
        "GRAPH_BASE_URL": emulator.graph_base_url,
        "TLS_CA_BUNDLE": str(emulator.ca_file),
        "APP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }


@pytest.fixture(scope="session")
def host_environment(azurite, emulator) -> dict[str, str]:
    port = free_port()
    return app_settings(azurite.connection_string, **emulator_settings(emulator, port))


def hosting(environ: dict[str, str], tmp_path_factory) -> Iterator[RunningHost]:
    """The local host on the port of the environment's APP_PUBLIC_BASE_URL, stopped afterwards."""
    port = int(environ["APP_PUBLIC_BASE_URL"].rsplit(":", 1)[1])
    host = start_local_host(environ, tmp_path_factory.mktemp("host"), port)
    yield host
    stop_local_host(host)


@pytest.fixture(scope="session")
def local_host(host_environment, storage, tmp_path_factory) -> Iterator[RunningHost]:
    yield from hosting(host_environment, tmp_path_factory)


@pytest.fixture(scope="session")
def contract() -> ContractChecker:
    return ContractChecker()


@pytest.fixture
def host_app(local_host, emulator, host_environment, contract) -> Iterator[HostApp]:
    """The host app; every answer it gets from the function app must match the OpenAPI
    document (status, content type, schema, problem codes of that operation)."""
    app = HostApp(local_host.base_url, emulator.base_url, emulator.ca_file, host_environment)
    mismatches: list[str] = []

    def check(answer: requests.Response) -> None:
        method, path = str(answer.request.method), answer.request.path_url
        mismatches.extend(
            contract.problems(method, path, answer.status_code, answer.headers, answer.content)
        )

    app.watch_answers(check)
    yield app
    assert mismatches == [], "answers the OpenAPI document does not describe"


@pytest.fixture(autouse=True)
def free_microsoft_accounts(storage) -> None:
    """Each test starts with every demo Microsoft account free to link (tests use fresh orgs)."""
    links = storage.table(names.ACCOUNT_LINKS_TABLE)
    for entity in links.list_entities():
        links.delete_entity(entity["PartitionKey"], entity["RowKey"])


@pytest.fixture(autouse=True)
def no_tenant_paused(storage) -> Iterator[None]:
    """A Retry-After a test provoked pauses its organisation's background work (shared/sync/
    pauses.py) for as long as it says: the next test starts without it."""
    yield
    schedule = storage.table(names.SCHEDULE_TABLE)
    for entity in schedule.query_entities("PartitionKey eq 'tenant-paused'"):
        schedule.delete_entity(entity["PartitionKey"], entity["RowKey"])
