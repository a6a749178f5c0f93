"""Occurrences of a recurring conversation, from Graph's patternedRecurrence, in local time.

Expanded in the series' own time zone so a 09:00 weekly meeting stays at 09:00 across daylight
saving changes, then converted to UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from dateutil import rrule

from shared.conversations.time_zones import iana_zone

_DAYS = {
    "monday": rrule.MO,
    "tuesday": rrule.TU,
    "wednesday": rrule.WE,
    "thursday": rrule.TH,
    "friday": rrule.FR,
    "saturday": rrule.SA,
    "sunday": rrule.SU,
}
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_FREQUENCY: dict[str, Literal[0, 1, 2, 3, 4, 5, 6]] = {
    "daily": rrule.DAILY,
    "weekly": rrule.WEEKLY,
    "absoluteMonthly": rrule.MONTHLY,
    "relativeMonthly": rrule.MONTHLY,
    "absoluteYearly": rrule.YEARLY,
    "relativeYearly": rrule.YEARLY,
}


def occurrences(
    recurrence: dict[str, Any],
    first_start: datetime,
    duration: timedelta,
    time_zone: str,
    window_start: datetime,
    window_end: datetime,
) -> list[tuple[datetime, datetime]]:
    """(start, end) in UTC of each occurrence that overlaps [window_start, window_end)."""
    zone = iana_zone(time_zone)
    local_first = first_start.astimezone(zone).replace(tzinfo=None)
    rule = _rule(recurrence, local_first, zone)
    low = (window_start - duration).astimezone(zone).replace(tzinfo=None)
    high = window_end.astimezone(zone).replace(tzinfo=None)
    found = []
    for local in rule.between(low, high, inc=True):
        start = local.replace(tzinfo=zone).astimezone(UTC)
        if start < window_end and start + duration > window_start:
            found.append((start, start + duration))
    return found


def _rule(recurrence: dict[str, Any], dtstart: datetime, zone: Any) -> rrule.rrule:
    pattern, span = recurrence["pattern"], recurrence["range"]
    kind = pattern["type"]
    options: dict[str, Any] = {"dtstart": dtstart, "interval": pattern.get("interval", 1)}
    days = [_DAYS[d] for d in pattern.get("daysOfWeek", [])]
    index = _INDEX.get(pattern.get("index", "first"), 1)
    if kind == "weekly":
        options["byweekday"] = days
        options["wkst"] = _DAYS[pattern.get("firstDayOfWeek", "sunday")]
    elif kind == "absoluteMonthly":
        options["bymonthday"] = pattern.get("dayOfMonth", dtstart.day)
    elif kind == "relativeMonthly":
        options["byweekday"] = [d(index) for d in days]
    elif kind == "absoluteYearly":
        options["bymonth"] = pattern.get("month", dtstart.month)
        options["bymonthday"] = pattern.get("dayOfMonth", dtstart.day)
    elif kind == "relativeYearly":
        options["bymonth"] = pattern.get("month", dtstart.month)
        options["byweekday"] = [d(index) for d in days]
    if span["type"] == "numbered":
        options["count"] = span["numberOfOccurrences"]
    elif span["type"] == "endDate":
        end = datetime.fromisoformat(span["endDate"])
        options["until"] = end.replace(hour=23, minute=59, second=59)
    return rrule.rrule(_FREQUENCY[kind], **options)
