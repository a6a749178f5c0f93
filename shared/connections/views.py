"""A user's connection as the API shows it: /api/me/calendar, and connection events in the feed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.connections.model import (
    CalendarStatus,
    Connection,
    ConnectionStatus,
    MicrosoftAccount,
    ReconnectReason,
)

if TYPE_CHECKING:
    from shared.connections.service import SignInFinished

DISABLED_MESSAGE = "Your organisation has not enabled Outlook calendar sync."
NOT_ASSIGNED_MESSAGE = (
    "Your organisation allows only people it assigned to use Outlook calendar sync, and you are "
    "not one of them; ask your admin to assign you, then connect again."
)
REASON_MESSAGES = {
    ReconnectReason.RECONNECT_DUE: "Calendar connections are renewed periodically; "
    "connect your Outlook calendar again to keep syncing.",
    ReconnectReason.SIGN_IN_EXPIRED: "Your Microsoft sign-in has expired; connect again.",
    ReconnectReason.ACCESS_REVOKED: "Microsoft revoked this app's access (for example after a "
    "password change); connect again.",
    ReconnectReason.CONSENT_REQUIRED: "Microsoft needs you (or your admin) to approve this app "
    "again; connect again.",
    ReconnectReason.NOT_ASSIGNED: NOT_ASSIGNED_MESSAGE,
}


def status_view(status: CalendarStatus) -> dict[str, Any]:
    """GET /api/me/calendar: what the host app shows the user about their connection."""
    view: dict[str, Any] = {"status": status.status.value}
    if status.status is ConnectionStatus.DISABLED:
        view["message"] = DISABLED_MESSAGE
    if status.reason is not None:
        view |= {"reason": status.reason.value, "message": REASON_MESSAGES[status.reason]}
    if status.connection is not None and status.status is not ConnectionStatus.NOT_CONNECTED:
        view |= _account_fields(status.connection, status.expiring_soon)
        view["notices"] = notices_of(status.connection)
    return view


TEAMS_UNAVAILABLE = "teams_unavailable"
TEAMS_UNAVAILABLE_MESSAGE = (
    "Your Outlook calendar does not allow Teams meetings (no Teams licence, or your admin "
    "turned them off): conversations you organise get no Teams link."
)


def notices_of(connection: Connection) -> list[dict[str, str]]:
    """What the user should know about their calendar: each with a code and a message."""
    if connection.teams_available:
        return []
    return [{"code": TEAMS_UNAVAILABLE, "message": TEAMS_UNAVAILABLE_MESSAGE}]


def _account_fields(connection: Connection, expiring_soon: bool) -> dict[str, Any]:
    return {
        "account": _account_view(connection.account),
        "connectedAt": connection.connected_at.isoformat(),
        "reconnectBy": connection.reconnect_by.isoformat(),
        "expiringSoon": expiring_soon,
    }


def completed_view(finished: SignInFinished, status: CalendarStatus) -> dict[str, Any]:
    """POST /api/me/calendar/complete: how the sign-in ended, the Microsoft account that signed
    in (show it: it is the mailbox that syncs), and the caller's connection now."""
    account = finished.signed_in_as
    return {
        "outcome": finished.outcome.value,
        "signedInAs": None if account is None else _account_view(account),
        "calendar": status_view(status),
    }


def _account_view(account: MicrosoftAccount) -> dict[str, str]:
    return {"userPrincipalName": account.user_principal_name, "displayName": account.display_name}


def sign_in_view(url_name: str, url: str, expires_at: datetime) -> dict[str, Any]:
    """Where to send the browser to sign in or consent, and until when that link works."""
    return {url_name: url, "expiresAt": expires_at.isoformat()}


def expiring_soon_entry(connection: Connection) -> dict[str, Any]:
    """A change feed entry: the connection must be renewed by its reconnect date."""
    return {"kind": "connection_expiring_soon", "reconnectBy": connection.reconnect_by.isoformat()}


def reconnect_required_entry(reason: ReconnectReason) -> dict[str, Any]:
    """A change feed entry: the connection no longer works until the user connects again."""
    return {"kind": "reconnect_required", "reason": reason.value}
