"""The local host runs queue messages as the Functions host does: batchSize fetched, the next batch
once no more than newBatchThreshold run, so up to batchSize + newBatchThreshold at once."""

import threading
from datetime import timedelta

import azure.functions as func
import pytest

from devtools.localhost.host import LocalHost
from devtools.localhost.hostconfig import HostConfig, QueueOptions
from shared.storage.account import StorageAccount

pytestmark = pytest.mark.integration
WAIT = 30  # seconds: an upper bound on waiting, never a delay

app = func.FunctionApp()
started = threading.Semaphore(0)  # released once per message that started
may_finish = threading.Semaphore(0)  # acquired by each message before it finishes
lock = threading.Lock()
state = {"now": 0, "peak": 0}


@app.queue_trigger(
    arg_name="msg", queue_name="sample-concurrency", connection="AzureWebJobsStorage"
)
def hold(msg: func.QueueMessage) -> None:
    with lock:
        state["now"] += 1
        state["peak"] = max(state["peak"], state["now"])
    started.release()
    may_finish.acquire(timeout=WAIT)
    with lock:
        state["now"] -= 1


def test_up_to_batch_size_plus_new_batch_threshold_run_at_once(storage: StorageAccount):
    options = QueueOptions(
        max_dequeue_count=1,
        visibility_timeout=timedelta(0),
        max_polling_interval=timedelta(seconds=1),
        batch_size=4,
        new_batch_threshold=2,
    )
    storage.create_missing((), ("sample-concurrency", "sample-concurrency-poison"))
    for number in range(10):  # all there before the host looks: its first batch is full
        storage.queue("sample-concurrency").send_message(str(number))
    host = LocalHost(app, config=HostConfig(queues=options), environ={}, storage=storage, port=0)
    host.start()
    try:
        for _ in range(4):  # a batch of 4: more than 2 run, so no batch more yet
            assert started.acquire(timeout=WAIT)
        may_finish.release(2)  # 2 left running: at or below the threshold, the next batch
        for _ in range(4):
            assert started.acquire(timeout=WAIT)
    finally:
        may_finish.release(10)
        host.stop()
    assert state["peak"] == 6, "the first batch's 2 and the second batch's 4"
