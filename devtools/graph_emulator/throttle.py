"""Outlook's service limits per app per mailbox: 4 concurrent requests, 10,000 per 10 minutes.

Past either limit Outlook answers 429 `ApplicationThrottled` with `Retry-After`. Both limits are
configurable through the control API so tests can reach them with a handful of requests.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from devtools.graph_emulator.clock import EmulatorClock
from devtools.graph_emulator.errors import GraphError


@dataclass(frozen=True)
class MailboxLimits:
    concurrency: int = 4
    requests: int = 10_000
    window_seconds: int = 600


class MailboxThrottle:
    def __init__(self, clock: EmulatorClock, limits: MailboxLimits | None = None) -> None:
        self._clock = clock
        self._initial = limits or MailboxLimits()
        self._lock = threading.Lock()
        self.limits = self._initial
        self._in_flight: dict[tuple[str, str], int] = {}
        self._recent: dict[tuple[str, str], deque[float]] = {}

    def reset(self) -> None:
        with self._lock:
            self.limits = self._initial
            self._in_flight.clear()
            self._recent.clear()

    def configure(self, limits: MailboxLimits) -> None:
        with self._lock:
            self.limits = limits
            self._recent.clear()

    @contextmanager
    def slot(self, app_id: str, mailbox_id: str) -> Iterator[None]:
        """Hold one of the mailbox's concurrent slots for the app while a request runs."""
        key = (app_id, mailbox_id.lower())
        now = self._clock.now()
        with self._lock:
            limits = self.limits
            recent = self._recent.setdefault(key, deque())
            while recent and recent[0] <= now - limits.window_seconds:
                recent.popleft()
            if len(recent) >= limits.requests:
                wait = math.ceil(recent[0] + limits.window_seconds - now)
                raise _throttled("MailboxRequests", max(1, wait))
            if self._in_flight.get(key, 0) >= limits.concurrency:
                raise _throttled("MailboxConcurrency", 1)
            recent.append(now)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[key] -= 1


def _throttled(limit: str, retry_after: int) -> GraphError:
    return GraphError(
        429,
        "ApplicationThrottled",
        f"Application is over its {limit} limit.",
        {"Retry-After": str(retry_after)},
    )
