"""Organisation switches in the `orgsettings` table: PartitionKey = org id, RowKey = "settings"."""

from __future__ import annotations

from dataclasses import dataclass

from shared.organisations.model import AdminConsent, ConsentStatus, OrgSettings
from shared.storage.entities import EntityStore
from shared.storage.keys import table_key

_ROW = "settings"


@dataclass(frozen=True)
class StoredOrgSettings:
    settings: OrgSettings
    etag: str | None  # None: never saved, the defaults apply


class OrgSettingsRepository:
    def __init__(self, table: EntityStore) -> None:
        self._table = table

    def get(self, org_id: str) -> StoredOrgSettings:
        stored = self._table.get(table_key(org_id), _ROW)
        if stored is None:
            return StoredOrgSettings(OrgSettings(org_id=org_id), None)
        p = stored.properties
        settings = OrgSettings(
            org_id=org_id,
            allow_outlook=bool(p.get("AllowOutlook", False)),
            sync_conversations=bool(p.get("SyncConversations", True)),
            tenant_id=p.get("TenantId") or None,
            consent=AdminConsent(
                status=ConsentStatus(p.get("ConsentStatus", ConsentStatus.NOT_REQUESTED)),
                tenant_id=p.get("ConsentTenantId") or None,
                at=p.get("ConsentAt"),
                error=p.get("ConsentError") or None,
                error_description=p.get("ConsentErrorDescription") or None,
            ),
            updated_at=p.get("UpdatedAt"),
            updated_by=p.get("UpdatedBy") or None,
        )
        return StoredOrgSettings(settings, stored.etag)

    def put(self, settings: OrgSettings, etag: str | None) -> str:
        properties = {
            "AllowOutlook": settings.allow_outlook,
            "SyncConversations": settings.sync_conversations,
            "TenantId": settings.tenant_id or "",
            "ConsentStatus": settings.consent.status.value,
            "ConsentTenantId": settings.consent.tenant_id or "",
            "ConsentError": settings.consent.error or "",
            "ConsentErrorDescription": settings.consent.error_description or "",
            "UpdatedBy": settings.updated_by or "",
        }
        if settings.consent.at is not None:
            properties["ConsentAt"] = settings.consent.at
        if settings.updated_at is not None:
            properties["UpdatedAt"] = settings.updated_at
        key = table_key(settings.org_id)
        if etag is None:
            return self._table.create(key, _ROW, properties)
        return self._table.replace(key, _ROW, properties, etag)
