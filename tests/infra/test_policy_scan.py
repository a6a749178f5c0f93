"""checkov's policy scan of infra/ is clean, and every check it skips says why."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.conftest import CHECKOV_CONFIG

pytestmark = pytest.mark.infra

OWN_POLICIES = {f"CKV_CALSYNC_{n}" for n in range(1, 7)}


def test_policy_scan_is_clean(checkov_report: dict[str, Any]) -> None:
    summary = checkov_report["summary"]
    failed = [
        f"{c['check_id']} {c['check_name']} ({c['file_path']} {c['resource']})"
        for c in checkov_report["results"]["failed_checks"]
    ]
    assert summary["parsing_errors"] == 0, checkov_report["results"].get("parsing_errors")
    assert not failed, "\n".join(failed)
    assert summary["passed"] > 0


def test_own_policies_are_loaded_and_pass(checkov_report: dict[str, Any]) -> None:
    passed = {c["check_id"] for c in checkov_report["results"]["passed_checks"]}
    assert passed >= OWN_POLICIES, f"not run: {sorted(OWN_POLICIES - passed)}"


def test_every_skipped_check_has_a_reason() -> None:
    lines = CHECKOV_CONFIG.read_text().splitlines()
    start = lines.index("skip-check:")
    reasoned = False
    skipped = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if not line.startswith((" ", "\t")) and stripped:
            break  # the next top-level key
        if stripped.startswith("#"):
            reasoned = True
        elif stripped.startswith("- "):
            skipped.append(stripped[2:])
            assert reasoned, f"{stripped[2:]} is skipped without a comment above it saying why"
        elif not stripped:
            reasoned = False
    assert skipped, "no skip-check list found"
    assert len(skipped) == len(set(skipped)), "a check is skipped twice"
