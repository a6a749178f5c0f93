"""The emulator's clock: real time plus an offset the control API can move forward.

Token lifetimes, code expiry and refresh-token inactivity are all judged by this clock, so tests
advance it instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class EmulatorClock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, as the emulator sees them."""
        with self._lock:
            return time.time() + self._offset

    def now_utc(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)

    @property
    def offset_seconds(self) -> float:
        with self._lock:
            return self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the emulator's clock only moves forward")
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
