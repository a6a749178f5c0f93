"""One correlation id that follows a piece of work across functions: a Graph notification from the
webhook that queued it to the queue worker that read the mailbox.

The id rides in the queued message; while work runs under `correlated(id)`, every log line of the
app, whichever module writes it, ends with `[correlation <id>]` (a log record factory, installed
once by function_app), so one search finds the whole story in the host's log or App Insights.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_CURRENT: ContextVar[str | None] = ContextVar("correlation_id", default=None)
_SHAPE = re.compile(r"[0-9a-f]{8,32}")
_installed = False


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def usable(value: Any) -> str | None:
    """The id if it has the shape this module gives ids (it comes back from a queue)."""
    return value if isinstance(value, str) and _SHAPE.fullmatch(value) else None


def current() -> str | None:
    return _CURRENT.get()


@contextmanager
def correlated(correlation_id: str | None) -> Iterator[None]:
    """Log lines written inside carry the id (none: as they are)."""
    token = _CURRENT.set(correlation_id)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def tag_log_lines() -> None:
    """Have every log record made while an id is current end with it (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    make = logging.getLogRecordFactory()

    def tagged(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        correlation_id = _CURRENT.get()
        if correlation_id is not None and isinstance(record.msg, str):
            record.msg = f"{record.msg} [correlation {correlation_id}]"
            record.correlation_id = correlation_id
        return record

    logging.setLogRecordFactory(tagged)
