"""The project needs nothing outside its own tree: no tracked file points above the repository.

A clone is all a new user has (no ../shared beside it). `make fresh-clone-check` proves it the
slow way (a clone alone in an empty folder runs `make test` and `make run`); this guards the rule
on every `make test`: no `Path(__file__).parents[n]` or `.parent` chain climbing past the root,
no relative `../` path leaving the repository from where it is written, no absolute path of
this machine's work folders.
"""

import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
_PARENTS = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?\.parents\[(\d+)\]")
_PARENT_CHAIN = re.compile(r"Path\(__file__\)(?:\.resolve\(\))?((?:\.parent\b)+)")
_UPWARD = re.compile(r"(?<![\w.])((?:\.\./)+)")
_MACHINE_PATHS = re.compile(r"(?<![\w.])/work/\w")
_EXAMPLES = "tests/unit/test_self_contained.py"  # this file: its examples are what it forbids


def references_outside(relative: str, text: str) -> list[str]:
    """What in one tracked file (path relative to the root) reaches outside the repository."""
    depth = len(PurePosixPath(relative).parts) - 1  # folders between the root and the file
    found = []
    for match in _PARENTS.finditer(text):
        if int(match.group(1)) > depth:  # parents[depth] is the root
            found.append(match.group(0))
    for match in _PARENT_CHAIN.finditer(text):
        if match.group(1).count(".parent") > depth + 1:  # one .parent is the file's folder
            found.append(match.group(0))
    for match in _UPWARD.finditer(text):
        if match.group(1).count("../") > depth:
            found.append(text[match.start() : match.end() + 20].split()[0])
    found += [match.group(0) for match in _MACHINE_PATHS.finditer(text)]
    return found


def tracked_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"],  # noqa: S607 - git from PATH, as make uses it
        cwd=PROJECT_ROOT, capture_output=True, check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        pytest.skip("not a git checkout: nothing says which files are the project's")
    return [name for name in listed.stdout.decode().split("\0") if name]


def test_no_tracked_file_reaches_outside_the_repository():
    offenders = {}
    for relative in tracked_files():
        if relative == _EXAMPLES:
            continue
        try:
            text = (PROJECT_ROOT / relative).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):  # binary, or deleted but not committed
            continue
        found = references_outside(relative, text)
        if found:
            offenders[relative] = found
    assert offenders == {}


@pytest.mark.parametrize(
    ("relative", "text"),
    [
        # The very line that made a clone fail: three folders up from a file two folders deep.
        ("devtools/graph_emulator/schema.py",
         'Path(__file__).resolve().parents[3] / "shared" / "graph" / "v1.0-metadata.xml"'),
        ("devtools/stack.py", "ROOT = Path(__file__).parent.parent.parent"),
        ("README.md", "the schema comes from `../shared/graph`"),
        ("tests/conftest.py", 'SCHEMA = "../../../shared/x.xml"'),
        ("Makefile", "\tcp /work/shared/docs/style.md ."),
    ],
)  # fmt: skip
def test_the_guard_sees_paths_that_leave_the_repository(relative, text):
    assert references_outside(relative, text) != []


@pytest.mark.parametrize(
    ("relative", "text"),
    [
        ("devtools/graph_emulator/schema.py", "Path(__file__).resolve().parents[2] / 'shared'"),
        ("devtools/stack.py", "PROJECT_ROOT = Path(__file__).resolve().parent.parent"),
        ("devtools/graph_emulator/metadata/README.md", "checked by `../schema.py`"),
        ("infra/entra/register-app.sh", '. "$here/../scripts/lib.sh"'),
        ("README.md", "| `POST /api/conversations/{id}/notes`, `.../actions` |"),
    ],
)
def test_the_guard_lets_paths_inside_the_repository_be(relative, text):
    assert references_outside(relative, text) == []
