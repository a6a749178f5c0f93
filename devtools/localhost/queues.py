"""Queue triggers over real storage queues (Azurite locally), with the host's poison-queue rule.

Messages are base64 text, as the Functions queue bindings write them. A message being handled
stays hidden for a lease that is renewed while its function runs, as the Functions host does, so
a host that dies gives it back once the lease runs out. A message that fails is made visible
again after host.json's visibilityTimeout; after maxDequeueCount failures it moves to
`<queue>-poison`. Like the Functions host, a listener fetches batchSize messages and fetches the
next batch once no more than newBatchThreshold are still running: up to batchSize +
newBatchThreshold run at once per queue and instance. Output bindings written inside this host
wake the listener at once, like the Functions host's shared queue watcher; other writers are
found by polling with back-off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from azure.functions.queue import QueueMessage

from devtools.localhost.catalog import QueueFunction
from devtools.localhost.hostconfig import QueueOptions
from devtools.localhost.invoker import invoke
from shared.storage.account import StorageAccount

logger = logging.getLogger("localhost.queues")

_MIN_POLL_SECONDS = 0.1


Outcome = Literal["succeeded", "retried", "poisoned"]
# Told of each message once it is settled: (function name, message content, outcome).
SettledObserver = Callable[[str, str, Outcome], None]


def poison_queue_name(queue_name: str) -> str:
    return f"{queue_name}-poison"


class QueueBroker:
    """Sends output-binding messages and tells listeners of the same host that work arrived."""

    def __init__(self, storage: StorageAccount) -> None:
        self._storage = storage
        self._wakeups: dict[str, threading.Event] = {}

    def wakeup_event(self, queue_name: str) -> threading.Event:
        return self._wakeups.setdefault(queue_name, threading.Event())

    def send(self, queue_name: str, messages: list[str]) -> None:
        queue = self._storage.queue(queue_name)
        for message in messages:
            queue.send_message(message)
        self.wakeup_event(queue_name).set()

    def ensure_queues(self, names: set[str]) -> None:
        self._storage.create_missing((), tuple(sorted(names)))


class QueueListener:
    def __init__(
        self,
        entry: QueueFunction,
        broker: QueueBroker,
        storage: StorageAccount,
        options: QueueOptions,
        stopping: threading.Event,
        on_settled: SettledObserver | None = None,
    ) -> None:
        self._entry = entry
        self._on_settled = on_settled or (lambda *_: None)
        self._broker = broker
        self._queue = storage.queue(entry.queue_name)
        self._poison = storage.queue(poison_queue_name(entry.queue_name))
        self._options = options
        self._stopping = stopping
        self._wakeup = broker.wakeup_event(entry.queue_name)
        self._workers = ThreadPoolExecutor(
            max_workers=options.batch_size + options.new_batch_threshold,
            thread_name_prefix=f"queue-{entry.name}",
        )
        self._running = 0
        self._settled = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"listen-{entry.name}", daemon=True)
        self._lease_seconds = max(1, round(options.message_lease.total_seconds()))

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        self._workers.shutdown(wait=True)

    def _run(self) -> None:
        delay = _MIN_POLL_SECONDS
        max_delay = max(self._options.max_polling_interval.total_seconds(), _MIN_POLL_SECONDS)
        while not self._stopping.is_set():
            with self._settled:  # the host's newBatchThreshold
                self._settled.wait_for(
                    lambda: self._running <= self._options.new_batch_threshold, timeout=1
                )
                if self._running > self._options.new_batch_threshold:
                    continue
            try:
                handled = self._drain_once()
            except Exception:
                logger.exception("queue %s: receiving failed", self._entry.queue_name)
                handled = 0
            if handled:
                delay = _MIN_POLL_SECONDS
                continue
            self._wakeup.wait(delay)
            if self._wakeup.is_set():
                self._wakeup.clear()
                delay = _MIN_POLL_SECONDS
            else:
                delay = min(delay * 2, max_delay)

    def _drain_once(self) -> int:
        batch = list(
            self._queue.receive_messages(
                messages_per_page=self._options.batch_size,
                max_messages=self._options.batch_size,
                visibility_timeout=self._lease_seconds,
            )
        )
        with self._settled:
            self._running += len(batch)
        for message in batch:
            self._workers.submit(self._settle_after, message)
        return len(batch)

    def _settle_after(self, message: Any) -> None:
        try:
            self._handle(message)
        except Exception:
            logger.exception("queue %s: message %s not settled", self._entry.queue_name, message.id)
        finally:
            with self._settled:
                self._running -= 1
                self._settled.notify_all()

    def _handle(self, message: Any) -> None:
        trigger_value = QueueMessage(
            id=message.id,
            body=message.content,
            dequeue_count=message.dequeue_count,
            expiration_time=message.expires_on,
            insertion_time=message.inserted_on,
            time_next_visible=message.next_visible_on,
            pop_receipt=message.pop_receipt,
        )
        lease = _Lease(self._queue, message, self._lease_seconds)
        try:
            with lease:
                invocation = invoke(self._entry, trigger_value)
            for queue_name, messages in invocation.queue_messages.items():
                self._broker.send(queue_name, messages)
        except Exception:
            logger.exception(
                "Executed 'Functions.%s' (Failed, Id=%s, DequeueCount=%s)",
                self._entry.name,
                message.id,
                message.dequeue_count,
            )
            message.pop_receipt = lease.receipt
            self._on_settled(self._entry.name, message.content, self._after_failure(message))
            return
        self._queue.delete_message(message.id, lease.receipt)
        logger.info("Executed 'Functions.%s' (Succeeded, Id=%s)", self._entry.name, message.id)
        self._on_settled(self._entry.name, message.content, "succeeded")

    def _after_failure(self, message: Any) -> Outcome:
        if message.dequeue_count >= self._options.max_dequeue_count:
            self._poison.send_message(message.content)
            self._queue.delete_message(message.id, message.pop_receipt)
            logger.warning(
                "Message %s has reached MaxDequeueCount of %s. Moving message to queue '%s'.",
                message.id,
                self._options.max_dequeue_count,
                poison_queue_name(self._entry.queue_name),
            )
            return "poisoned"
        self._queue.update_message(
            message.id,
            message.pop_receipt,
            visibility_timeout=int(self._options.visibility_timeout.total_seconds()),
        )
        return "retried"


class _Lease:
    """Keeps a received message hidden while its function runs: renewed every third of the
    lease; `receipt` is the pop receipt that settles it afterwards."""

    def __init__(self, queue: Any, message: Any, seconds: int) -> None:
        self._queue = queue
        self._id = message.id
        self.receipt: str = message.pop_receipt
        self._seconds = seconds
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, name="queue-lease", daemon=True)

    def __enter__(self) -> _Lease:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()

    def _renew(self) -> None:
        while not self._done.wait(self._seconds / 3):
            try:
                renewed = self._queue.update_message(
                    self._id, self.receipt, visibility_timeout=self._seconds
                )
            except Exception:
                logger.warning("queue message %s: lease not renewed", self._id, exc_info=True)
                continue
            self.receipt = renewed.pop_receipt
