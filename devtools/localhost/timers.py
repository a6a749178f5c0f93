"""Timer triggers on their NCRONTAB schedules (six fields, seconds first, UTC), and on demand.

Schedules are read on the host's clock, which may be the local stack's movable one: the runner
looks at it every second, so a move past a due time runs the timer once, as past due.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from azure.functions.timer import TimerRequest
from croniter import croniter

from devtools.localhost.catalog import TimerFunction
from devtools.localhost.invoker import Invocation, invoke

logger = logging.getLogger("localhost.timers")
_LOOK_EVERY = 1.0  # seconds between looks at the clock while waiting (it can be moved)


def next_occurrence(schedule: str, after: datetime) -> datetime:
    """The first time strictly after `after` that the NCRONTAB schedule fires."""
    if len(schedule.split()) != 6:
        raise ValueError(f"NCRONTAB schedule {schedule!r} must have six fields (second first)")
    return croniter(schedule, after, second_at_beginning=True).get_next(datetime)


class TimerRunner:
    def __init__(
        self,
        entry: TimerFunction,
        on_result: Callable[[Invocation], None],
        stopping: threading.Event,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._entry = entry
        self._on_result = on_result
        self._stopping = stopping
        self._clock = clock
        self._lock = threading.Lock()  # one run at a time, as the host's singleton lock does
        next_occurrence(entry.schedule, clock())  # reject a bad schedule at start
        self._thread = threading.Thread(target=self._run, name=f"timer-{entry.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()

    def fire(self, past_due: bool = False) -> None:
        with self._lock:
            try:
                self._on_result(invoke(self._entry, TimerRequest(past_due=past_due)))
                logger.info("Executed 'Functions.%s' (Succeeded)", self._entry.name)
            except Exception:
                logger.exception("Executed 'Functions.%s' (Failed)", self._entry.name)

    def _run(self) -> None:
        if self._entry.run_on_startup:
            self.fire()
        due = next_occurrence(self._entry.schedule, self._clock())
        while not self._stopping.is_set():
            now = self._clock()
            wait = (due - now).total_seconds()
            if wait > 0:
                self._stopping.wait(min(wait, _LOOK_EVERY))
                continue
            self.fire(past_due=wait < -1)
            # From the reading that made it due: a clock moved during the run runs it again.
            due = next_occurrence(self._entry.schedule, now)
