"""Outlook's times: `dateTimeTimeZone` values with Windows or IANA zone names, and timestamps.

Exchange keeps an event's instants plus the zone it was created in; answers are written in the
zone `Prefer: outlook.timezone` names (UTC by default). Windows names map to IANA zones through
CLDR's windowsZones table (tzlocal ships it).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from itertools import takewhile
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz

from devtools.graph_emulator.errors import GraphError

_UTC_NAMES = {"utc", "etc/utc", "gmt", "etc/gmt", "tzone://microsoft/utc", "z"}


def zone(name: str) -> tzinfo:
    """The zone a Windows or IANA name stands for; Graph's 400 for names it does not know."""
    if name.strip().lower() in _UTC_NAMES:
        return UTC
    iana = win_tz.get(name, name)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        raise unsupported_zone(name) from None


def unsupported_zone(name: str) -> GraphError:
    return GraphError(
        400,
        "TimeZoneNotSupportedException",
        "A valid TimeZone value must be specified. The following TimeZone value is not "
        f"supported: '{name}'.",
    )


def local_time(text: str) -> datetime:
    """A `dateTime` as Graph writes it (`2026-03-02T09:00:00.0000000`), as a naive datetime."""
    value = str(text).strip().rstrip("Z")
    head, dot, fraction = value.partition(".")
    try:
        return datetime.fromisoformat(f"{head}.{fraction[:6]}" if dot and fraction else head)
    except ValueError:
        raise GraphError(
            400, "ErrorInvalidRequest", f"The value '{text}' is not a valid date and time."
        ) from None


def instant(value: Any) -> datetime:
    """A `dateTimeTimeZone` (Windows or IANA zone, default UTC) as an aware UTC datetime."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise GraphError(400, "ErrorInvalidRequest", "A dateTime value is missing.")
    moment = local_time(value["dateTime"])
    return moment.replace(tzinfo=zone(str(value.get("timeZone") or "UTC"))).astimezone(UTC)


def in_zone(moment: datetime, zone_name: str | None) -> dict[str, str]:
    """`dateTimeTimeZone` of an instant in the zone a client prefers, written as Graph does."""
    name = zone_name or "UTC"
    local = moment.astimezone(zone(name))
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.%f0"), "timeZone": name}


def utc_value(moment: datetime) -> dict[str, str]:
    return in_zone(moment, "UTC")


def stamp(moment: datetime) -> str:
    """An Edm.DateTimeOffset as Outlook writes them: UTC with seven fraction digits."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def query_instant(text: str, parameter: str) -> datetime:
    """`startDateTime`-style query values: ISO 8601; without an offset they mean UTC."""
    try:
        moment = datetime.fromisoformat(_six_digits(text.strip().replace("Z", "+00:00")))
    except ValueError:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            f"The value '{text}' of parameter '{parameter}' is invalid.",
        ) from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _six_digits(text: str) -> str:
    head, dot, rest = text.partition(".")
    if not dot:
        return text
    digits = "".join(takewhile(str.isdigit, rest))  # Graph writes 7 digits, Python reads 6
    return f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
