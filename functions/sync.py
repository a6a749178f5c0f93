"""Background sync: Graph notifications from the queue, and the maintenance timer."""

import json
import logging

import azure.functions as func

from functions.http import services
from shared.correlation import correlated
from shared.errors import UnreadableMessage
from shared.storage.names import GRAPH_NOTIFICATIONS_POISON_QUEUE, GRAPH_NOTIFICATIONS_QUEUE
from shared.sync.notifications import correlation_of

blueprint = func.Blueprint()
logger = logging.getLogger("functions.sync")


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


@blueprint.timer_trigger(arg_name="timer", schedule="%MAINTENANCE_SCHEDULE%", run_on_startup=False)
def maintenance(timer: func.TimerRequest) -> None:
    report = services().maintenance.run()
    logger.info("maintenance %s", json.dumps({"pastDue": timer.past_due, **report}, sort_keys=True))
