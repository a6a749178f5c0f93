"""In Azure the app reaches storage with its managed identity, never a key."""

from azure.identity import DefaultAzureCredential

from shared.settings import StorageSettings
from shared.storage.account import StorageAccount


def test_identity_based_storage_signs_in_with_the_user_assigned_identity():
    account = StorageAccount(
        StorageSettings(
            table_endpoint="https://stcalsync.table.core.windows.net",
            queue_endpoint="https://stcalsync.queue.core.windows.net",
            managed_identity_client_id="11111111-2222-3333-4444-555555555555",
        )
    )

    tables, queues = account.table_service(), account.queue_service()

    assert tables.url.startswith("https://stcalsync.table.core.windows.net")
    assert queues.url.startswith("https://stcalsync.queue.core.windows.net")
    for client in (tables, queues):
        assert isinstance(client.credential, DefaultAzureCredential)
    assert tables.credential is queues.credential  # one identity, one token cache
