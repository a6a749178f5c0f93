"""`.stack/logs/functions-host.log` after a short session reads like a story: one line per
request and per event, with the organisation, user and conversation, and no SDK dumps."""

import re

import pytest
import requests

from devtools.demo_directory import MANAGER
from tests.e2e.stack_support import (
    StackHome,
    connect_both,
    host_app,
    later_day,
    move_in_outlook,
    schedule,
)

pytestmark = pytest.mark.e2e
MOST_LINES = 100


def test_a_short_session_logs_under_a_hundred_readable_lines(tmp_path):
    home = StackHome(tmp_path / "stack", in_memory=True)
    day = later_day()
    with home.running() as stack:
        app = host_app(stack)
        connect_both(app)
        conversation = schedule(app, day)
        move_in_outlook(app, conversation, day)
        timer = requests.post(f"{stack.host_url}/admin/functions/maintenance", json={}, timeout=60)
        assert timer.status_code == 202
        log = home.host_log.read_text().splitlines()

    assert len(log) < MOST_LINES, "\n".join(log)
    text = "\n".join(log)
    assert "Request headers" not in text, "the Azure SDK's HTTP dumps stay out"
    assert "code=" not in text, "no query strings: the callback's carries the sign-in code"
    assert f"sign-in of {app.org_id}/{MANAGER.host_user_id}: connected" in text
    assert "Request method" not in text
    who = f"{app.org_id}/{MANAGER.host_user_id}"
    assert f"conversation {conversation['id']} created by {who}: synced" in text
    assert f"conversation {conversation['id']} of {who}: conversation_moved from Outlook" in text
    assert any("maintenance {" in line for line in log)
    assert_one_correlation_id_follows_the_notification(log, conversation["id"])


def assert_one_correlation_id_follows_the_notification(log: list[str], conversation_id: str):
    """The webhook that queued Outlook's notification, the queue worker's read of the mailbox and
    what it applied: the same id on each of their lines."""
    (applied,) = [
        line
        for line in log
        if f"conversation {conversation_id} of " in line and "from Outlook" in line
    ]
    found = re.search(r"\[correlation ([0-9a-f]+)\]$", applied)
    assert found, applied
    tagged = [line for line in log if line.endswith(f"[correlation {found[1]}]")]
    assert any(" notifications: " in line and "queued" in line for line in tagged), "the webhook"
    assert any("functions.sync INFO graph notification " in line for line in tagged), "the worker"
