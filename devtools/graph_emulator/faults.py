"""Injected faults: status codes for the next N requests under a path, a fixed latency, and
answers that are held back or lost after the request was carried out.

Set through the control API (`POST /_emulator/faults`) so tests can prove that clients honour
`Retry-After`, back off on 503/504 and survive slow answers, and that they finish exactly once
what Graph did when its answer never arrived:

- `{"hold": true}`: the request is carried out, and its answer waits until
  `POST /_emulator/faults/release` (`{"answer": false}` drops it instead) or `DELETE` of the
  faults. A test kills the client meanwhile: Graph did the work, the client never knew.
- `{"drop": true}`: carried out, then the connection is closed without an answer, as a timeout
  or a cut connection looks to the client (Graph's transactionId exists for this case).
- `{"status": 429, "retry_after": 30, "tenant_id": "..."}`: only requests made with a token of
  that tenant, whatever the path: Graph throttles per app per tenant as well as per mailbox
  (concepts/throttling-limits.md: "service-specific limits ... per app per tenant"), answering
  429 with Retry-After to all of the tenant's requests while it lasts.
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
    status: int | None  # None for a rule that holds or drops the answer
    remaining: int | None  # None: until cleared
    retry_after: int | None = None
    method: str | None = None
    code: str | None = None
    message: str | None = None
    hold: bool = False  # carry the request out, hold its answer until released
    drop: bool = False  # carry the request out, then close the connection unanswered
    tenant_id: str | None = None  # only requests of this tenant (matched once authenticated)

    @property
    def after_the_work(self) -> bool:
        return self.hold or self.drop

    def graph_error(self) -> GraphError:
        assert self.status is not None
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
            status=self.status or 503,
        )

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


HOLD_AT_MOST = 300.0  # seconds a held answer waits for its release before it is sent anyway


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._latency_ms = 0
        self._released = threading.Condition(self._lock)
        self._held = 0
        self._releases = 0  # bumped by every release: held answers wait for a change
        self._answer_on_release = True

    def reset(self) -> None:
        with self._lock:
            self._rules.clear()
            self._latency_ms = 0
            self._release(answer=True)

    def configure(self, spec: dict[str, Any]) -> FaultRule | None:
        """Apply one control-API request: a latency, a fault rule, or both."""
        rule = None
        hold, drop = bool(spec.get("hold")), bool(spec.get("drop"))
        if "status" in spec or hold or drop:
            status = None
            if "status" in spec:
                status = int(spec["status"])
                if not 400 <= status <= 599:
                    raise ValueError("status must be an HTTP error status (400-599)")
            if [status is not None, hold, drop].count(True) != 1:
                raise ValueError("give one of `status`, `hold` and `drop`")
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
                hold=hold,
                drop=drop,
                tenant_id=str(spec["tenant_id"]).lower() if spec.get("tenant_id") else None,
            )
            if rule.tenant_id is not None and rule.status is None:
                raise ValueError("a tenant's rule gives a `status` (it cannot hold or drop)")
            if rule.remaining is not None and rule.remaining < 1:
                raise ValueError("count must be at least 1 (leave it out for no limit)")
        elif "latency_ms" not in spec:
            raise ValueError(
                "give `status` (with path_prefix, count, retry_after), `hold`, `drop` or "
                "`latency_ms`"
            )
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

    def take(
        self,
        method: str,
        path: str,
        *,
        after_the_work: bool = True,
        tenant_id: str | None = None,
    ) -> FaultRule | None:
        """The first rule matching this request, counting it down (it ends at zero).
        `after_the_work`: whether rules that hold or drop answers apply (Graph's, not the
        identity platform's). `tenant_id`: the authenticated caller's tenant: only tenants'
        rules are looked at then (the others were, before authentication)."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if (rule.tenant_id is None) != (tenant_id is None):
                    continue
                if rule.tenant_id is not None and rule.tenant_id != str(tenant_id).lower():
                    continue
                if not path.startswith(rule.path_prefix):
                    continue
                if rule.method and rule.method != method.upper():
                    continue
                if rule.after_the_work and not after_the_work:
                    continue
                if rule.remaining is not None:
                    left = rule.remaining - 1
                    if left == 0:
                        del self._rules[index]
                    else:
                        self._rules[index] = FaultRule(**{**asdict(rule), "remaining": left})
                return rule
            return None

    def hold_answer(self) -> bool:
        """Wait, holding an answer, until released; whether to send it (False: drop it)."""
        with self._lock:
            self._held += 1
            seen = self._releases
            try:
                released = self._released.wait_for(
                    lambda: self._releases != seen, timeout=HOLD_AT_MOST
                )
                return self._answer_on_release if released else True
            finally:
                self._held -= 1

    def release(self, *, answer: bool) -> int:
        """Let every held answer go (sent, or dropped); how many there were."""
        with self._lock:
            held = self._held
            self._release(answer=answer)
            return held

    def _release(self, *, answer: bool) -> None:
        self._answer_on_release = answer
        self._releases += 1
        self._released.notify_all()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "latency_ms": self._latency_ms,
                "rules": [asdict(r) for r in self._rules],
                "held": self._held,
            }
