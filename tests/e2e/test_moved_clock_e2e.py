"""The local stack's shared clock, moved with `python -m devtools.clock`: the emulator and the
functions follow it together, and the maintenance timer runs when a move passes its schedule.
A subscription renews, a reconnect warning appears and a connection expires, seen through the
HTTP API; Graph's refusals of tokens MSAL still thinks fresh are answered by a refresh."""

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.host_app import HostApp
from tests.e2e.conftest import PROJECT_ROOT
from tests.e2e.stack_support import (
    StackHome,
    connect_both,
    eventually,
    host_app,
    later_day,
    move_in_outlook,
    schedule,
)

pytestmark = pytest.mark.e2e
# Moves stay under the 90 days a refresh token may go unused, as with an app that runs daily.
LONGEST_MOVE = timedelta(days=80)


def move_clock(home: StackHome, move: str) -> None:
    done = subprocess.run(  # noqa: S603 - this project's own module
        [sys.executable, "-m", "devtools.clock", "--state-dir", str(home.state), move],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def clock_now(app: HostApp) -> datetime:
    return datetime.fromisoformat(app.control("GET", "clock")["now"])


def subscription_of(app: HostApp, person) -> dict | None:
    live = app.control("GET", "subscriptions")["value"]
    return next((s for s in live if s["creatorId"] == person.object_id), None)


def expires(subscription: dict) -> datetime:
    return datetime.fromisoformat(subscription["expirationDateTime"].replace("0Z", "+00:00"))


def timer_ran_after_move(app: HostApp) -> None:
    """The maintenance run after a long move renewed (or recreated) Alex's subscription, which
    needed a refreshed token: the sign-in stays in use."""
    now = clock_now(app)
    eventually(
        lambda: (s := subscription_of(app, EMPLOYEE_ALEX)) and expires(s) > now,
        "the timer keeps Alex's subscription alive after the move",
    )


def move_until(app: HostApp, home: StackHome, target: datetime) -> None:
    while (gap := target - clock_now(app)) > LONGEST_MOVE:
        move_clock(home, f"+{int(LONGEST_MOVE.total_seconds())}s")
        timer_ran_after_move(app)
    move_clock(home, f"+{int(gap.total_seconds())}s")


def alex_status_if(app: HostApp, wanted: Callable[[dict], bool]) -> dict | None:
    """Alex's GET /api/me/calendar, when it is as wanted."""
    status = app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()
    return status if wanted(status) else None


def kinds_of_changes(app: HostApp) -> list[str]:
    answer = app.call("GET", "me/changes", EMPLOYEE_ALEX)
    assert answer.status_code == 200, answer.text
    return [change["kind"] for change in answer.json()["value"]]


def test_moving_the_clock_renews_subscriptions_warns_then_expires_the_connection(tmp_path):
    home = StackHome(tmp_path / "stack", in_memory=True)
    day = later_day(10)
    with home.running() as stack:
        app = host_app(stack)
        connect_both(app)
        conversation = schedule(app, day)
        first = subscription_of(app, MANAGER)
        assert first is not None

        move_clock(home, "+5d12h")  # past the renewal (2 days before the 7-day expiry)

        renewed = eventually(
            lambda: (s := subscription_of(app, MANAGER)) and expires(s) > expires(first) and s,
            "the manager's subscription is renewed",
        )
        assert renewed["id"] == first["id"]
        move_in_outlook(app, conversation, day)  # still notified, and the token refreshed
        status = app.call("GET", "me/calendar", EMPLOYEE_ALEX).json()
        assert (status["status"], status["expiringSoon"]) == ("connected", False)

        reconnect_by = datetime.fromisoformat(status["reconnectBy"])
        move_until(app, home, reconnect_by - timedelta(days=10))

        warned = eventually(
            lambda: alex_status_if(app, lambda s: s["expiringSoon"]),
            "the connection is flagged as expiring soon",
        )
        assert warned["status"] == "connected"
        assert eventually(
            lambda: "connection_expiring_soon" in kinds_of_changes(app),
            "the changes feed warns",
        )
        assert app.call("POST", "me/calendar/check", EMPLOYEE_ALEX).status_code == 200

        move_clock(home, "+10d1h")  # past the reconnect date

        expired = eventually(
            lambda: alex_status_if(app, lambda s: s["status"] == "reconnect_required"),
            "the connection must be reconnected",
        )
        assert expired["reason"] == "reconnect_due"
        assert eventually(
            lambda: "reconnect_required" in kinds_of_changes(app),
            "the changes feed says so",
        )
        move_clock(home, "reset")
        assert abs((clock_now(app) - datetime.now(UTC)).total_seconds()) < 60
