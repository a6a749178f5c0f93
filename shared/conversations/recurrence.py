"""Occurrences of a recurring conversation, from Graph's patternedRecurrence, in local time.

Expanded in the series' own time zone so a 09:00 weekly meeting stays at 09:00 across daylight
saving changes, then converted to UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from dateutil import rrule

from shared.conversations.time_zones import iana_zone
from shared.errors import ErrorCode, InvalidRequest

_DAYS = {
    "monday": rrule.MO,
    "tuesday": rrule.TU,
    "wednesday": rrule.WE,
    "thursday": rrule.TH,
    "friday": rrule.FR,
    "saturday": rrule.SA,
    "sunday": rrule.SU,
}
_WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
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


def moved(recurrence: dict[str, Any], start: datetime, time_zone: str) -> dict[str, Any]:
    """The recurrence of a series whose first occurrence moves to `start` (in `time_zone`).

    Graph's range.startDate "must be the same value as the start property of the recurring
    event" (recurrencerange resource), so it follows the start's local date. A pattern that no
    longer falls on that date moves by as many days: weekly daysOfWeek, absolute dayOfMonth
    and month. A relative pattern ("the first Monday") is not guessed at: InvalidRequest.
    """
    pattern, span = dict(recurrence["pattern"]), dict(recurrence["range"])
    day = start.astimezone(iana_zone(time_zone)).date()
    shift = (day - date.fromisoformat(span["startDate"])).days if "startDate" in span else 0
    kind = pattern["type"] if shift else "unmoved"
    if kind == "weekly" and _WEEK[day.weekday()] not in pattern["daysOfWeek"]:
        pattern["daysOfWeek"] = [_WEEK[(_WEEK.index(d) + shift) % 7] for d in pattern["daysOfWeek"]]
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        pattern["dayOfMonth"] = day.day
        if kind == "absoluteYearly":
            pattern["month"] = day.month
    elif kind in ("relativeMonthly", "relativeYearly") and not _falls_on(pattern, day):
        raise InvalidRequest(
            f"This {kind} series has no occurrence on {day.isoformat()}; move it to a day its "
            "pattern has, or cancel it and create it anew.",
            ErrorCode.INVALID_RECURRENCE,
        )
    span["startDate"] = day.isoformat()
    if "recurrenceTimeZone" in span:
        span["recurrenceTimeZone"] = time_zone
    if span["type"] == "endDate" and span["endDate"] < span["startDate"]:
        raise InvalidRequest(
            f"The series ends on {span['endDate']} (recurrence.range.endDate), before its new "
            "start.",
            ErrorCode.INVALID_RECURRENCE,
        )
    return {"pattern": pattern, "range": span}


def _falls_on(pattern: dict[str, Any], day: date) -> bool:
    """Whether a relative pattern has an occurrence on this date."""
    moment = datetime.combine(day, datetime.min.time())
    rule = _rule({"pattern": pattern, "range": {"type": "noEnd"}}, moment.replace(day=1), UTC)
    return rule.after(moment, inc=True) == moment


_PATTERN_KEYS = {
    "daily": (),
    "weekly": ("daysOfWeek", "firstDayOfWeek"),
    "absoluteMonthly": ("dayOfMonth",),
    "relativeMonthly": ("daysOfWeek", "index"),
    "absoluteYearly": ("dayOfMonth", "month"),
    "relativeYearly": ("daysOfWeek", "index", "month"),
}
_PATTERN_DEFAULTS = {"firstDayOfWeek": "sunday", "index": "first"}


def pattern_and_end(recurrence: dict[str, Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """A series' pattern and end as comparable values, Graph's defaults filled in."""
    pattern, span = recurrence["pattern"], recurrence["range"]
    kind = str(pattern["type"])
    shown: list[tuple[str, Any]] = [("type", kind), ("interval", int(pattern.get("interval", 1)))]
    for name in _PATTERN_KEYS[kind]:
        value = pattern.get(name, _PATTERN_DEFAULTS.get(name))
        if name == "daysOfWeek":
            value = sorted(str(d).lower() for d in value or ())
        shown.append((name, value))
    end_kind = str(span["type"])
    end: tuple[Any, ...] = (end_kind,)
    if end_kind == "endDate":
        end = (end_kind, ("endDate", str(span["endDate"])))
    elif end_kind == "numbered":
        end = (end_kind, ("numberOfOccurrences", int(span["numberOfOccurrences"])))
    return tuple(shown), end
