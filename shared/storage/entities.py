"""Entity tables with point reads, key-range queries and ETag-guarded writes.

There is deliberately no "list everything" method: every request path reads by PartitionKey and
RowKey (or a RowKey range inside one partition), so cost does not grow with the table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from azure.data.tables import TableClient


class EntityNotFound(Exception):
    pass


class EntityAlreadyExists(Exception):
    pass


class ConcurrencyConflict(Exception):
    """Someone else wrote the entity since it was read: re-read, re-apply, retry."""


_OUTAGE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def storage_outage(failure: BaseException) -> bool:
    """Whether the failure is the storage service out of reach for now (refused or cut
    connections, timeouts, server busy) rather than a bug or a refusal: trying again later
    helps. The one place that knows the Azure SDK's exceptions for it."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    if isinstance(failure, ServiceRequestError | ServiceResponseError):
        return True
    return isinstance(failure, HttpResponseError) and failure.status_code in _OUTAGE_STATUSES


class UnreadableEntity(Exception):
    """The entity is stored but its properties cannot be read back (a value the SDK wrote and
    cannot parse, such as a date before year 1000). Reading fewer properties may still work."""


@dataclass(frozen=True)
class StoredEntity:
    partition_key: str
    row_key: str
    properties: Mapping[str, Any]
    etag: str


class EntityStore(Protocol):
    """What repositories need of a table: EntityTable over Azure Tables, or a fake in tests."""

    @property
    def name(self) -> str: ...

    def get(
        self, partition_key: str, row_key: str, select: Sequence[str] | None = None
    ) -> StoredEntity | None: ...

    def create(self, partition_key: str, row_key: str, properties: Mapping[str, Any]) -> str: ...

    def replace(
        self, partition_key: str, row_key: str, properties: Mapping[str, Any], etag: str
    ) -> str: ...

    def upsert(self, partition_key: str, row_key: str, properties: Mapping[str, Any]) -> str: ...

    def delete(self, partition_key: str, row_key: str, etag: str | None = None) -> None: ...

    def range(
        self,
        partition_key: str,
        row_key_from: str = "",
        row_key_to: str | None = None,
        *,
        limit: int | None = None,
    ) -> Iterator[StoredEntity]: ...


def _escape(value: str) -> str:
    return value.replace("'", "''")


class EntityTable:
    def __init__(self, client: TableClient) -> None:
        self._client = client

    @property
    def name(self) -> str:
        return self._client.table_name

    def get(
        self, partition_key: str, row_key: str, select: Sequence[str] | None = None
    ) -> StoredEntity | None:
        """The entity (only the `select`ed properties, if given), None if there is none, or
        UnreadableEntity when its properties do not parse."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self._client.get_entity(
                partition_key, row_key, **({"select": list(select)} if select else {})
            )
        except ResourceNotFoundError:
            return None
        except (ValueError, TypeError, OverflowError) as error:  # the SDK's own parsing
            raise UnreadableEntity(f"{self.name}/{partition_key}/{row_key}: {error}") from error
        return _stored(entity, partition_key, row_key)  # a selection holds no keys

    def create(self, partition_key: str, row_key: str, properties: Mapping[str, Any]) -> str:
        """Insert a new entity; EntityAlreadyExists if the keys are taken. Returns the ETag."""
        from azure.core.exceptions import ResourceExistsError

        try:
            metadata = self._client.create_entity(_entity(partition_key, row_key, properties))
        except ResourceExistsError as error:
            raise EntityAlreadyExists(f"{self.name}/{partition_key}/{row_key}") from error
        return str(metadata["etag"])

    def replace(
        self, partition_key: str, row_key: str, properties: Mapping[str, Any], etag: str
    ) -> str:
        """Replace the entity only if it still has `etag`; returns the new ETag."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        try:
            metadata = self._client.update_entity(
                _entity(partition_key, row_key, properties),
                mode=UpdateMode.REPLACE,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError as error:
            raise ConcurrencyConflict(f"{self.name}/{partition_key}/{row_key}") from error
        except ResourceNotFoundError as error:
            raise EntityNotFound(f"{self.name}/{partition_key}/{row_key}") from error
        return str(metadata["etag"])

    def upsert(self, partition_key: str, row_key: str, properties: Mapping[str, Any]) -> str:
        """Write whatever is there; only for data with a single writer."""
        from azure.data.tables import UpdateMode

        metadata = self._client.upsert_entity(
            _entity(partition_key, row_key, properties), mode=UpdateMode.REPLACE
        )
        return str(metadata["etag"])

    def delete(self, partition_key: str, row_key: str, etag: str | None = None) -> None:
        """Delete (idempotent without an ETag; guarded by it when given)."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError

        try:
            if etag is None:
                self._client.delete_entity(partition_key, row_key)
            else:
                self._client.delete_entity(
                    partition_key,
                    row_key,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except ResourceModifiedError as error:
            raise ConcurrencyConflict(f"{self.name}/{partition_key}/{row_key}") from error

    def range(
        self,
        partition_key: str,
        row_key_from: str = "",
        row_key_to: str | None = None,
        *,
        limit: int | None = None,
    ) -> Iterator[StoredEntity]:
        """Entities of one partition with row_key_from <= RowKey < row_key_to, in key order."""
        query = f"PartitionKey eq '{_escape(partition_key)}'"
        if row_key_from:
            query += f" and RowKey ge '{_escape(row_key_from)}'"
        if row_key_to is not None:
            query += f" and RowKey lt '{_escape(row_key_to)}'"
        pages = self._client.query_entities(query, results_per_page=limit)
        for count, entity in enumerate(pages, start=1):
            yield _stored(entity)
            if limit is not None and count >= limit:
                return


def _entity(partition_key: str, row_key: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    return {**properties, "PartitionKey": partition_key, "RowKey": row_key}


def _stored(
    entity: Any, partition_key: str | None = None, row_key: str | None = None
) -> StoredEntity:
    properties = {k: v for k, v in entity.items() if k not in ("PartitionKey", "RowKey")}
    return StoredEntity(
        partition_key=entity.get("PartitionKey", partition_key),
        row_key=entity.get("RowKey", row_key),
        properties=properties,
        etag=str(entity.metadata["etag"]),
    )
