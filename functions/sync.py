"""Background sync: Graph notifications from the queue, and the maintenance timer."""

import json
import logging

import azure.functions as func

from functions.http import services
from shared.storage.names import GRAPH_NOTIFICATIONS_QUEUE

blueprint = func.Blueprint()
logger = logging.getLogger("functions.sync")


@blueprint.queue_trigger(
    arg_name="msg", queue_name=GRAPH_NOTIFICATIONS_QUEUE, connection="AzureWebJobsStorage"
)
def process_graph_notification(msg: func.QueueMessage) -> None:
    outcome = services().sync.process(msg.get_body().decode("utf-8"))
    logger.info("graph notification %s: %s", msg.id, outcome)


@blueprint.timer_trigger(arg_name="timer", schedule="%MAINTENANCE_SCHEDULE%", run_on_startup=False)
def maintenance(timer: func.TimerRequest) -> None:
    report = services().maintenance.run()
    logger.info("maintenance %s", json.dumps({"pastDue": timer.past_due, **report}, sort_keys=True))
