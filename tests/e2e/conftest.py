"""The real function app served by the local host in its own process, as `make run` serves it."""

import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import app_settings

PROJECT_ROOT = Path(__file__).parents[2]
START_TIMEOUT = 60


@dataclass
class RunningHost:
    base_url: str
    process: subprocess.Popen[str]
    output: list[str]


def start_local_host(environ: dict[str, str], tmp_path: Path) -> RunningHost:
    """Start `python -m devtools.localhost` on a free port; return once it says it listens."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "devtools.localhost", "--port", "0",
         "--settings", str(tmp_path / "no-local-settings.json")],
        cwd=PROJECT_ROOT,
        env={"PATH": os.environ["PATH"], **environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()
    output: list[str] = []

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    while True:
        line = lines.get(timeout=START_TIMEOUT)
        if line is None:
            raise RuntimeError("local host exited:\n" + "".join(output))
        if "listening on " in line:
            return RunningHost(line.rsplit(" ", 1)[1].strip(), process, output)


def stop_local_host(host: RunningHost) -> int:
    host.process.terminate()
    return host.process.wait(timeout=30)


@pytest.fixture(scope="session")
def local_host(azurite, storage, tmp_path_factory) -> Iterator[RunningHost]:
    host = start_local_host(
        app_settings(azurite.connection_string), tmp_path_factory.mktemp("host")
    )
    yield host
    stop_local_host(host)
