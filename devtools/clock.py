"""The local stack's one clock: real time plus an offset a person can move.

    python -m devtools.clock +8d      # a week and a day later, for the emulator and the functions
    python -m devtools.clock -1h      # back an hour (never before real time)
    python -m devtools.clock reset    # real time again
    python -m devtools.clock show

The offset lives in `<state dir>/clock.json` (`.stack/clock.json` for `make run`). The Graph
emulator and the local functions host read it on every reading of their clocks (a `stat`, and the
file itself only when it changed), so a move takes effect at once, without a restart; the
emulator's `POST /_emulator/clock` writes the same file. The local host's timers follow it: a move
past a schedule runs the timer within a second. Nothing deployed reads it: in Azure the app's
clock is the system clock.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FILE_NAME = "clock.json"
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_MOVE = re.compile(r"^([+-])((?:\d+(?:\.\d+)?[wdhms])+)$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")


class ClockFile:
    """A clock offset shared through a file; safe to read and move from several processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._offset = 0.0

    def offset_seconds(self) -> float:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return 0.0
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if seen != self._seen:
                self._offset = _read_offset(self.path)
                self._seen = seen
            return self._offset

    def set_offset(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock never goes back before real time")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A new file moved into place: readers see the old offset or the new one, never half.
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".clock-")
        with os.fdopen(handle, "w") as out:
            json.dump({"offset_seconds": seconds}, out)
        os.replace(temporary, self.path)

    def now(self) -> float:
        """Seconds since the epoch, as the local stack sees them."""
        return time.time() + self.offset_seconds()

    def now_utc(self) -> datetime:
        return datetime.fromtimestamp(self.now(), UTC)


def _read_offset(path: Path) -> float:
    try:
        offset = float(json.loads(path.read_text())["offset_seconds"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a clock file ({error}); `reset` rewrites it") from error
    return max(offset, 0.0)


def parse_move(text: str) -> float:
    """`+8d`, `-1h`, `+1d12h`, `+90s` in seconds (w, d, h, m, s)."""
    match = _MOVE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a move like +8d, -1h, +1d12h or +30m")
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(match.group(2)))
    return seconds if match.group(1) == "+" else -seconds


def describe(clock: ClockFile) -> str:
    offset = timedelta(seconds=round(clock.offset_seconds()))
    return f"{clock.now_utc().isoformat(timespec='seconds')} (real time + {offset})"


USAGE = "usage: python -m devtools.clock [--state-dir DIR] (+8d | -1h | +1d12h | reset | show)"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    state_dir = PROJECT_ROOT / ".stack"
    if len(args) == 3 and args[0] == "--state-dir":
        state_dir, args = Path(args[1]), args[2:]
    if len(args) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    clock, command = ClockFile(state_dir / FILE_NAME), args[0]
    try:
        if command == "reset":
            clock.set_offset(0)
        elif command != "show":
            clock.set_offset(clock.offset_seconds() + parse_move(command))
    except ValueError as error:
        print(f"clock: {error}\n{USAGE}", file=sys.stderr)
        return 2
    print(f"clock: {describe(clock)}")
    if command != "show":
        print("The Graph emulator and the functions host of `make run` follow at once; a timer "
              "whose schedule was passed runs within a second.")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
