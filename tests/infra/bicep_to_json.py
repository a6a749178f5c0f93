"""Parse every .bicep file under a folder with pycep and print {relative path: tree} as JSON.

Run with the infra virtual environment's Python (pycep-parser lives there, beside checkov):
    .venv-infra/bin/python tests/infra/bicep_to_json.py infra
Each tree also carries the file's text under "_source". A file pycep cannot parse is reported
as {"error": "...", "_source": text} so that the test names it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(root: Path) -> None:
    from pycep import BicepParser

    parser = BicepParser()
    trees: dict[str, object] = {}
    for path in sorted(root.rglob("*.bicep")):
        relative = path.relative_to(root).as_posix()
        text = path.read_text()
        try:
            tree = dict(parser.parse(text=text))
        except Exception as error:  # any parse failure is reported per file
            tree = {"error": f"{type(error).__name__}: {error}"}
        tree["_source"] = text
        trees[relative] = tree
    json.dump(trees, sys.stdout)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
