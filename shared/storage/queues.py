"""A storage queue that work items are sent to: the SDK's QueueClient, or a list in unit tests."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from azure.storage.queue import QueueClient

SEND_CONCURRENCY = 16  # a timer run sends thousands: one request each, several at a time
LONGEST_DELAY = 7 * 24 * 3600  # Azure Queues: a message is visible within 7 days at the latest


class WorkQueue(Protocol):
    def send(self, messages: list[str], *, delay: float = 0) -> None:
        """Send every message (visible after `delay` seconds); raises if any was not sent."""
        ...


class QueueWorkQueue:
    def __init__(self, client: QueueClient) -> None:
        self._client = client

    def send(self, messages: list[str], *, delay: float = 0) -> None:
        visible_in = min(LONGEST_DELAY, math.ceil(max(0.0, delay))) or None

        def one(message: str) -> None:
            self._client.send_message(message, visibility_timeout=visible_in)

        if len(messages) == 1:
            one(messages[0])
            return
        with ThreadPoolExecutor(min(SEND_CONCURRENCY, len(messages) or 1)) as pool:
            list(pool.map(one, messages))  # the first failure raises here
