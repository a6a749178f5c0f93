"""Injected faults: status codes for the next N requests under a path, and a fixed latency.

Set through the control API (`POST /_emulator/faults`) so tests can prove that clients honour
`Retry-After`, back off on 503/504 and survive slow answers.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import asdict, dataclass
from typing import Any

from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.sts_errors import StsError

_GRAPH_ERRORS = {
    429: ("TooManyRequests", "Too many requests. Please retry after some time."),
    500: ("InternalServerError", "An internal server error occurred."),
    502: ("BadGateway", "The server received an invalid response from the upstream server."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry later."),
    504: ("GatewayTimeout", "The gateway did not receive a timely response."),
}


@dataclass(frozen=True)
class FaultRule:
    id: str
    path_prefix: str
    status: int
    remaining: int | None  # None: until cleared
    retry_after: int | None = None
    method: str | None = None
    code: str | None = None
    message: str | None = None

    def graph_error(self) -> GraphError:
        default_code, default_message = _GRAPH_ERRORS.get(
            self.status, ("UnknownError", "An error was injected by the emulator.")
        )
        return GraphError(
            self.status, self.code or default_code, self.message or default_message, self.headers()
        )

    def sts_error(self) -> StsError:
        return StsError(
            "temporarily_unavailable",
            90006,
            self.message or "The service is temporarily unavailable.",
            status=self.status,
        )

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._latency_ms = 0

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()
            self._latency_ms = 0

    def configure(self, spec: dict[str, Any]) -> FaultRule | None:
        """Apply one control-API request: a latency, a fault rule, or both."""
        rule = None
        if "status" in spec:
            status = int(spec["status"])
            if not 400 <= status <= 599:
                raise ValueError("status must be an HTTP error status (400-599)")
            count = spec.get("count")
            rule = FaultRule(
                id=str(uuid.uuid4()),
                path_prefix=str(spec.get("path_prefix", "/")),
                status=status,
                remaining=None if count is None else int(count),
                retry_after=None if spec.get("retry_after") is None else int(spec["retry_after"]),
                method=str(spec["method"]).upper() if spec.get("method") else None,
                code=spec.get("code"),
                message=spec.get("message"),
            )
            if rule.remaining is not None and rule.remaining < 1:
                raise ValueError("count must be at least 1 (leave it out for no limit)")
        elif "latency_ms" not in spec:
            raise ValueError("give `status` (with path_prefix, count, retry_after) or `latency_ms`")
        with self._lock:
            if "latency_ms" in spec:
                self._latency_ms = max(0, int(spec["latency_ms"]))
            if rule is not None:
                self._rules.append(rule)
        return rule

    @property
    def latency_seconds(self) -> float:
        with self._lock:
            return self._latency_ms / 1000

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first rule matching this request, counting it down (it ends at zero)."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if not path.startswith(rule.path_prefix):
                    continue
                if rule.method and rule.method != method.upper():
                    continue
                if rule.remaining is not None:
                    left = rule.remaining - 1
                    if left == 0:
                        del self._rules[index]
                    else:
                        self._rules[index] = FaultRule(**{**asdict(rule), "remaining": left})
                return rule
            return None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"latency_ms": self._latency_ms, "rules": [asdict(r) for r in self._rules]}
