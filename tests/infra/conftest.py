"""Offline checks of the deployment templates.

pycep-parser and checkov live in their own virtual environment, .venv-infra (checkov pins
dependencies that the app's do not agree with): these tests run in the app's pytest and call
that environment's Python in a subprocess. Set INFRA_PYTHON to use another one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
CHECKOV_CONFIG = REPO / ".checkov.yaml"
INSTALL_HINT = (
    "python3.11 -m venv .venv-infra && .venv-infra/bin/pip install -r requirements-infra.txt"
)

Templates = dict[str, dict[str, Any]]


def infra_python() -> Path:
    configured = os.environ.get("INFRA_PYTHON")
    return Path(configured) if configured else REPO / ".venv-infra" / "bin" / "python"


def _require_infra_python() -> Path:
    python = infra_python()
    if python.exists():
        return python
    message = (
        f"{python} is missing: the template tests need pycep-parser and checkov ({INSTALL_HINT})"
    )
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def parse_tree(root: Path) -> Templates:
    """Every .bicep file under root, parsed by pycep, keyed by its path relative to root."""
    result = subprocess.run(  # noqa: S603 - a fixed interpreter and our own script
        [
            str(_require_infra_python()),
            str(Path(__file__).with_name("bicep_to_json.py")),
            str(root),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0:
        pytest.fail(f"pycep run failed:\n{result.stderr}", pytrace=False)
    return json.loads(result.stdout)


def run_checkov(workdir: Path) -> dict[str, Any]:
    """checkov with workdir/.checkov.yaml, from workdir (the config names infra/ relative to it).

    Offline: skip-download is in the config, the update check is off, Prisma Cloud credentials
    are dropped, and any request that still tried would go to a closed local port.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_"))}
    env |= {
        "LOG_LEVEL": "WARNING",
        "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "",
    }
    python = _require_infra_python()
    result = subprocess.run(  # noqa: S603 - a fixed interpreter and module
        [str(python), "-m", "checkov.main", "--config-file", ".checkov.yaml", "--output", "json"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env=env,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(
            f"checkov printed no JSON report (exit {result.returncode}):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}",
            pytrace=False,
        )
    reports = report if isinstance(report, list) else [report]
    bicep = [r for r in reports if r.get("check_type") == "bicep"]
    assert len(bicep) == 1, (
        f"expected one bicep report, got {[r.get('check_type') for r in reports]}"
    )
    return bicep[0]


@pytest.fixture(scope="session")
def templates() -> Templates:
    parsed = parse_tree(INFRA)
    assert parsed, f"no .bicep file under {INFRA}"
    return parsed


@pytest.fixture(scope="session")
def checkov_report() -> dict[str, Any]:
    return run_checkov(REPO)


@pytest.fixture
def copy_deployment(tmp_path: Path) -> Callable[[], Path]:
    """A copy of infra/ and .checkov.yaml in a temporary folder, to break on purpose."""

    def make() -> Path:
        root = tmp_path / "deployment"
        shutil.copytree(INFRA, root / "infra", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(CHECKOV_CONFIG, root / ".checkov.yaml")
        return root

    return make


@pytest.fixture(scope="session")
def shell() -> str:
    """The POSIX shell azd runs hooks with."""
    found = shutil.which("sh")
    if found is None:
        pytest.skip("no sh on PATH")
    return found


def python_executable() -> str:
    return sys.executable
