"""At most 4 concurrent Graph requests per mailbox from this process (Outlook's limit per app
per mailbox; concepts/throttling-limits.md, "Outlook service limits"): a request waits for a
slot instead of drawing a 429. Only mailboxes with a request in flight are remembered."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

MAILBOX_CONCURRENCY = 4


class MailboxGate:
    def __init__(self, limit: int = MAILBOX_CONCURRENCY) -> None:
        self._limit = limit
        self._changed = threading.Condition()
        self._busy: dict[str, int] = {}

    @contextmanager
    def slot(self, mailbox: str) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self._busy.get(mailbox, 0) < self._limit)
            self._busy[mailbox] = self._busy.get(mailbox, 0) + 1
        try:
            yield
        finally:
            with self._changed:
                left = self._busy[mailbox] - 1
                if left:
                    self._busy[mailbox] = left
                else:
                    del self._busy[mailbox]
                self._changed.notify_all()

    def in_flight(self) -> int:
        """Mailboxes with a request in flight (what this gate holds in memory)."""
        with self._changed:
            return len(self._busy)
