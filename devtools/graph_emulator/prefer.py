"""The `Prefer` request header (RFC 7240) and the `Preference-Applied` answer.

Graph honours, among others, `IdType="ImmutableId"`, `outlook.timezone="<zone>"` and
`odata.maxpagesize=N` on Outlook resources, and says so in `Preference-Applied`; the directory
(/me, /users) ignores them. Clients may send several in one header, comma-separated
(`outlook.timezone="UTC", IdType="ImmutableId"`), or in several headers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

IMMUTABLE_ID = "idtype"
OUTLOOK_TIMEZONE = "outlook.timezone"
MAX_PAGE_SIZE = "odata.maxpagesize"


@dataclass(frozen=True)
class Preferences:
    values: dict[str, str]  # lower-case preference name -> value without quotes
    spelled: dict[str, str]  # lower-case preference name -> name as the client wrote it

    @classmethod
    def parse(cls, headers: Iterable[str]) -> Preferences:
        values: dict[str, str] = {}
        spelled: dict[str, str] = {}
        for header in headers:
            for item in _split_outside_quotes(header, ","):
                name, _, value = item.partition("=")
                name = name.strip()
                if name:
                    values[name.lower()] = value.strip().strip('"')
                    spelled[name.lower()] = name
        return cls(values, spelled)

    def get(self, name: str) -> str | None:
        return self.values.get(name.lower())

    @property
    def immutable_ids(self) -> bool:
        return (self.get(IMMUTABLE_ID) or "").lower() == "immutableid"

    @property
    def outlook_timezone(self) -> str | None:
        return self.get(OUTLOOK_TIMEZONE)

    @property
    def max_page_size(self) -> int | None:
        """`odata.maxpagesize=N`, when it is a positive integer."""
        value = self.get(MAX_PAGE_SIZE) or ""
        return int(value) if value.isdigit() and int(value) > 0 else None

    def applied(self, *names: str) -> dict[str, str]:
        """A `Preference-Applied` header for those of `names` the client asked for."""
        parts = [
            f"{self.spelled[n.lower()]}={_quoted(self.values[n.lower()])}"
            for n in names
            if n.lower() in self.values
        ]
        return {"Preference-Applied": ", ".join(parts)} if parts else {}


def _quoted(value: str) -> str:
    return value if value.isdigit() else f'"{value}"'


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]
