"""`make run`'s stack: everything answers, and Ctrl-C leaves no process behind."""

import os
import signal
import subprocess
import sys

import pytest
import requests

from devtools.stack import free_port
from tests.e2e.conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_run_command_serves_health_oidc_and_the_demo_page_then_stops_cleanly_on_ctrl_c(
    tmp_path,
):
    host_port, emulator_port, demo_port = free_port(), free_port(), free_port()
    stack = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "devtools.stack", "--host-port", str(host_port),
         "--emulator-port", str(emulator_port), "--azurite-ports", "0,0,0",
         "--demo-port", str(demo_port), "--state-dir", str(tmp_path / "stack"), "--in-memory"],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    output, pids = [], []
    try:
        assert stack.stdout is not None
        for line in stack.stdout:
            output.append(line)
            if line.startswith("stack pids:"):
                pids = [int(pid) for pid in line.split(":", 1)[1].split()]
                break
        assert len(pids) == 4, "".join(output)  # Azurite, the emulator, the host, the page

        health = requests.get(f"http://127.0.0.1:{host_port}/api/health", timeout=10)
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "healthy"
        discovery = requests.get(
            f"https://127.0.0.1:{emulator_port}/organizations/v2.0/.well-known/openid-configuration",
            verify=str(tmp_path / "stack" / "emulator" / "ca.pem"),
            timeout=10,
        )
        assert discovery.status_code == 200
        assert discovery.json()["token_endpoint"].startswith(f"https://127.0.0.1:{emulator_port}/")
        assert "source " in "".join(output), "the stack prints how to load the demo tokens"

        demo = f"http://127.0.0.1:{demo_port}"
        assert f"Demo page      {demo}" in "".join(output)
        page = requests.get(f"{demo}/settings", timeout=10)
        assert page.status_code == 200
        assert "demo host app" in page.text
        preflight = requests.options(
            f"http://127.0.0.1:{host_port}/api/me/calendar",
            headers={"Origin": demo, "Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "authorization"},
            timeout=10,
        )  # fmt: skip
        assert preflight.headers["Access-Control-Allow-Origin"] == demo, "the page may call the API"
        reset = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "devtools.stack_reset", "--state-dir", str(tmp_path / "stack")],
            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert reset.returncode == 1, "make reset leaves a running stack alone"
        assert "stop it first" in reset.stderr
        assert (tmp_path / "stack" / "emulator" / "ca.pem").exists()
    finally:
        stack.send_signal(signal.SIGINT)
        rest, _ = stack.communicate(timeout=60)
    assert stack.returncode == 0, "".join(output) + rest
    assert "stack stopped" in rest
    assert [pid for pid in pids if alive(pid)] == []


def test_a_broken_emulator_stops_the_run_at_start_with_the_reason(tmp_path):
    stack = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "devtools.stack", "--host-port", str(free_port()),
         "--emulator-port", str(free_port()), "--azurite-ports", "0,0,0",
         "--state-dir", str(tmp_path / "stack"), "--in-memory"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "GRAPH_METADATA_PATH": str(tmp_path / "no-such-metadata.xml")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip

    assert stack.returncode == 1
    assert "graph emulator exited during start" in stack.stderr
    assert "Graph's v1.0 schema does not load" in stack.stderr
    assert "stack stopped" in stack.stdout
