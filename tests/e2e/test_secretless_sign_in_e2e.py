"""Connecting Outlook with no client secret anywhere: the app signs in to the emulator with a
client assertion from its managed identity (ENTRA_CLIENT_CREDENTIAL=managed_identity), through
the local host, the real azure-identity and MSAL, and real Azurite.

The emulator plays App Service's identity endpoint (IDENTITY_ENDPOINT, IDENTITY_HEADER, which
the Functions platform sets in Azure). This module has an emulator of its own: it moves the
emulator's clock.
"""

from collections.abc import Iterator

import pytest
import requests

from devtools import demo_directory
from devtools.demo_directory import EMPLOYEE_ALEX, EMPLOYEE_LYNNE, FUNCTION_APP_IDENTITY, MANAGER
from devtools.graph_emulator.server import GraphEmulator
from devtools.host_app import HostApp
from devtools.stack import free_port
from tests.conftest import app_settings, running_emulator
from tests.e2e.conftest import RunningHost, emulator_settings, hosting

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def own_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphEmulator]:
    yield from running_emulator(tmp_path_factory)


@pytest.fixture(scope="module")
def secretless_environment(azurite, own_emulator) -> dict[str, str]:
    port = free_port()
    environ = app_settings(
        azurite.connection_string,
        **emulator_settings(own_emulator, port),
        ENTRA_CLIENT_CREDENTIAL="managed_identity",
        ENTRA_MANAGED_IDENTITY_CLIENT_ID=FUNCTION_APP_IDENTITY.client_id,
        IDENTITY_ENDPOINT=f"{own_emulator.base_url}/msi/token",
        IDENTITY_HEADER=demo_directory.IDENTITY_HEADER,
    )
    del environ["ENTRA_CLIENT_SECRET"]
    return environ


@pytest.fixture(scope="module")
def secretless_host(secretless_environment, storage, tmp_path_factory) -> Iterator[RunningHost]:
    yield from hosting(secretless_environment, tmp_path_factory)


@pytest.fixture
def app(secretless_host, own_emulator, secretless_environment) -> HostApp:
    host_app = HostApp(
        secretless_host.base_url,
        own_emulator.base_url,
        own_emulator.ca_file,
        secretless_environment,
    )
    host_app.control("POST", "reset")
    assert host_app.set_switches(MANAGER, allow=True).status_code == 200
    return host_app


def token_requests(app: HostApp) -> list[dict]:
    return [r for r in app.identity_requests() if r["path"].endswith("/oauth2/v2.0/token")]


def test_a_user_connects_and_refreshes_with_no_client_secret_configured(
    app, secretless_environment
):
    assert not any("SECRET" in name and "ENTRA" in name for name in secretless_environment)
    health = requests.get(f"{app.base_url}/api/health", timeout=10).json()
    assert health["checks"]["entra_credential"] == {
        "status": "ok",
        "mode": "managed_identity",
        "problems": [],
    }
    app.control("PATCH", "settings", access_token_lifetime=120)  # refreshed on every use

    assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}
    checked = app.call("POST", "me/calendar/check", EMPLOYEE_ALEX)

    assert checked.status_code == 200, checked.text
    assert checked.json()["status"] == "connected"
    redemption, *refreshes = token_requests(app)
    assert refreshes, "refreshed at least once (tokens shorter than MSAL's 5-minute margin)"
    assert {r["status"] for r in [redemption, *refreshes]} == {200}


def test_a_refused_assertion_tells_the_user_to_try_later_and_stores_nothing(app, secretless_host):
    app.control("PUT", "app/federated-credentials")  # as if register-app.sh never created it

    assert_refused_sign_in(
        app, secretless_host, "the app's client credential was refused: invalid_request [700211]"
    )


def test_an_expired_assertion_is_refused_like_entra_refuses_it(app, secretless_host):
    assert app.connect(EMPLOYEE_ALEX) == {"outlook": "connected"}  # the assertion is cached now
    app.control("POST", "clock", advance_seconds=24 * 3600 + 60)

    assert_refused_sign_in(
        app,
        secretless_host,
        "invalid_client [700024] AADSTS700024: Client assertion is not within its valid",
    )


def assert_refused_sign_in(app: HostApp, host: RunningHost, logged: str) -> None:
    """Lynne's sign-in comes back as temporarily unavailable, stores nothing, and the host's
    log says why in Entra's words."""
    host.skip_log()

    outcome = app.connect(EMPLOYEE_LYNNE)

    assert outcome == {"outlook": "temporarily_unavailable"}
    assert logged in host.wait_for("identity platform unavailable")
    assert app.call("GET", "me/calendar", EMPLOYEE_LYNNE).json() == {"status": "not_connected"}
