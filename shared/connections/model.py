"""A user's Outlook calendar connection and its lifecycle: connected, expiring, to reconnect."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class ConnectionStatus(StrEnum):
    NOT_CONNECTED = "not_connected"
    CONNECTED = "connected"
    RECONNECT_REQUIRED = "reconnect_required"
    DISABLED = "disabled"  # the organisation's admin switch is off


class ReconnectReason(StrEnum):
    RECONNECT_DUE = "reconnect_due"  # the periodic (9-month) renewal date has passed
    SIGN_IN_EXPIRED = "sign_in_expired"  # refresh token expired (e.g. 90 days unused)
    ACCESS_REVOKED = "access_revoked"  # password change, admin revocation
    CONSENT_REQUIRED = "consent_required"  # consent withdrawn or new interaction needed


REASON_MESSAGES = {
    ReconnectReason.RECONNECT_DUE: "Calendar connections are renewed periodically; "
    "connect your Outlook calendar again to keep syncing.",
    ReconnectReason.SIGN_IN_EXPIRED: "Your Microsoft sign-in has expired; connect again.",
    ReconnectReason.ACCESS_REVOKED: "Microsoft revoked this app's access (for example after a "
    "password change); connect again.",
    ReconnectReason.CONSENT_REQUIRED: "Microsoft needs you (or your admin) to approve this app "
    "again; connect again.",
}


@dataclass(frozen=True)
class MicrosoftAccount:
    object_id: str
    tenant_id: str
    home_account_id: str
    user_principal_name: str
    display_name: str


@dataclass(frozen=True)
class Connection:
    org_id: str
    user_id: str
    account: MicrosoftAccount
    connected_at: datetime
    reconnect_by: datetime
    reconnect_reason: ReconnectReason | None = None
    reconnect_detail: str | None = None

    @property
    def needs_reconnect(self) -> bool:
        return self.reconnect_reason is not None

    def usable_at(self, now: datetime) -> bool:
        return not self.needs_reconnect and now < self.reconnect_by


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later, clipped to the month's last day (31 May + 9 months = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def status_view(
    connection: Connection | None,
    *,
    allowed: bool,
    now: datetime,
    warning: timedelta,
) -> dict[str, Any]:
    """GET /api/me/calendar: what the host app shows the user about their connection."""
    if not allowed:
        return {
            "status": ConnectionStatus.DISABLED.value,
            "message": "Your organisation has not enabled Outlook calendar sync.",
            **_account_fields(connection, now, warning),
        }
    if connection is None:
        return {"status": ConnectionStatus.NOT_CONNECTED.value}
    reason = connection.reconnect_reason
    if reason is None and now >= connection.reconnect_by:
        reason = ReconnectReason.RECONNECT_DUE
    if reason is not None:
        return {
            "status": ConnectionStatus.RECONNECT_REQUIRED.value,
            "reason": reason.value,
            "message": REASON_MESSAGES[reason],
            **_account_fields(connection, now, warning),
        }
    return {"status": ConnectionStatus.CONNECTED.value, **_account_fields(connection, now, warning)}


def _account_fields(
    connection: Connection | None, now: datetime, warning: timedelta
) -> dict[str, Any]:
    if connection is None:
        return {}
    return {
        "account": {
            "userPrincipalName": connection.account.user_principal_name,
            "displayName": connection.account.display_name,
        },
        "connectedAt": connection.connected_at.isoformat(),
        "reconnectBy": connection.reconnect_by.isoformat(),
        "expiringSoon": connection.reconnect_by - warning <= now < connection.reconnect_by,
    }
