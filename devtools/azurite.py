"""Start Azurite (pinned in package-lock.json) on loopback and learn the ports it chose."""

from __future__ import annotations

import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
AZURITE_BIN = PROJECT_ROOT / "node_modules" / ".bin" / "azurite"

# Azurite's well-known development account (public, documented by Microsoft; not a secret).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at (\S+)")


@dataclass(frozen=True)
class AzuriteEndpoints:
    blob: str
    queue: str
    table: str

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob}/{ACCOUNT};QueueEndpoint={self.queue}/{ACCOUNT};"
            f"TableEndpoint={self.table}/{ACCOUNT};"
        )


class Azurite:
    """An Azurite child process; ports 0 let the OS choose, so several runs never collide."""

    def __init__(
        self,
        *,
        in_memory: bool = True,
        location: Path | None = None,
        ports: tuple[int, int, int] = (0, 0, 0),
    ) -> None:
        if not AZURITE_BIN.exists():
            raise FileNotFoundError(f"{AZURITE_BIN} is missing: run `npm ci` (make does it)")
        blob, queue, table = ports
        self._command = [
            str(AZURITE_BIN),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(blob),
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(queue),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(table),
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--loose",
        ]
        if in_memory:
            self._command.append("--inMemoryPersistence")
        elif location is not None:
            location.mkdir(parents=True, exist_ok=True)
            self._command += ["--location", str(location)]
        self._process: subprocess.Popen[str] | None = None
        self.endpoints: AzuriteEndpoints | None = None

    def start(self, timeout: float = 60.0) -> AzuriteEndpoints:
        self._process = subprocess.Popen(  # noqa: S603 - a fixed command line
            self._command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        found: dict[str, str] = {}
        ready = threading.Event()
        output: list[str] = []

        stdout = self._process.stdout

        def read() -> None:
            for line in stdout or ():
                output.append(line)
                match = _LISTENING.search(line)
                if match:
                    found[match.group(1).lower()] = match.group(2).rstrip("/")
                    if len(found) == 3:
                        ready.set()
            ready.set()  # the process ended: stop waiting

        threading.Thread(target=read, name="azurite-output", daemon=True).start()
        if not ready.wait(timeout) or len(found) < 3:
            self.stop()
            raise RuntimeError("Azurite did not start:\n" + "".join(output[-20:]))
        self.endpoints = AzuriteEndpoints(found["blob"], found["queue"], found["table"])
        return self.endpoints

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None
