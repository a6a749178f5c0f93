"""The parts of host.json the local host honours, with the Functions host's defaults."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path


@dataclass(frozen=True)
class QueueOptions:
    max_dequeue_count: int = 5
    visibility_timeout: timedelta = timedelta(0)
    max_polling_interval: timedelta = timedelta(minutes=1)
    batch_size: int = 16
    # Another batch is fetched once no more than this many messages are running: up to
    # batch_size + new_batch_threshold run at once per queue (the Functions host's rule; its
    # default is batch_size / 2).
    new_batch_threshold: int = 8
    # Not in host.json: how long a message stays hidden while its function runs (renewed while
    # it does), so a host that dies gives its messages back after at most this long.
    message_lease: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    queues: QueueOptions = QueueOptions()

    @classmethod
    def load(cls, path: Path) -> HostConfig:
        if not path.exists():
            return cls()
        document = json.loads(path.read_text())
        extensions = document.get("extensions", {})
        http = extensions.get("http", {})
        queues = extensions.get("queues", {})
        defaults = QueueOptions()
        batch_size = int(queues.get("batchSize", defaults.batch_size))
        return cls(
            route_prefix=str(http.get("routePrefix", "api")).strip("/"),
            queues=QueueOptions(
                max_dequeue_count=int(queues.get("maxDequeueCount", defaults.max_dequeue_count)),
                visibility_timeout=_timespan(
                    queues.get("visibilityTimeout"), defaults.visibility_timeout
                ),
                max_polling_interval=_timespan(
                    queues.get("maxPollingInterval"), defaults.max_polling_interval
                ),
                batch_size=batch_size,
                new_batch_threshold=int(queues.get("newBatchThreshold", batch_size // 2)),
            ),
        )


_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$")


def _timespan(value: str | None, default: timedelta) -> timedelta:
    """A .NET TimeSpan ("[d.]hh:mm:ss[.fff]"), as host.json writes durations."""
    if value is None:
        return default
    match = _TIMESPAN.match(value)
    if not match:
        raise ValueError(f"host.json: {value!r} is not a [d.]hh:mm:ss duration")
    days, hours, minutes, seconds, fraction = match.groups()
    return timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=int((fraction or "0")[:6].ljust(6, "0")),
    )
