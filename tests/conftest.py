"""Session-wide real services: Azurite over loopback (and, for e2e tests, the local host)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.azurite import Azurite, AzuriteEndpoints
from devtools.graph_emulator.server import GraphEmulator
from shared.settings import StorageSettings
from shared.storage import names
from shared.storage.account import StorageAccount

TESTS = Path(__file__).parent
UNIT_TESTS = TESTS / "unit"
SERVER_FIXTURES = {"azurite", "emulator", "storage", "local_host", "host_app"}
# Every test outside tests/unit carries a marker, so that `-m "not integration and not e2e and
# not infra"` is the unit tests too; a folder's own marker covers files that forget theirs.
FOLDER_MARKERS = {
    "emulator": "integration",
    "integration": "integration",
    "infra": "infra",
    "faults": "e2e",
    "model": "e2e",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """tests/unit is `make unit`: it must start no server, or the inner loop stops being fast."""
    for item in items:
        servers = SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))
        if servers and item.path.is_relative_to(UNIT_TESTS):
            raise pytest.UsageError(f"{item.nodeid} is a unit test but starts {sorted(servers)}")
        folder = item.path.relative_to(TESTS).parts[0] if item.path.is_relative_to(TESTS) else ""
        marker = FOLDER_MARKERS.get(folder)
        if marker is not None and item.get_closest_marker(marker) is None:
            item.add_marker(marker)


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteEndpoints]:
    server = Azurite(in_memory=True)
    endpoints = server.start()
    yield endpoints
    server.stop()


def running_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphEmulator]:
    """The identity platform and Graph emulator over HTTPS on a free loopback port."""
    server = GraphEmulator(state_dir=Path(tmp_path_factory.mktemp("emulator")), port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphEmulator]:
    yield from running_emulator(tmp_path_factory)


@pytest.fixture(scope="session")
def storage(azurite: AzuriteEndpoints) -> StorageAccount:
    account = StorageAccount(StorageSettings(connection_string=azurite.connection_string))
    account.create_missing(names.TABLES, names.QUEUES)
    return account


def app_settings(storage_connection_string: str, **overrides: str) -> dict[str, str]:
    """A complete app environment for local runs (the emulator's URLs come from its fixture)."""
    values = {
        "AzureWebJobsStorage": storage_connection_string,
        "APP_PUBLIC_BASE_URL": "http://127.0.0.1:7071",
        "ENTRA_CLIENT_ID": "00000000-0000-0000-0000-00000000c11e",
        "ENTRA_AUTHORITY_HOST": "https://127.0.0.1:7443",
        "GRAPH_BASE_URL": "https://127.0.0.1:7443/v1.0",
        "HOST_APP_ORIGINS": "http://localhost:3000",
        "HOST_APP_TOKEN_ISSUER": "https://host-app.test",
        "HOST_APP_TOKEN_AUDIENCE": "calendar-sync",
        "ENTRA_CLIENT_SECRET": "test-client-secret",
        "TOKEN_ENCRYPTION_KEYS": "k1:MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
        "HOST_APP_TOKEN_SECRET": "test-host-app-secret-of-at-least-32-bytes",
        "MAINTENANCE_SCHEDULE": "0 0 3 * * *",
        "WEBHOOK_CLIENT_STATE_KEYS": "w1:dGVzdC13ZWJob29rLWNsaWVudC1zdGF0ZS1rZXktMzI=",
    }
    values.update(overrides)
    return values
