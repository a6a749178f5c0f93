"""The control API's own contract and the command line."""

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from devtools import demo_directory
from devtools.clock import ClockFile
from devtools.graph_emulator.control_client import EmulatorControl
from devtools.graph_emulator.server import GraphEmulator

pytestmark = pytest.mark.integration

PROJECT_ROOT = Path(__file__).parents[2]


@pytest.mark.integration
def test_the_directory_lists_the_seeded_people_and_the_app(control):
    directory = control.directory()

    people = {p["key"]: p for p in directory["people"]}
    assert set(people) == {p.key for p in demo_directory.PEOPLE}
    assert people["manager"]["host_user_id"] == "u-manager"
    assert people["external"]["in_directory"] is False
    assert people["on_premises"]["mailbox"] == "on_premises"
    assert directory["app"]["client_id"] == demo_directory.APP.client_id
    assert [o["tenant_id"] for o in directory["organisations"]] == [
        demo_directory.CONTOSO.tenant_id,
        demo_directory.FABRIKAM.tenant_id,
    ]


@pytest.mark.integration
@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/users/adele.vance@contoso.com/refresh-tokens", {"action": "forget"}, 400),
        ("POST", "/users/nobody@contoso.com/next-sign-in", {"outcome": "consent_declined"}, 404),
        ("POST", "/users/adele.vance@contoso.com/next-sign-in", {"outcome": "maybe"}, 400),
        ("POST", "/faults", {"status": 200}, 400),
        ("POST", "/clock", {"advance_seconds": -5}, 400),
        ("GET", "/nothing-here", None, 404),
    ],
)
def test_control_api_mistakes_are_explained(http, emulator, method, path, body, status):
    response = http.request(method, f"{emulator.base_url}/_emulator{path}", json=body)

    assert response.status_code == status
    assert response.json()["error"]


@pytest.mark.integration
def test_reset_goes_back_to_the_seed(control):
    control.settings(access_token_lifetime=5)
    control.advance_clock(100)
    control.add_fault("/v1.0", 500)

    control.reset()

    assert control.settings()["access_token_lifetime"] == 3600
    assert control.settings()["mailbox_limits"] == {
        "concurrency": 4, "requests": 10000, "window_seconds": 600,
    }  # fmt: skip
    assert control.requests() == []


def test_the_command_line_serves_until_sigterm(tmp_path):
    process = subprocess.Popen(  # noqa: S603 - this project's own module
        [sys.executable, "-m", "devtools.graph_emulator", "--port", "0",
         "--state-dir", str(tmp_path / "state")],
        cwd=PROJECT_ROOT,
        env={"PATH": os.environ["PATH"]},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True
    ).start()
    try:
        ready = lines.get(timeout=30)
        assert ready.startswith("graph emulator: https://127.0.0.1:"), ready
        base_url = ready.split()[2]
        ca_file = ready.split("(CA: ")[1].rstrip(")\n")
        discovery = requests.get(
            f"{base_url}/organizations/v2.0/.well-known/openid-configuration",
            verify=ca_file,
            timeout=10,
        )
        assert discovery.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0
    rest = []
    while not lines.empty():
        rest.append(lines.get().strip())
    assert rest[-1] == "graph emulator: stopped", rest


@pytest.mark.integration
def test_the_clock_moves_forward_back_to_real_time_and_never_before(http, emulator, control):
    url = f"{emulator.base_url}/_emulator/clock"

    assert control.move_clock("+8d")["offset_seconds"] == 8 * 86400
    assert control.move_clock("-1h")["offset_seconds"] == 8 * 86400 - 3600
    assert http.post(url, json={"move": "-9d"}).status_code == 400
    assert http.post(url, json={"move": "soon"}).status_code == 400
    assert http.post(url, json={"offset_seconds": 0}).json()["offset_seconds"] == 0


@pytest.mark.integration
def test_health_says_the_emulator_can_serve(http, emulator):
    answer = http.get(f"{emulator.base_url}/_emulator/health")

    assert answer.status_code == 200
    assert answer.json()["status"] == "healthy"


def test_with_a_clock_file_the_emulator_keeps_the_local_stacks_time(tmp_path):
    shared = ClockFile(tmp_path / "clock.json")
    with GraphEmulator(state_dir=tmp_path / "emulator", clock_file=shared.path) as emulator:
        control = EmulatorControl(emulator.base_url, emulator.ca_file)
        shared.set_offset(3 * 86400)  # as `python -m devtools.clock +3d` does
        assert control.clock()["offset_seconds"] == 3 * 86400

        control.move_clock("+1d")  # as a demo page does
        assert shared.offset_seconds() == 4 * 86400
