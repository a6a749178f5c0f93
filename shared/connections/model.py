"""A user's Outlook calendar connection and its lifecycle: connected, expiring, to reconnect."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from shared.changes.outbox import Pending


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
    NOT_ASSIGNED = "not_assigned"  # the tenant requires assignment to the app (AADSTS50105)


@dataclass(frozen=True)
class MicrosoftAccount:
    object_id: str
    tenant_id: str
    home_account_id: str
    user_principal_name: str
    display_name: str
    # The SMTP address getSchedule and invitations know the person by (Graph's user `mail`);
    # often not the userPrincipalName (alias domains, renamed people). "" when unknown.
    mail: str = ""

    @property
    def smtp_address(self) -> str:
        """Their mailbox's address: `mail`, or the UPN when Graph gave none (a mailbox-less
        account's `mail` is null, and connections made before `mail` was kept have none)."""
        return self.mail or self.user_principal_name


@dataclass(frozen=True)
class Connection:
    org_id: str
    user_id: str
    account: MicrosoftAccount
    connected_at: datetime
    reconnect_by: datetime
    reconnect_reason: ReconnectReason | None = None
    reconnect_detail: str | None = None
    # Whether the calendar allows Teams meetings (calendar.allowedOnlineMeetingProviders has
    # teamsForBusiness), read when connecting; True for connections made before it was read.
    teams_available: bool = True
    # Change feed entries written with the change they tell, not yet recorded (changes/outbox.py)
    outbox: tuple[Pending, ...] = ()

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


@dataclass(frozen=True)
class CalendarStatus:
    """What the user is told about their connection (GET /api/me/calendar)."""

    status: ConnectionStatus
    connection: Connection | None = None
    reason: ReconnectReason | None = None  # with RECONNECT_REQUIRED
    expiring_soon: bool = False  # the reconnect date is within the warning period


def calendar_status(
    connection: Connection | None, *, allowed: bool, now: datetime, warning: timedelta
) -> CalendarStatus:
    expiring = connection is not None and (
        connection.reconnect_by - warning <= now < connection.reconnect_by
    )
    if not allowed:
        return CalendarStatus(ConnectionStatus.DISABLED, connection, expiring_soon=expiring)
    if connection is None:
        return CalendarStatus(ConnectionStatus.NOT_CONNECTED)
    reason = connection.reconnect_reason
    if reason is None and now >= connection.reconnect_by:
        reason = ReconnectReason.RECONNECT_DUE
    if reason is not None:
        return CalendarStatus(
            ConnectionStatus.RECONNECT_REQUIRED, connection, reason, expiring_soon=expiring
        )
    return CalendarStatus(ConnectionStatus.CONNECTED, connection, expiring_soon=expiring)
