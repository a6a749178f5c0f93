"""Route templates as the Functions host reads them: `{x}`, `{x?}`, `{x:int}`, `{*rest}`.

Matching follows ASP.NET routing's precedence: literal segments beat constrained parameters,
which beat plain ones, then optional ones, then catch-alls; so `users/me` wins over `users/{id}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAMETER = re.compile(r"^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}$")

_CONSTRAINTS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "alpha": r"[A-Za-z]+",
    "bool": r"(?i:true|false)",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
    "double": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
}

LITERAL, CONSTRAINED, PARAMETER, OPTIONAL, CATCH_ALL = range(5)


@dataclass(frozen=True)
class RouteTemplate:
    template: str
    pattern: re.Pattern[str]
    precedence: tuple[int, ...]

    @classmethod
    def compile(cls, template: str, prefix: str = "") -> RouteTemplate:
        full = "/".join(part.strip("/") for part in (prefix, template) if part.strip("/"))
        regex, precedence = "", []
        segments = full.split("/") if full else []
        for index, segment in enumerate(segments):
            match = _PARAMETER.match(segment)
            if match is None:
                if "{" in segment or "}" in segment:
                    raise ValueError(f"route {template!r}: unsupported segment {segment!r}")
                regex += "/" + re.escape(segment)
                precedence.append(LITERAL)
                continue
            catch_all, name, constraint, optional = match.groups()
            if catch_all:
                if index != len(segments) - 1:
                    raise ValueError(f"route {template!r}: a catch-all must be the last segment")
                regex += f"(?:/(?P<{name}>.*))?"
                precedence.append(CATCH_ALL)
                continue
            if constraint is not None and constraint not in _CONSTRAINTS:
                raise ValueError(f"route {template!r}: unknown constraint {constraint!r}")
            value = _CONSTRAINTS.get(constraint or "", r"[^/]+")
            if optional:
                if index != len(segments) - 1:
                    raise ValueError(f"route {template!r}: only the last parameter may be optional")
                regex += f"(?:/(?P<{name}>{value}))?"
                precedence.append(OPTIONAL)
            else:
                regex += f"/(?P<{name}>{value})"
                precedence.append(CONSTRAINED if constraint else PARAMETER)
        return cls(template, re.compile(f"^{regex}/?$"), tuple(precedence))

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.match(path.rstrip("/") if path != "/" else "")
        if found is None:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}

    def sort_key(self) -> tuple[tuple[int, ...], int]:
        # Lower precedence numbers first; among equals, the longer template is more specific.
        return (self.precedence, -len(self.precedence))
