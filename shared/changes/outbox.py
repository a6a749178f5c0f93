"""Feed entries waiting in the row of the change they tell: a transactional outbox, no I/O.

A state change and the entries that tell it are written in one entity write (ETag-guarded),
so they succeed or fail together; the entries are then recorded in the change feed and
cleared from the row by another guarded write. Whoever handles the row next records what a
process that died in between left. Delivery is at least once: a death between recording and
clearing records an entry again, with the same `id`, and the host app drops the duplicate.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Pending:
    """One feed entry (with its stable `id`) for each of `users`."""

    users: tuple[str, ...]
    entry: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.entry["id"])


def pending(users: Iterable[str], entry: dict[str, Any]) -> Pending:
    """The entry to tell these users, given the id it keeps however often it is recorded."""
    return Pending(tuple(sorted(set(users))), {**entry, "id": str(uuid.uuid4())})


def without(outbox: tuple[Pending, ...], done: Iterable[str]) -> tuple[Pending, ...]:
    """What is left once the entries with these ids are recorded."""
    ids = set(done)
    return tuple(p for p in outbox if p.id not in ids)


def to_json(outbox: tuple[Pending, ...]) -> str:
    return json.dumps([{"u": list(p.users), "e": p.entry} for p in outbox]) if outbox else ""


def from_json(text: str) -> tuple[Pending, ...]:
    if not text:
        return ()
    return tuple(
        Pending(tuple(str(u) for u in raw["u"]), dict(raw["e"])) for raw in json.loads(text)
    )
