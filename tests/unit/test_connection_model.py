from datetime import UTC, datetime, timedelta

import pytest

from shared.connections.model import (
    Connection,
    MicrosoftAccount,
    ReconnectReason,
    add_months,
    calendar_status,
)
from shared.connections.views import status_view as render

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WARNING = timedelta(days=30)


def status_view(connection: Connection | None, **when) -> dict:
    return render(calendar_status(connection, **when))


def connection(connected_at: datetime, reason: ReconnectReason | None = None) -> Connection:
    return Connection(
        org_id="org",
        user_id="user",
        account=MicrosoftAccount("oid", "tid", "oid.tid", "ann@contoso.test", "Ann"),
        connected_at=connected_at,
        reconnect_by=add_months(connected_at, 9),
        reconnect_reason=reason,
    )


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 15, 9, 30, tzinfo=UTC), 9, datetime(2026, 10, 15, 9, 30, tzinfo=UTC)),
        (datetime(2026, 5, 31, tzinfo=UTC), 9, datetime(2027, 2, 28, tzinfo=UTC)),
        (datetime(2027, 5, 31, tzinfo=UTC), 9, datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 12, 1, tzinfo=UTC), 12, datetime(2027, 12, 1, tzinfo=UTC)),
    ],
)
def test_reconnect_dates_are_calendar_months_later(start, months, expected):
    assert add_months(start, months) == expected


def test_a_fresh_connection_is_connected_and_not_expiring():
    view = status_view(connection(NOW - timedelta(days=1)), allowed=True, now=NOW, warning=WARNING)
    assert view["status"] == "connected"
    assert view["expiringSoon"] is False
    assert view["account"] == {"userPrincipalName": "ann@contoso.test", "displayName": "Ann"}
    assert view["reconnectBy"] == "2027-08-21T12:00:00+00:00"


def test_within_the_warning_window_the_connection_is_expiring_soon():
    connected = add_months(NOW, -9) + timedelta(days=10)
    view = status_view(connection(connected), allowed=True, now=NOW, warning=WARNING)
    assert (view["status"], view["expiringSoon"]) == ("connected", True)


def test_past_reconnect_by_the_user_must_reconnect_even_before_the_timer_runs():
    view = status_view(connection(add_months(NOW, -10)), allowed=True, now=NOW, warning=WARNING)
    assert view["status"] == "reconnect_required"
    assert view["reason"] == "reconnect_due"
    assert view["expiringSoon"] is False


def test_a_revoked_sign_in_says_why():
    view = status_view(
        connection(NOW, ReconnectReason.ACCESS_REVOKED), allowed=True, now=NOW, warning=WARNING
    )
    assert view["status"] == "reconnect_required"
    assert view["reason"] == "access_revoked"
    assert "password change" in view["message"]


def test_the_admin_switch_off_shows_disabled_but_keeps_the_account():
    view = status_view(connection(NOW), allowed=False, now=NOW, warning=WARNING)
    assert view["status"] == "disabled"
    assert view["account"]["userPrincipalName"] == "ann@contoso.test"
    assert status_view(None, allowed=True, now=NOW, warning=WARNING) == {"status": "not_connected"}
