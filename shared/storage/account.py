"""The storage account: table and queue clients from a connection string or a managed identity."""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING, Any

from shared.settings import StorageSettings

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.data.tables import TableClient, TableServiceClient
    from azure.storage.queue import QueueClient, QueueServiceClient


# The SDKs' own defaults suit batch jobs (up to ten retries, back-off of 15 s and more, five-minute
# timeouts): a request a user waits for must fail within seconds instead, and say "try again"
# (503 storage_unavailable). Work that must not be lost is written before it is needed, and the
# maintenance timer finishes it later.
_TIMEOUTS = {"connection_timeout": 5, "read_timeout": 30}
TABLE_RETRIES: dict[str, Any] = {
    "retry_total": 3, "retry_backoff_factor": 0.4, "retry_backoff_max": 2, **_TIMEOUTS
}  # fmt: skip
QUEUE_RETRIES: dict[str, Any] = {
    "retry_total": 3, "initial_backoff": 0.3, "increment_base": 1.2, "random_jitter_range": 0.3,
    **_TIMEOUTS,
}  # fmt: skip


class StorageAccount:
    """Creates SDK clients lazily and once: constructing the app does no I/O."""

    def __init__(self, settings: StorageSettings, **sdk_options: Any) -> None:
        """`sdk_options` go to the SDK clients as azure-core options (hooks, retry, transport),
        over TABLE_RETRIES and QUEUE_RETRIES; without a transport, each service gets one on a
        session that reads the environment once (shared/http_session.py)."""
        self._settings = settings
        self._table_options = {**TABLE_RETRIES, **sdk_options}
        self._queue_options = {**QUEUE_RETRIES, **sdk_options}
        self._lock = threading.Lock()
        self._credential: TokenCredential | None = None
        self._table_service: TableServiceClient | None = None
        self._queue_service: QueueServiceClient | None = None
        self._tables: dict[str, TableClient] = {}  # clients are thread-safe and keep connections
        self._queues: dict[str, QueueClient] = {}

    def table(self, name: str) -> TableClient:
        client = self._tables.get(name)
        if client is None:
            client = self._tables[name] = self.table_service().get_table_client(name)
        return client

    def queue(self, name: str) -> QueueClient:
        """A queue client that writes and reads base64 text, as Functions queue bindings do."""
        from azure.storage.queue import TextBase64DecodePolicy, TextBase64EncodePolicy

        client = self._queues.get(name)
        if client is None:
            client = self._queues[name] = self.queue_service().get_queue_client(
                name,
                message_encode_policy=TextBase64EncodePolicy(),
                message_decode_policy=TextBase64DecodePolicy(),
            )
        return client

    def table_service(self) -> TableServiceClient:
        from azure.data.tables import TableServiceClient

        with self._lock:
            if self._table_service is None:
                options = _with_transport(self._table_options)
                if self._settings.connection_string:
                    self._table_service = TableServiceClient.from_connection_string(
                        self._settings.connection_string, **options
                    )
                else:
                    self._table_service = TableServiceClient(
                        endpoint=str(self._settings.table_endpoint),
                        credential=self._identity(),
                        **options,
                    )
            return self._table_service

    def queue_service(self) -> QueueServiceClient:
        from azure.storage.queue import QueueServiceClient

        with self._lock:
            if self._queue_service is None:
                options = _with_transport(self._queue_options)
                if self._settings.connection_string:
                    self._queue_service = QueueServiceClient.from_connection_string(
                        self._settings.connection_string, **options
                    )
                else:
                    self._queue_service = QueueServiceClient(
                        account_url=str(self._settings.queue_endpoint),
                        credential=self._identity(),
                        **options,
                    )
            return self._queue_service

    def create_missing(self, tables: tuple[str, ...], queues: tuple[str, ...]) -> None:
        """Create tables and queues that do not exist yet (local stack; infra/ does it in Azure)."""
        from azure.core.exceptions import ResourceExistsError

        for name in tables:
            self.table_service().create_table_if_not_exists(name)
        for name in queues:
            with contextlib.suppress(ResourceExistsError):
                self.queue_service().create_queue(name)

    def _identity(self) -> TokenCredential:
        if self._credential is None:
            from azure.identity import DefaultAzureCredential

            self._credential = DefaultAzureCredential(
                managed_identity_client_id=self._settings.managed_identity_client_id
            )
        return self._credential


def _with_transport(options: dict[str, Any]) -> dict[str, Any]:
    from shared.http_session import storage_transport  # requests: not at import (cold start)

    return options if "transport" in options else {**options, "transport": storage_transport()}
