"""Time zones as Outlook wants them: Windows names (CLDR mapping), local wall-clock times."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win

from shared.limits import MAX_ZONE_NAME


def iana_zone(name: str) -> ZoneInfo:
    """The IANA zone, or ValueError naming it: the app keeps users' zones in IANA form."""
    try:
        if len(name) > MAX_ZONE_NAME:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "Europe"
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like 'Europe/London')"
        ) from None


def windows_zone(iana_name: str) -> str:
    """Graph's create and update accept Windows zone names everywhere; IANA names only in part."""
    return tz_win.get(iana_name, "UTC")


def graph_date_time(moment: datetime, iana_name: str) -> dict[str, str]:
    """`dateTimeTimeZone` in the organiser's zone, so a series keeps its wall-clock time."""
    if windows_zone(iana_name) == "UTC" and iana_name not in ("UTC", "Etc/UTC"):
        return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
    local = moment.astimezone(iana_zone(iana_name))
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": windows_zone(iana_name)}


def parse_graph_date_time(value: dict[str, str]) -> datetime:
    """Graph's `dateTimeTimeZone` answered in UTC (we send `Prefer: outlook.timezone="UTC"`)."""
    text = value["dateTime"].rstrip("Z")
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    zone = value.get("timeZone", "UTC")
    moment = datetime.fromisoformat(text)
    if zone in ("UTC", "Etc/UTC", "tzone://Microsoft/Utc"):
        return moment.replace(tzinfo=UTC)
    iana = next((k for k, v in tz_win.items() if v == zone), zone)
    return moment.replace(tzinfo=iana_zone(iana)).astimezone(UTC)


_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$")


def parse_timestamp(value: str) -> datetime:
    """Graph's ISO 8601 timestamps ('2026-11-22T09:00:00.1234567Z'): up to 7 fraction digits."""
    match = _TIMESTAMP.match(value.strip())
    if match is None:
        raise ValueError(f"not an ISO 8601 timestamp: {value!r}")
    whole, fraction, zone = match.groups()
    text = whole + (f".{fraction[:6].ljust(6, '0')}" if fraction else "")
    moment = datetime.fromisoformat(text + ("+00:00" if zone in (None, "Z") else zone))
    return moment.astimezone(UTC)
