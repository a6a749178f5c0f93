"""An organisation's settings as the API shows them (/api/admin/settings)."""

from __future__ import annotations

from typing import Any

from shared.organisations.model import OrgSettings


def settings_view(settings: OrgSettings) -> dict[str, Any]:
    consent = settings.consent
    return {
        "allowOutlookCalendar": settings.allow_outlook,
        "syncConversations": settings.sync_conversations,
        "tenantId": settings.tenant_id,
        "adminConsent": {
            "status": consent.status.value,
            "tenantId": consent.tenant_id,
            "at": consent.at.isoformat() if consent.at else None,
            "error": consent.error,
            "errorDescription": consent.error_description,
        },
        "updatedAt": settings.updated_at.isoformat() if settings.updated_at else None,
        "updatedBy": settings.updated_by,
    }
