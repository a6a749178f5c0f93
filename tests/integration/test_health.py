"""The health check against real storage: what an operator sees when something is not usable."""

import socket
import threading
from collections.abc import Iterator

import pytest

from devtools import demo_directory
from devtools.azurite import Azurite, AzuriteEndpoints
from shared.health import check_health
from shared.storage import names
from tests.conftest import app_settings

pytestmark = pytest.mark.integration


class HangingUp:
    """A loopback port that accepts each connection and closes it at once, counting them."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._socket.close()


@pytest.fixture
def hanging_up() -> Iterator[HangingUp]:
    listener = HangingUp()
    yield listener
    listener.close()


def test_healthy_when_settings_secrets_tables_and_queues_are_usable(azurite, storage):
    report = check_health(app_settings(azurite.connection_string))
    assert report.as_dict() == {
        "status": "healthy",
        "checks": {
            "settings": {"status": "ok", "problems": []},
            "secrets": {"status": "ok", "problems": []},
            "entra_credential": {"status": "ok", "mode": "secret", "problems": []},
            "storage": {"status": "ok", "problems": []},
        },
    }


def test_missing_tables_and_queues_are_each_named():
    empty = Azurite(in_memory=True)
    endpoints: AzuriteEndpoints = empty.start()
    try:
        report = check_health(app_settings(endpoints.connection_string))
    finally:
        empty.stop()
    problems = report.as_dict()["checks"]["storage"]["problems"]
    assert not report.healthy
    assert problems == [f"table {t} does not exist" for t in names.TABLES] + [
        f"queue {q} does not exist" for q in names.QUEUES
    ]


def test_unreachable_storage_is_reported_without_retrying_for_long(azurite):
    closed = azurite.connection_string.replace(azurite.table, "http://127.0.0.1:9").replace(
        azurite.queue, "http://127.0.0.1:9"
    )
    report = check_health(app_settings(closed))
    assert report.as_dict()["checks"]["storage"]["problems"] == [
        "storage is unreachable: ServiceRequestError"
    ]


def test_a_storage_that_hangs_up_is_asked_once_not_retried(azurite, hanging_up):
    """A probe sitting in the SDK's retry loop would answer too late for the platform."""
    closed = azurite.connection_string.replace(azurite.table, hanging_up.url).replace(
        azurite.queue, hanging_up.url
    )
    report = check_health(app_settings(closed)).as_dict()

    assert report["checks"]["storage"]["status"] == "failing"
    assert hanging_up.connections == 1


def test_missing_secrets_are_named_and_no_secret_value_is_shown(azurite, storage):
    environ = app_settings(azurite.connection_string)
    del environ["TOKEN_ENCRYPTION_KEYS"]
    report = check_health(environ).as_dict()
    assert report["status"] == "unhealthy"
    assert report["checks"]["secrets"]["problems"] == ["secret TOKEN_ENCRYPTION_KEYS is not set"]
    assert "test-client-secret" not in str(report)


def test_a_one_character_host_app_secret_makes_the_app_unhealthy(azurite, storage):
    environ = app_settings(azurite.connection_string, HOST_APP_TOKEN_SECRET="x")
    report = check_health(environ).as_dict()
    assert report["status"] == "unhealthy"
    (problem,) = report["checks"]["secrets"]["problems"]
    assert problem.startswith("secret HOST_APP_TOKEN_SECRET is shorter than 32 bytes")


def test_broken_settings_stop_the_other_checks_and_are_listed(azurite):
    environ = app_settings(azurite.connection_string, ENTRA_CLIENT_ID="", GRAPH_BASE_URL="ftp://x")
    report = check_health(environ).as_dict()
    assert report["checks"] == {
        "settings": {
            "status": "failing",
            "problems": [
                "ENTRA_CLIENT_ID is missing",
                "GRAPH_BASE_URL must be an absolute http(s) URL, got 'ftp://x'",
            ],
        }
    }


def test_a_missing_client_secret_fails_the_credential_check_in_secret_mode(azurite, storage):
    environ = app_settings(azurite.connection_string)
    del environ["ENTRA_CLIENT_SECRET"]
    report = check_health(environ).as_dict()
    assert report["status"] == "unhealthy"
    assert report["checks"]["entra_credential"] == {
        "status": "failing",
        "mode": "secret",
        "problems": ["secret ENTRA_CLIENT_SECRET is not set"],
    }
    assert report["checks"]["secrets"]["status"] == "ok"


def secretless(azurite, emulator) -> dict[str, str]:
    """Managed identity mode: no client secret anywhere."""
    environ = app_settings(
        azurite.connection_string,
        ENTRA_CLIENT_CREDENTIAL="managed_identity",
        ENTRA_MANAGED_IDENTITY_CLIENT_ID=demo_directory.FUNCTION_APP_IDENTITY.client_id,
        TLS_CA_BUNDLE=str(emulator.ca_file),
    )
    del environ["ENTRA_CLIENT_SECRET"]
    return environ


def test_the_managed_identity_mode_is_healthy_without_a_client_secret(
    azurite, storage, emulator, monkeypatch
):
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.base_url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", demo_directory.IDENTITY_HEADER)

    report = check_health(secretless(azurite, emulator)).as_dict()

    assert report["status"] == "healthy", report
    assert report["checks"]["entra_credential"] == {
        "status": "ok",
        "mode": "managed_identity",
        "problems": [],
    }


def test_a_managed_identity_that_gives_no_token_is_named_quickly(
    azurite, storage, emulator, monkeypatch, hanging_up
):
    # An endpoint that hangs up: one attempt, no retry loop (the probe must answer quickly).
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{hanging_up.url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", demo_directory.IDENTITY_HEADER)

    report = check_health(secretless(azurite, emulator)).as_dict()

    assert hanging_up.connections == 1
    [problem] = report["checks"]["entra_credential"]["problems"]
    assert problem.startswith(
        f"the managed identity {demo_directory.FUNCTION_APP_IDENTITY.client_id} gave no token "
        "for api://AzureADTokenExchange/.default"
    )
    assert report["status"] == "unhealthy"


def test_health_probes_in_a_row_ask_the_identity_endpoint_once(
    azurite, storage, emulator, monkeypatch
):
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"{emulator.base_url}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", demo_directory.IDENTITY_HEADER)
    environ = secretless(azurite, emulator)
    emulator.state.requests.clear()

    reports = [check_health(environ).as_dict()["status"] for _ in range(3)]

    assert reports == ["healthy"] * 3
    asked = [r for r in emulator.state.requests.entries() if r["path"] == "/msi/token"]
    assert len(asked) <= 1, "the managed identity's token is cached between probes"
