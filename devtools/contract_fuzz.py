"""Schemathesis against the running app: every operation of /api/openapi.json, fuzzed.

Used by the contract test (a fixed, seeded, modest budget) and by `python -m bench.contract`
(a longer run). The caller is an organisation admin who has connected Outlook, so operations
get past authentication and reach Outlook; the checks are schemathesis's own (no 5xx, status,
content type, headers and body as documented, links followed) plus `contract_checks`: every
error is problem+json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.demo_directory import MANAGER
from devtools.host_app import HostApp
from functions.openapi import DOCUMENT

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONFIG = Path(__file__).with_name("schemathesis.toml")  # which checks, and why some are off


@dataclass(frozen=True)
class ContractReport:
    exit_code: int
    report: dict[str, Any]
    output: str

    @property
    def operations_tested(self) -> int:
        return int((self.report.get("operations") or {}).get("tested", 0))

    @property
    def test_cases(self) -> int:
        return int(self.report.get("test_cases", {}).get("generated", 0))

    @property
    def failures(self) -> list[dict[str, Any]]:
        return list(self.report.get("failures", []))

    @property
    def errors(self) -> list[dict[str, Any]]:
        return list(self.report.get("errors", []))

    def summary(self) -> str:
        lines = [
            f"operations tested: {self.operations_tested}",
            f"test cases: {self.test_cases}",
            f"failures: {len(self.failures)}",
        ]
        lines += [
            f"  {f['title']} ({f['count']}x): {', '.join(f['operations'])}" for f in self.failures
        ]
        lines += [f"error: {e['title']} ({e['count']}x)" for e in self.errors]
        return "\n".join(lines)


def fuzzing_caller(app: HostApp) -> str:
    """An admin of a fresh organisation with Outlook on and their calendar connected."""
    switched = app.set_switches(MANAGER, allow=True)
    if switched.status_code != 200:
        raise RuntimeError(f"switching Outlook on failed: {switched.text}")
    outcome = app.connect(MANAGER)
    if outcome.get("outlook") != "connected":
        raise RuntimeError(f"connecting the fuzzing caller failed: {outcome}")
    return app.token(MANAGER)


def run_schemathesis(
    base_url: str,
    token: str,
    report_dir: Path,
    *,
    seed: int,
    max_examples: int | None = None,
    max_time: int | None = None,
    workers: int = 1,
) -> ContractReport:
    """Run the CLI (the pinned tool, as a developer would) and read its JSON report."""
    report_dir.mkdir(parents=True, exist_ok=True)
    report_path = report_dir / "schemathesis.json"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
        # The document from the package, and the app's base URL: loaded from the app's own
        # URL, schemathesis would leave GET /openapi.json untested (the tests check they match).
        "run", str(DOCUMENT), "--url", f"{base_url}/api",
        "--header", f"Authorization: Bearer {token}",
        "--seed", str(seed),
        "--workers", str(workers),
        "--generation-database", "none",
        "--request-timeout", "30",
        "--report", "json", "--report-json-path", str(report_path),
        "--no-color",
    ]  # fmt: skip
    if max_examples is not None:
        command += ["--max-examples", str(max_examples)]
    if max_time is not None:
        command += ["--max-time", str(max_time)]
    environ = {**os.environ, "SCHEMATHESIS_HOOKS": "devtools.contract_checks"}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                          environ.get("PYTHONPATH")]))  # fmt: skip
    done = subprocess.run(  # noqa: S603 - the pinned tool with fixed arguments
        command, cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True, check=False
    )
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    return ContractReport(done.returncode, report, done.stdout + done.stderr)
