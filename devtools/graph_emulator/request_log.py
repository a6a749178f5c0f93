"""The log of identity and Graph requests the emulator answered (not the control API's).

Tests and benchmarks read it through `GET /_emulator/requests` to count Graph calls.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

_MAX_ENTRIES = 20_000


@dataclass(frozen=True)
class LoggedRequest:
    area: str  # "identity" | "graph"
    method: str
    path: str
    query: str  # Graph only: identity queries carry codes and hints, kept out of the log
    status: int
    time: str  # ISO 8601, emulator clock
    duration_ms: float
    user: str | None  # the caller's object id, for Graph requests with a valid token


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[LoggedRequest] = deque(maxlen=_MAX_ENTRIES)

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    reset = clear

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(e) for e in self._entries]
