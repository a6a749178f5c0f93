"""An organisation's switches for the Outlook integration, set by its admins."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class ConsentStatus(StrEnum):
    NOT_REQUESTED = "not_requested"
    GRANTED = "granted"
    DECLINED = "declined"


@dataclass(frozen=True)
class AdminConsent:
    status: ConsentStatus = ConsentStatus.NOT_REQUESTED
    tenant_id: str | None = None
    at: datetime | None = None
    error: str | None = None
    error_description: str | None = None


@dataclass(frozen=True)
class OrgSettings:
    org_id: str
    allow_outlook: bool = False
    sync_conversations: bool = True
    tenant_id: str | None = None
    consent: AdminConsent = AdminConsent()
    updated_at: datetime | None = None
    updated_by: str | None = None

    def replaced_by(self, switches: Switches, by: str, at: datetime) -> OrgSettings:
        return replace(
            self,
            allow_outlook=switches.allow_outlook,
            sync_conversations=switches.sync_conversations,
            tenant_id=switches.tenant_id,
            updated_at=at,
            updated_by=by,
        )


@dataclass(frozen=True)
class Switches:
    """What PUT /api/admin/settings replaces: the whole set of an organisation's switches."""

    allow_outlook: bool
    sync_conversations: bool
    tenant_id: str | None
