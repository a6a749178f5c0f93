"""One correlation id from the webhook to the queue worker's log lines."""

import json
import logging

from shared.correlation import correlated, tag_log_lines
from shared.sync.notifications import NotificationKind, SyncMessage, correlation_of
from tests.unit.world import ADELE, World


def test_every_message_of_a_post_carries_the_id_the_webhooks_line_carries(caplog):
    tag_log_lines()
    world = World.connected(ADELE)
    subscription = next(iter(world.graph.subscriptions.values()))
    item = {"subscriptionId": subscription["id"], "clientState": subscription["clientState"]}
    body = json.dumps({"value": [item | {"changeType": "updated"}] * 2}).encode()

    with caplog.at_level(logging.INFO, logger="shared.sync.notifications"):
        messages = world.app.webhooks.accept(body, NotificationKind.CHANGE)

    ids = {SyncMessage.parse(m).correlation_id for m in messages}
    assert len(messages) == 2
    (only,) = ids
    assert only is not None
    (queued,) = [r.getMessage() for r in caplog.records if "queued" in r.getMessage()]
    assert queued.endswith(f"[correlation {only}]")


def test_lines_logged_under_an_id_end_with_it_whichever_module_logs_them(caplog):
    tag_log_lines()
    message = SyncMessage(NotificationKind.CHANGE, None, None, "s", World().clock(), None, None,
                          "hash", correlation_id="0123456789abcdef")  # fmt: skip

    log = logging.getLogger("shared.conversations.service")
    with caplog.at_level(logging.INFO):
        with correlated(correlation_of(message.to_json())):
            log.info("applied %d", 1)
        log.info("after")

    assert [r.getMessage() for r in caplog.records][-2:] == [
        "applied 1 [correlation 0123456789abcdef]",
        "after",
    ]


def test_a_correlation_id_not_of_our_shape_is_ignored():
    assert correlation_of('{"correlationId": "x\\n[correlation forged]"}') is None
    assert correlation_of("not json") is None
