"""The OpenAPI document as tests use it: find an answer's operation, check the answer against it.

`ContractChecker.problems(...)` is what every e2e answer goes through (tests/e2e/conftest.py)
and what the unit tests use to prove the document and the code say the same thing.
"""

from __future__ import annotations

import ast
import functools
import importlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from functions.api_docs import problem_codes
from functions.openapi import openapi_document

PROJECT_ROOT = Path(__file__).parents[1]
METHODS = ("get", "post", "put", "patch", "delete")
_DOCUMENT_URI = "urn:openapi"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as in the document, e.g. /conversations/{id}
    spec: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


@functools.cache
def app_functions() -> tuple[Any, ...]:
    """function_app's functions; the SDK refuses a second get_functions() on the same app."""
    from function_app import app

    return tuple(app.get_functions())


def http_routes() -> set[tuple[str, str]]:
    """(method, /route) of every HTTP function the app registers."""
    routes = set()
    for function in app_functions():
        trigger = next(
            json.loads(b) for b in function.get_raw_bindings() if "Trigger" in json.loads(b)["type"]
        )
        if trigger["type"] == "httpTrigger":
            routes |= {(m.lower(), "/" + trigger["route"]) for m in trigger["methods"]}
    return routes


def operations(document: Mapping[str, Any] | None = None) -> Iterator[Operation]:
    document = document or openapi_document()
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield Operation(method, path, item[method])


def documented_codes(operation: Operation, document: Mapping[str, Any] | None = None) -> set[str]:
    document = document or openapi_document()
    return {
        code
        for answer in operation.spec.get("responses", {}).values()
        for code in problem_codes(resolve(document, answer))
    }


def resolve(document: Mapping[str, Any], node: Mapping[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for key in node["$ref"].removeprefix("#/").split("/"):
            target = target[key.replace("~1", "/").replace("~0", "~")]
        node = target
    return dict(node)


class ContractChecker:
    def __init__(self, document: Mapping[str, Any] | None = None) -> None:
        self.document = document or openapi_document()
        self._base = self.document["servers"][0]["url"].rstrip("/")
        self._registry = Registry().with_resource(
            _DOCUMENT_URI, DRAFT202012.create_resource(dict(self.document))
        )
        self._routes = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(op.path)) + "$"), op)
            for op in operations(self.document)
        ]

    def operation_for(self, method: str, url_path: str) -> Operation | None:
        path = url_path.split("?", 1)[0]
        if not path.startswith(self._base + "/"):
            return None
        path = path[len(self._base) :]
        matches = [op for pattern, op in self._routes if op.method == method.lower()
                   and pattern.match(path)]  # fmt: skip
        # A literal route beats a templated one, as the Functions host routes them.
        return min(matches, key=lambda op: op.path.count("{"), default=None)

    def problems(
        self, method: str, url_path: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> list[str]:
        """What in this answer the document does not describe (empty: it matches)."""
        operation = self.operation_for(method, url_path)
        if operation is None:  # the host answers 404 to anything else
            return [] if status == 404 else [f"{method} {url_path}: not in the document"]
        where = f"{operation.label} -> {status}"
        responses = operation.spec["responses"]
        if str(status) not in responses:
            return [f"{where}: status not documented"]
        answer = resolve(self.document, responses[str(status)])
        found = [f"{where}: {p}" for p in self._header_problems(answer, headers)]
        content = answer.get("content", {})
        media = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if not content:
            return found + ([f"{where}: a body was not documented"] if body else [])
        if media not in content:
            return [*found, f"{where}: content type {media or 'none'!r} not documented"]
        if not media.endswith("json"):
            return found
        pointer = "/".join(
            ["#/paths", operation.path.replace("~", "~0").replace("/", "~1"), operation.method,
             "responses", str(status), "content", media.replace("/", "~1"), "schema"]
        )  # fmt: skip
        schema_ref = {"$ref": _DOCUMENT_URI + pointer}
        if "$ref" in responses[str(status)]:
            name = responses[str(status)]["$ref"].rsplit("/", 1)[-1]
            schema_ref = {
                "$ref": f"{_DOCUMENT_URI}#/components/responses/{name}/content/"
                f"{media.replace('/', '~1')}/schema"
            }
        validator = Draft202012Validator(
            schema_ref, registry=self._registry, format_checker=FormatChecker()
        )
        try:
            instance = json.loads(body)
        except ValueError:
            return [*found, f"{where}: the body is not JSON"]
        found += [
            f"{where}: {'/'.join(map(str, e.absolute_path)) or 'body'}: {e.message}"
            for e in validator.iter_errors(instance)
        ]
        return found

    def _header_problems(self, answer: Mapping[str, Any], headers: Mapping[str, str]) -> list[str]:
        present = {k.lower() for k in headers}
        return [
            f"header {name} is documented as required but missing"
            for name, header in answer.get("headers", {}).items()
            if resolve(self.document, header).get("required") and name.lower() not in present
        ]


# --- problem codes the code can raise ------------------------------------------------------------


def codes_in_code(roots: tuple[str, ...] = ("shared", "functions")) -> dict[str, set[str]]:
    """Every problem code the code has, by code: {code: {"where", ...}}.

    The members of `shared.errors.ErrorCode` when there is such a list, and every literal
    `code=` given to an error (a code named by a module constant counts as its value), read from
    the source: a new code the document does not list fails the contract test.
    """
    found = _literal_codes(roots)
    listed = getattr(importlib.import_module("shared.errors"), "ErrorCode", None)
    for member in listed or ():
        found.setdefault(str(member.value), set()).add(f"shared/errors.py: ErrorCode.{member.name}")
    return found


def _literal_codes(roots: tuple[str, ...]) -> dict[str, set[str]]:
    modules = {
        path: ast.parse(path.read_text(encoding="utf-8"))
        for root in roots
        for path in sorted((PROJECT_ROOT / root).rglob("*.py"))
    }
    constants = {path: _string_constants(tree) for path, tree in modules.items()}
    by_module = {
        ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts): values
        for path, values in constants.items()
    }
    found: dict[str, set[str]] = {}
    for path, tree in modules.items():
        names = dict(constants[path])
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in by_module:
                for alias in node.names:
                    if alias.name in by_module[node.module]:
                        names[alias.asname or alias.name] = by_module[node.module][alias.name]
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg != "code":
                    continue
                for value in _strings_in(keyword.value, names):
                    where = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}"
                    found.setdefault(value, set()).add(where)
    return found


def _string_constants(tree: ast.Module) -> dict[str, str]:
    return {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }


def _strings_in(node: ast.expr, names: Mapping[str, str]) -> Iterator[str]:
    """A literal, a constant's name, or `x or "literal"`; a computed code (Graph's) is not."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.Name) and node.id in names:
        yield names[node.id]
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _strings_in(value, names)
