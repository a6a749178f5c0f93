"""The deployed dependencies are fully pinned: requirements.txt is pip-compile's output for
requirements.in, every package at one version with the hashes of its files, and the dev set
(requirements-dev.txt, installed in pip's hash-checking mode) holds the very same runtime pins.
`make lock` recompiles both; this test needs no network."""

from __future__ import annotations

import re

from packaging.requirements import Requirement

from tests.infra.conftest import REPO

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+) \\$")
HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}")


def pins(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """{package: (version, hashes)} of a compiled requirements file; fails on anything unpinned."""
    found: dict[str, tuple[str, frozenset[str]]] = {}
    current: str | None = None
    for line in (REPO / name).read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if match := PIN.match(line):
            current = match[1].lower().replace("_", "-")
            found[current] = (match[2], frozenset())
        elif HASH.match(line) and current:
            version, hashes = found[current]
            found[current] = (version, hashes | {line.split("sha256:")[1].rstrip(" \\")})
        else:
            raise AssertionError(f"{name}: not a pinned, hashed requirement: {line!r}")
    return found


def direct(name: str) -> list[Requirement]:
    lines = (REPO / name).read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and line[0] not in "#-"]


def test_every_deployed_package_is_pinned_with_hashes() -> None:
    locked = pins("requirements.txt")
    assert locked
    for package, (version, hashes) in locked.items():
        assert hashes, f"{package}=={version} has no hash"


def test_the_lock_satisfies_every_direct_dependency() -> None:
    locked = pins("requirements.txt")
    for requirement in direct("requirements.in"):
        name = requirement.name.lower().replace("_", "-")
        assert name in locked, f"{name} of requirements.in is not in requirements.txt: make lock"
        assert requirement.specifier.contains(locked[name][0]), (
            f"{name}: requirements.txt has {locked[name][0]}, requirements.in wants "
            f"{requirement.specifier}: make lock"
        )


def test_the_dev_set_installs_the_deployed_versions() -> None:
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    for package, (version, hashes) in runtime.items():
        assert dev.get(package, ("missing", frozenset()))[0] == version, f"{package}: make lock"
        assert hashes <= dev[package][1]
    for requirement in direct("requirements-dev.in"):
        assert requirement.name.lower() in dev, f"{requirement.name}: make lock"
