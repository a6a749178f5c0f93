"""Graph's error answer, as the rest of the app sees it (no HTTP library needed to handle it)."""

from __future__ import annotations

from dataclasses import dataclass

_RETRYABLE = {429, 503, 504}


@dataclass
class GraphError(Exception):
    status: int
    code: str
    message: str
    retry_after: float | None = None
    request_id: str | None = None

    def __str__(self) -> str:
        return f"Graph {self.status} {self.code}: {self.message}"

    @property
    def transient(self) -> bool:
        return self.status in _RETRYABLE or self.status >= 500 or self.status == 0
