"""A second `make run` goes on where the first stopped: connections made before the stack was
stopped still work after it is started again (Azurite keeps its data on disk, the emulator its
keys, sign-ins, mailboxes and subscriptions); `make reset` starts everything clean together."""

import subprocess
import sys

import pytest

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from tests.e2e.conftest import PROJECT_ROOT
from tests.e2e.stack_support import (
    StackHome,
    connect_both,
    host_app,
    later_day,
    move_in_outlook,
    schedule,
)

pytestmark = pytest.mark.e2e


def test_after_a_restart_connections_still_work_and_outlook_still_syncs(tmp_path):
    home = StackHome(tmp_path / "stack", in_memory=False)
    day = later_day()
    with home.running() as stack:
        before = host_app(stack)
        connect_both(before)

    with home.running() as stack:
        app = host_app(stack, org_id=before.org_id)
        status = app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()
        assert status["status"] == "connected", status
        check = app.call("POST", "me/calendar/check", EMPLOYEE_ALEX)
        assert check.status_code == 200, check.text
        assert check.json()["status"] == "connected"

        conversation = schedule(app, day)
        assert conversation["sync"]["state"] == "synced", conversation
        in_outlook = app.control("GET", f"mailboxes/{MANAGER.mail}/events")["value"]
        assert conversation["outlook"]["eventId"] in [e["id"] for e in in_outlook]
        moved = move_in_outlook(app, conversation, day)  # the subscription made before, too
        assert moved["end"] == f"{day}T14:30:00+00:00"


def test_make_reset_wipes_the_state_so_the_next_run_starts_clean(tmp_path):
    home = StackHome(tmp_path / "stack", in_memory=False)
    with home.running() as stack:
        first = host_app(stack)
        connect_both(first)

    reset = subprocess.run(  # noqa: S603 - this project's own module
        [sys.executable, "-m", "devtools.stack_reset", "--state-dir", str(home.state)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert reset.returncode == 0, reset.stderr

    with home.running() as stack:
        app = host_app(stack, org_id=first.org_id)
        assert app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()["status"] == "disabled"
        assert app.set_switches(MANAGER, allow=True).status_code == 200
        assert app.call("GET", "me/calendar", EMPLOYEE_ALEX).json() == {"status": "not_connected"}
        assert app.control("GET", "consents")["users"] == []
        assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}
