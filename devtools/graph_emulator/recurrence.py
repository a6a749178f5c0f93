"""Graph's `patternedRecurrence`: checking a series' pattern and expanding it into occurrences.

Occurrences are expanded in the series' own zone (`range.recurrenceTimeZone`, else the zone the
series started in) and only then turned into instants, so a 09:00 weekly meeting in London stays
at 09:00 local across the change to and from summer time, as Exchange keeps it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from dateutil import rrule

from devtools.graph_emulator.errors import GraphError

_DAYS = {
    "sunday": rrule.SU,
    "monday": rrule.MO,
    "tuesday": rrule.TU,
    "wednesday": rrule.WE,
    "thursday": rrule.TH,
    "friday": rrule.FR,
    "saturday": rrule.SA,
}
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_FREQUENCY = {
    "daily": rrule.DAILY,
    "weekly": rrule.WEEKLY,
    "absoluteMonthly": rrule.MONTHLY,
    "relativeMonthly": rrule.MONTHLY,
    "absoluteYearly": rrule.YEARLY,
    "relativeYearly": rrule.YEARLY,
}
_NEEDS = {
    "weekly": ("daysOfWeek",),
    "absoluteMonthly": ("dayOfMonth",),
    "relativeMonthly": ("daysOfWeek",),
    "absoluteYearly": ("dayOfMonth", "month"),
    "relativeYearly": ("daysOfWeek", "month"),
}


def check(recurrence: dict[str, Any]) -> None:
    """Refuse a pattern or range Exchange could not expand (the schema has checked the types)."""
    pattern = recurrence.get("pattern") or {}
    span = recurrence.get("range") or {}
    kind = pattern.get("type")
    if kind not in _FREQUENCY:
        raise _invalid("The recurrence pattern type is missing or unknown.")
    if int(pattern.get("interval") or 1) < 1:
        raise _invalid("The recurrence pattern interval must be at least 1.")
    for name in _NEEDS.get(kind, ()):
        if not pattern.get(name):
            raise _invalid(f"A {kind} recurrence pattern needs '{name}'.")
    if span.get("type") not in ("endDate", "noEnd", "numbered"):
        raise _invalid("The recurrence range type is missing or unknown.")
    if not span.get("startDate"):
        raise _invalid("The recurrence range needs a startDate.")
    if span["type"] == "endDate" and (
        not span.get("endDate") or span["endDate"] < span["startDate"]
    ):
        raise _invalid("The recurrence range needs an endDate on or after its startDate.")
    if span["type"] == "numbered" and int(span.get("numberOfOccurrences") or 0) < 1:
        raise _invalid("The recurrence range needs numberOfOccurrences of at least 1.")


def occurrence_starts(
    recurrence: dict[str, Any],
    local_start: datetime,
    series_zone: tzinfo,
    duration: timedelta,
    window: tuple[datetime, datetime],
) -> list[datetime]:
    """UTC starts of the occurrences overlapping `window` (UTC, end exclusive).

    `local_start` is the series' first start as a naive wall-clock time in `series_zone`; each
    occurrence keeps its time of day on the dates the pattern picks from `range.startDate` on.
    """
    window_start, window_end = window
    rule = _rule(recurrence, local_start.time())
    slack = timedelta(days=1)  # local and UTC dates differ by less than a day
    low = (window_start - duration).astimezone(series_zone).replace(tzinfo=None) - slack
    high = window_end.astimezone(series_zone).replace(tzinfo=None) + slack
    starts = []
    for local in rule.between(low, high, inc=True):
        start = local.replace(tzinfo=series_zone).astimezone(UTC)
        if start < window_end and start + duration > window_start:
            starts.append(start)
    return starts


def _rule(recurrence: dict[str, Any], time_of_day: time) -> rrule.rrule:
    pattern, span = recurrence["pattern"], recurrence["range"]
    kind = pattern["type"]
    dtstart = datetime.combine(date.fromisoformat(span["startDate"]), time_of_day)
    days = [_DAYS[d.lower()] for d in pattern.get("daysOfWeek") or []]
    index = _INDEX.get(str(pattern.get("index") or "first"), 1)
    options: dict[str, Any] = {
        "dtstart": dtstart,
        "interval": int(pattern.get("interval") or 1),
        "wkst": _DAYS[str(pattern.get("firstDayOfWeek") or "sunday").lower()],
    }
    if kind == "weekly":
        options["byweekday"] = days
    elif kind == "absoluteMonthly":
        options.update(_day_of_month(int(pattern["dayOfMonth"])))
    elif kind == "relativeMonthly":
        options.update(byweekday=days, bysetpos=index)
    elif kind == "absoluteYearly":
        options.update(bymonth=int(pattern["month"]), **_day_of_month(int(pattern["dayOfMonth"])))
    elif kind == "relativeYearly":
        options.update(bymonth=int(pattern["month"]), byweekday=days, bysetpos=index)
    if span["type"] == "numbered":
        options["count"] = int(span["numberOfOccurrences"])
    elif span["type"] == "endDate":
        options["until"] = datetime.combine(date.fromisoformat(span["endDate"]), time.max)
    return rrule.rrule(_FREQUENCY[kind], **options)


def _day_of_month(day: int) -> dict[str, Any]:
    """A day the month lacks (31 in April, 29 in February) falls on its last day, as Outlook
    schedules it: the latest existing day of 28..`day`."""
    if day <= 28:
        return {"bymonthday": day}
    return {"bymonthday": list(range(28, day + 1)), "bysetpos": -1}


def _invalid(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", message)
