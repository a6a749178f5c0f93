"""One Graph emulator per test session (HTTPS on a free port), back at its seed before each test.

Clients are the real ones: MSAL and requests over TLS, trusting only the emulator's CA.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msal
import pytest
import requests

from devtools import demo_directory
from devtools.graph_emulator.control_client import EmulatorControl, trusting_session
from devtools.graph_emulator.server import GraphEmulator

REDIRECT_URI = "http://127.0.0.1:7071/api/auth/callback"


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphEmulator]:
    server = GraphEmulator(state_dir=tmp_path_factory.mktemp("emulator"), port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def control(emulator: GraphEmulator) -> EmulatorControl:
    return EmulatorControl(emulator.base_url, emulator.ca_file)


@pytest.fixture(autouse=True)
def _seeded(request: pytest.FixtureRequest) -> None:
    """Server-backed tests start from the seed; pure unit tests here need no server."""
    if "emulator" in request.fixturenames:
        request.getfixturevalue("control").reset()


@pytest.fixture
def http(emulator: GraphEmulator) -> Iterator[requests.Session]:
    session = trusting_session(emulator.ca_file)
    yield session
    session.close()


@dataclass
class Identity:
    """MSAL against the emulator, with helpers to walk the browser leg without a browser."""

    emulator: GraphEmulator
    http: requests.Session

    @property
    def scopes(self) -> list[str]:
        base = self.emulator.base_url
        return [f"{base}/User.Read", f"{base}/Calendars.ReadWrite"]

    def app(
        self, tenant: str = "organizations", cache: msal.TokenCache | None = None
    ) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            demo_directory.APP.client_id,
            client_credential=demo_directory.APP.client_secret,
            authority=f"{self.emulator.authority_host}/{tenant}",
            instance_discovery=False,
            http_client=self.http,
            token_cache=cache,
        )

    def begin(
        self,
        app: msal.ConfidentialClientApplication,
        login_hint: str | None,
        scopes: list[str] | None = None,
        redirect_uri: str = REDIRECT_URI,
    ) -> dict[str, Any]:
        with warnings.catch_warnings():
            # The app reads the code from the query, as it does; MSAL would rather it posted.
            warnings.filterwarnings("ignore", "response_mode='form_post' is recommended")
            return app.initiate_auth_code_flow(
                scopes or self.scopes,
                redirect_uri=redirect_uri,
                login_hint=login_hint,
                prompt="select_account",
                response_mode="query",
            )

    def browse(self, url: str) -> requests.Response:
        """What the browser gets from the authorize endpoint (redirects are not followed)."""
        return self.http.get(url, allow_redirects=False, timeout=10)

    def authorize(self, flow: dict[str, Any]) -> dict[str, str]:
        """The query the browser brings back to the redirect URI."""
        response = self.browse(flow["auth_uri"])
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert location.startswith(REDIRECT_URI + "?")
        return dict(parse_qsl(urlsplit(location).query))

    def sign_in(
        self,
        login_hint: str,
        *,
        tenant: str = "organizations",
        scopes: list[str] | None = None,
    ) -> tuple[msal.ConfidentialClientApplication, dict[str, Any]]:
        app = self.app(tenant, cache=msal.SerializableTokenCache())
        flow = self.begin(app, login_hint, scopes)
        result = app.acquire_token_by_auth_code_flow(flow, self.authorize(flow))
        assert "access_token" in result, result
        return app, result

    def graph(
        self, path: str, token: str | None, headers: dict[str, str] | None = None
    ) -> requests.Response:
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.get(
            f"{self.emulator.graph_base_url}{path}",
            headers={**auth, **(headers or {})},
            timeout=10,
        )


@pytest.fixture
def identity(emulator: GraphEmulator, http: requests.Session) -> Identity:
    return Identity(emulator, http)
