"""The emulator's clock: real time plus an offset the control API can move.

Token lifetimes, code expiry and refresh-token inactivity are all judged by this clock, so tests
advance it instead of sleeping. Given a clock file (`--clock-file`, as `make run` does), the
offset is the local stack's shared one (devtools/clock.py): moving either moves both.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from devtools.clock import ClockFile


class EmulatorClock:
    def __init__(self, shared: ClockFile | None = None) -> None:
        self._lock = threading.RLock()  # advance() reads the offset while holding it
        self._shared = shared
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, as the emulator sees them."""
        return time.time() + self.offset_seconds

    def now_utc(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    @property
    def offset_seconds(self) -> float:
        if self._shared is not None:
            return self._shared.offset_seconds()
        with self._lock:
            return self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("advance_seconds moves forward; set offset_seconds to go back")
        with self._lock:
            self._set(self.offset_seconds + seconds)

    def set_offset(self, seconds: float) -> None:
        """Real time plus `seconds` (never before real time)."""
        with self._lock:
            self._set(seconds)

    def reset(self) -> None:
        self.set_offset(0.0)

    def _set(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock never goes back before real time")
        if self._shared is not None:
            self._shared.set_offset(seconds)
        else:
            self._offset = seconds
