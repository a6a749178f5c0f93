"""The demo page's dev server: the page, its files, and the demo people's tokens."""

from pathlib import Path

import pytest
from werkzeug.test import Client

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.demo_page.server import DemoConfig, DemoPage
from shared.caller import HostTokenVerifier

SETTINGS = {
    "HOST_APP_TOKEN_SECRET": "a-test-secret-of-at-least-thirty-two-bytes",
    "HOST_APP_TOKEN_ISSUER": "https://host-app.test",
    "HOST_APP_TOKEN_AUDIENCE": "calendar-sync",
}
API = "http://127.0.0.1:7071"


@pytest.fixture
def client() -> Client:
    config = DemoConfig.from_environ(
        SETTINGS, api_url=API, emulator_url="https://127.0.0.1:7443", ca_file=Path("ca.pem")
    )
    return Client(DemoPage(config))


@pytest.mark.parametrize("path", ["/", "/settings", "/schedule", "/conversations/abc-123"])
def test_every_view_is_the_page_which_may_talk_to_the_api_and_nothing_else(client, path):
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert f"connect-src 'self' {API};" in policy
    assert "unsafe-inline" not in policy


def test_the_scripts_are_served_as_javascript_and_nothing_outside_the_static_folder(client):
    script = client.get("/static/js/main.js")
    assert script.status_code == 200
    assert script.mimetype == "text/javascript"
    assert client.get("/static/../server.py").status_code == 404
    assert client.get("/static/%2e%2e/server.py").status_code == 404


def test_a_demo_persons_token_is_one_the_app_accepts_for_them(client):
    minted = client.post("/demo/token", json={"person": MANAGER.key}).json
    verifier = HostTokenVerifier(
        issuer=SETTINGS["HOST_APP_TOKEN_ISSUER"],
        audience=SETTINGS["HOST_APP_TOKEN_AUDIENCE"],
        secret=SETTINGS["HOST_APP_TOKEN_SECRET"],
    )
    caller = verifier.verify(f"Bearer {minted['token']}")
    assert (caller.user_id, caller.org_id, caller.is_admin) == ("u-manager", "org-contoso", True)
    assert minted["person"]["email"] == MANAGER.mail
    alex = verifier.verify(
        f"Bearer {client.post('/demo/token', json={'person': 'employee_alex'}).json['token']}"
    )
    assert (alex.user_id, alex.is_admin) == (EMPLOYEE_ALEX.host_user_id, False)
    assert client.post("/demo/token", json={"person": "nobody"}).status_code == 404


def test_the_config_lists_the_people_and_where_the_api_is(client):
    config = client.get("/demo/config").json
    assert config["apiBase"] == f"{API}/api"
    keys = [p["key"] for p in config["people"]]
    assert MANAGER.key in keys
    assert next(p for p in config["people"] if p["key"] == "on_premises")["outlook"] is False
