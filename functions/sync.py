"""Background sync: Graph notifications and maintenance work from their queues, and the timer
that finds the maintenance work due and enqueues it."""

import json
import logging

import azure.functions as func

from functions.http import services
from shared.correlation import correlated
from shared.errors import UnreadableMessage
from shared.storage.names import (
    GRAPH_NOTIFICATIONS_POISON_QUEUE,
    GRAPH_NOTIFICATIONS_QUEUE,
    MAINTENANCE_WORK_POISON_QUEUE,
    MAINTENANCE_WORK_QUEUE,
)
from shared.sync.notifications import correlation_of

blueprint = func.Blueprint()
logger = logging.getLogger("functions.sync")

# host.json's extensions.queues.maxDequeueCount (a unit test keeps them equal): the last attempt
# at a work item poisons it with its reason instead of leaving the host to move it without one.
MAX_DEQUEUE_COUNT = 5


@blueprint.queue_trigger(
    arg_name="msg", queue_name=GRAPH_NOTIFICATIONS_QUEUE, connection="AzureWebJobsStorage"
)
@blueprint.queue_output(
    arg_name="poison", queue_name=GRAPH_NOTIFICATIONS_POISON_QUEUE, connection="AzureWebJobsStorage"
)
def process_graph_notification(msg: func.QueueMessage, poison: func.Out[str]) -> None:
    body = msg.get_body().decode("utf-8", errors="replace")
    with correlated(correlation_of(body)):  # the webhook's id on every line logged meanwhile
        _process(msg, body, poison)


def _process(msg: func.QueueMessage, body: str, poison: func.Out[str]) -> None:
    try:
        outcome = services().sync_worker.process(body)
    except UnreadableMessage as error:
        # No retry can help: poisoned at once, with the reason beside the message. Failures
        # that may pass (Graph down) raise, and the host retries them up to maxDequeueCount.
        poison.set(json.dumps({"message": body, "reason": str(error), "id": msg.id}))
        logger.warning(
            "graph notification %s unreadable, moved to the poison queue: %s", msg.id, error
        )
        return
    logger.info("graph notification %s: %s", msg.id, outcome)


@blueprint.queue_trigger(
    arg_name="msg", queue_name=MAINTENANCE_WORK_QUEUE, connection="AzureWebJobsStorage"
)
@blueprint.queue_output(
    arg_name="poison", queue_name=MAINTENANCE_WORK_POISON_QUEUE, connection="AzureWebJobsStorage"
)
def do_maintenance_work(msg: func.QueueMessage, poison: func.Out[str]) -> None:
    body = msg.get_body().decode("utf-8", errors="replace")
    try:
        outcome = services().maintenance_worker.process(body, msg.id or body)
    except UnreadableMessage as error:
        poison.set(json.dumps({"message": body, "reason": str(error), "id": msg.id}))
        logger.warning("work item %s unreadable, moved to the poison queue: %s", msg.id, error)
        return
    except Exception as error:
        if (msg.dequeue_count or 0) < MAX_DEQUEUE_COUNT:
            raise  # retried after host.json's visibilityTimeout
        reason = f"failed {msg.dequeue_count} times, last: {type(error).__name__}: {error}"
        poison.set(json.dumps({"message": body, "reason": reason, "id": msg.id}))
        logger.exception("work item %s moved to the poison queue: %s", msg.id, reason)
        return
    logger.info("work item %s: %s", msg.id, outcome)


@blueprint.timer_trigger(arg_name="timer", schedule="%MAINTENANCE_SCHEDULE%", run_on_startup=False)
def maintenance(timer: func.TimerRequest) -> None:
    report = services().maintenance_timer.run()
    logger.info("maintenance %s", json.dumps({"pastDue": timer.past_due, **report}, sort_keys=True))
