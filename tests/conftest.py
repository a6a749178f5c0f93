"""Session-wide real services: Azurite over loopback (and, for e2e tests, the local host)."""

from collections.abc import Iterator

import pytest

from devtools.azurite import Azurite, AzuriteEndpoints
from shared.settings import StorageSettings
from shared.storage import names
from shared.storage.account import StorageAccount


@pytest.fixture(scope="session")
def azurite() -> Iterator[AzuriteEndpoints]:
    server = Azurite(in_memory=True)
    endpoints = server.start()
    yield endpoints
    server.stop()


@pytest.fixture(scope="session")
def storage(azurite: AzuriteEndpoints) -> StorageAccount:
    account = StorageAccount(StorageSettings(connection_string=azurite.connection_string))
    account.create_missing(names.TABLES, names.QUEUES)
    return account
