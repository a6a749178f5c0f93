"""Connections, account links and sign-in states in Azure Tables, keyed for point reads.

connections:  PartitionKey = org id,     RowKey = user id           (one row per user)
accountlinks: PartitionKey = tenant id,  RowKey = account object id (one host user per account)
authstates:   PartitionKey = state or completion code, RowKey = "state" (single use, short-lived)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.changes import outbox
from shared.connections.model import Connection, MicrosoftAccount, ReconnectReason
from shared.storage.entities import EntityStore, StoredEntity
from shared.storage.keys import key_parts, table_key
from shared.token_cipher import Sealed


@dataclass(frozen=True)
class StoredConnection:
    connection: Connection
    token_cache: Sealed | None
    etag: str


class ConnectionRepository:
    def __init__(self, table: EntityStore) -> None:
        self._table = table

    def get(self, org_id: str, user_id: str) -> StoredConnection | None:
        stored = self._table.get(table_key(org_id), table_key(user_id))
        return None if stored is None else _stored_connection(org_id, user_id, stored)

    def page_of_organisation(
        self, org_id: str, after: str, limit: int
    ) -> tuple[list[Connection], str | None]:
        """Up to `limit` connections of one organisation, in key order after the cursor `after`,
        and the cursor to go on from (None once this page was the last)."""
        start = after + " " if after else ""  # no key holds a character below " "
        rows = list(self._table.range(table_key(org_id), start, limit=limit))
        page = [_stored_connection(org_id, key_parts(r.row_key)[0], r).connection for r in rows]
        return page, rows[-1].row_key if len(rows) == limit else None

    def put(self, connection: Connection, token_cache: Sealed | None, etag: str | None) -> str:
        """Create (etag None) or replace the row only if it still has `etag`."""
        keys = (table_key(connection.org_id), table_key(connection.user_id))
        properties = _properties(connection, token_cache)
        if etag is None:
            return self._table.create(*keys, properties)
        return self._table.replace(*keys, properties, etag)

    def delete(self, org_id: str, user_id: str) -> None:
        self._table.delete(table_key(org_id), table_key(user_id))


def _stored_connection(org_id: str, user_id: str, stored: StoredEntity) -> StoredConnection:
    p = stored.properties
    connection = Connection(
        org_id=org_id,
        user_id=user_id,
        account=MicrosoftAccount(
            object_id=p["AccountObjectId"],
            tenant_id=p["AccountTenantId"],
            home_account_id=p["HomeAccountId"],
            user_principal_name=p["UserPrincipalName"],
            display_name=p.get("DisplayName", ""),
            mail=p.get("Mail", ""),
        ),
        connected_at=p["ConnectedAt"],
        reconnect_by=p["ReconnectBy"],
        reconnect_reason=ReconnectReason(p["ReconnectReason"])
        if p.get("ReconnectReason")
        else None,
        reconnect_detail=p.get("ReconnectDetail"),
        teams_available=bool(p.get("TeamsAvailable", True)),
        outbox=outbox.from_json(p.get("PendingChanges") or ""),
    )
    cache = Sealed(p["TokenKeyId"], bytes(p["TokenCache"])) if p.get("TokenCache") else None
    return StoredConnection(connection, cache, stored.etag)


def _properties(connection: Connection, token_cache: Sealed | None) -> dict[str, Any]:
    account = connection.account
    return {
        "AccountObjectId": account.object_id,
        "AccountTenantId": account.tenant_id,
        "HomeAccountId": account.home_account_id,
        "UserPrincipalName": account.user_principal_name,
        "DisplayName": account.display_name,
        "Mail": account.mail,
        "TeamsAvailable": connection.teams_available,
        "ConnectedAt": connection.connected_at,
        "ReconnectBy": connection.reconnect_by,
        "ReconnectReason": connection.reconnect_reason.value if connection.reconnect_reason else "",
        "ReconnectDetail": connection.reconnect_detail or "",
        "TokenKeyId": token_cache.key_id if token_cache else "",
        "TokenCache": token_cache.blob if token_cache else b"",
        "PendingChanges": outbox.to_json(connection.outbox),
    }


@dataclass(frozen=True)
class AccountLink:
    tenant_id: str
    object_id: str
    org_id: str
    user_id: str


class AccountLinkRepository:
    def __init__(self, table: EntityStore) -> None:
        self._table = table

    def get(self, tenant_id: str, object_id: str) -> AccountLink | None:
        stored = self._table.get(table_key(tenant_id), table_key(object_id))
        if stored is None:
            return None
        return AccountLink(
            tenant_id, object_id, stored.properties["OrgId"], stored.properties["UserId"]
        )

    def claim(self, link: AccountLink, at: datetime) -> AccountLink:
        """Link the account to the user, or return the link that already holds it."""
        from shared.storage.entities import EntityAlreadyExists

        try:
            self._table.create(
                table_key(link.tenant_id),
                table_key(link.object_id),
                {"OrgId": link.org_id, "UserId": link.user_id, "LinkedAt": at},
            )
            return link
        except EntityAlreadyExists:
            holder = self.get(link.tenant_id, link.object_id)
            return holder if holder is not None else self.claim(link, at)

    def release(self, tenant_id: str, object_id: str) -> None:
        self._table.delete(table_key(tenant_id), table_key(object_id))


@dataclass(frozen=True)
class PendingSignIn:
    """What the OAuth callback needs to finish: who started it, where to return, MSAL's flow."""

    state: str
    kind: str  # "connect" or "admin_consent"
    org_id: str
    user_id: str
    return_url: str
    flow: Sealed
    expires_at: datetime


class PendingSignInRepository:
    def __init__(self, table: EntityStore) -> None:
        self._table = table

    def add(self, pending: PendingSignIn) -> None:
        self._table.create(
            table_key(pending.state),
            "state",
            {
                "Kind": pending.kind,
                "OrgId": pending.org_id,
                "UserId": pending.user_id,
                "ReturnUrl": pending.return_url,
                "FlowKeyId": pending.flow.key_id,
                "Flow": pending.flow.blob,
                "ExpiresAt": pending.expires_at,
            },
        )

    def take(self, state: str, kind: str) -> PendingSignIn | None:
        """Read and delete in one guarded step: of two callbacks with one state, one wins. A
        row of another kind is left alone (a completion code is not a state, nor the reverse)."""
        from shared.storage.entities import ConcurrencyConflict

        stored = self._table.get(table_key(state), "state")
        if stored is None or stored.properties["Kind"] != kind:
            return None
        try:
            self._table.delete(table_key(state), "state", stored.etag)
        except ConcurrencyConflict:
            return None
        p = stored.properties
        return PendingSignIn(
            state=state,
            kind=p["Kind"],
            org_id=p["OrgId"],
            user_id=p["UserId"],
            return_url=p["ReturnUrl"],
            flow=Sealed(p["FlowKeyId"], bytes(p["Flow"])),
            expires_at=p["ExpiresAt"],
        )
