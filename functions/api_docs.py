"""The OpenAPI document as one plain HTML page: every operation, its inputs, answers and codes.

Generated from the document itself, so it cannot say anything the document does not; it loads
nothing from elsewhere (no scripts, fonts or stylesheets).
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

_METHODS = ("get", "post", "put", "patch", "delete")
_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1a1a1a}
code{background:#f2f2f2;padding:0 .2em;border-radius:3px}
section.op{border-top:1px solid #ccc;padding:.5rem 0}
.method{display:inline-block;min-width:4.5em;font-weight:700;color:#fff;background:#1d4ed8;
padding:0 .4em;border-radius:3px;text-transform:uppercase}
table{border-collapse:collapse;width:100%}th,td{text-align:left;border-bottom:1px solid #ddd;
padding:.2rem .4rem;vertical-align:top}
"""


def render_docs(document: dict[str, Any], *, spec_url: str) -> str:
    info = document.get("info", {})
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{escape(info.get('title', 'API'))}</title><style>{_STYLE}</style></head><body>",
        f"<header><h1>{escape(info.get('title', 'API'))} <small>{escape(info.get('version', ''))}"
        f"</small></h1><p>Machine-readable: <a href='{escape(spec_url)}'>{escape(spec_url)}</a>"
        " (OpenAPI 3.1)</p></header><main>",
        _markdown(info.get("description", "")),
        "<h2>Operations</h2>",
    ]
    base = (document.get("servers") or [{"url": ""}])[0]["url"].rstrip("/")
    listed = [
        (base + path, method, item, item[method])
        for path, item in document.get("paths", {}).items()
        for method in _METHODS
        if method in item
    ]
    parts.append("<ul>")
    parts += [
        f"<li><a href='#{escape(op.get('operationId', ''))}'>{method.upper()} {escape(path)}</a>"
        f" — {escape(op.get('summary', ''))}</li>"
        for path, method, _, op in listed
    ]
    parts.append("</ul>")
    parts += [_operation(document, path, method, item, op) for path, method, item, op in listed]
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _operation(
    document: dict[str, Any], path: str, method: str, item: dict[str, Any], op: dict[str, Any]
) -> str:
    anchor = escape(op.get("operationId", f"{method}-{path}"))
    secured = op.get("security", document.get("security")) != []
    lines = [
        f"<section class='op' id='{anchor}'><h3><span class='method'>{method}</span> "
        f"<code>{escape(path)}</code></h3>",
        f"<p><strong>{escape(op.get('summary', ''))}</strong>"
        f"{' (bearer token)' if secured else ' (no token)'}</p>",
        _markdown(op.get("description", "")),
    ]
    parameters = [
        _resolve(document, p) for p in item.get("parameters", []) + op.get("parameters", [])
    ]
    if parameters:
        lines.append("<table><caption>Parameters</caption><tr><th>Name</th><th>In</th>"
                     "<th>Required</th><th>Description</th></tr>")  # fmt: skip
        for p in parameters:
            lines.append(
                f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
                f"<td>{'yes' if p.get('required') else 'no'}</td>"
                f"<td>{_inline(p.get('description', ''))}</td></tr>"
            )
        lines.append("</table>")
    body = op.get("requestBody")
    if body:
        schema = body.get("content", {}).get("application/json", {}).get("schema", {})
        lines.append(f"<p>Body (JSON): {_schema_name(schema)}</p>")
    lines.append("<table><caption>Answers</caption><tr><th>Status</th><th>Meaning</th>"
                 "<th>Codes</th></tr>")  # fmt: skip
    for status, answer in op.get("responses", {}).items():
        answer = _resolve(document, answer)
        codes = ", ".join(f"<code>{escape(c)}</code>" for c in problem_codes(answer))
        lines.append(
            f"<tr><td>{escape(status)}</td><td>{_inline(answer.get('description', ''))}</td>"
            f"<td>{codes}</td></tr>"
        )
    lines.append("</table></section>")
    return "\n".join(lines)


def problem_codes(answer: dict[str, Any]) -> list[str]:
    """The `code` values a problem+json answer lists (its schema's `code` enum)."""
    schema = answer.get("content", {}).get("application/problem+json", {}).get("schema", {})
    for part in schema.get("allOf", []):
        enum = part.get("properties", {}).get("code", {}).get("enum")
        if enum:
            return list(enum)
    return []


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for key in node["$ref"].removeprefix("#/").split("/"):
            target = target[key]
        node = target
    return node


def _schema_name(schema: dict[str, Any]) -> str:
    ref = schema.get("$ref", "")
    return f"<code>{escape(ref.rsplit('/', 1)[-1])}</code>" if ref else "JSON"


def _inline(text: str) -> str:
    html = escape(text)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)


def _markdown(text: str) -> str:
    """Paragraphs, `code` and **bold**: all the document's descriptions use."""
    paragraphs = [p.replace("\n", " ").strip() for p in text.split("\n\n")]
    return "".join(f"<p>{_inline(p)}</p>" for p in paragraphs if p)
