"""Reading what the host app sends about conversations: every problem is an InvalidRequest
that names what is accepted, and nothing else is accepted."""

from __future__ import annotations

import hashlib
import json
import re
from calendar import monthrange
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar, overload

from shared.conversations.model import Location, LocationKind, Participant
from shared.conversations.time_zones import iana_zone
from shared.errors import ErrorCode, InvalidRequest
from shared.limits import (
    EARLIEST,
    LATEST,
    LATEST_DATE,
    MAX_ATTENDEES,
    MAX_EMAIL,
    MAX_HOST_ID,
    MAX_LOCATION,
    MAX_NAME,
    MAX_RECORD_TEXT,
    MAX_TITLE,
    within_time_range,
)

MAX_DURATION = timedelta(hours=24)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# ISO 8601 as the OpenAPI document states it: date, time, optional fraction and offset.
_MOMENT = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d"
    r"(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TYPE = re.compile(r"[a-z][a-z0-9_-]{0,63}")
# Graph's recurrencePattern and recurrenceRange (resources/recurrencepattern.md, recurrencerange.md)
_PATTERN_TYPES = (
    "daily",
    "weekly",
    "absoluteMonthly",
    "relativeMonthly",
    "absoluteYearly",
    "relativeYearly",
)
_PATTERN_FIELDS = (
    "type",
    "interval",
    "daysOfWeek",
    "dayOfMonth",
    "month",
    "index",
    "firstDayOfWeek",
)
_PATTERN_NUMBERS = {"interval": (1, 99), "dayOfMonth": (1, 31), "month": (1, 12)}
# What Graph needs besides type for each pattern (recurrencepattern.md's table)
_PATTERN_NEEDS = {
    "weekly": ("daysOfWeek",),
    "absoluteMonthly": ("dayOfMonth",),
    "relativeMonthly": ("daysOfWeek",),
    "absoluteYearly": ("dayOfMonth", "month"),
    "relativeYearly": ("daysOfWeek", "month"),
}
_RANGE_TYPES = ("endDate", "noEnd", "numbered")
_RANGE_FIELDS = ("type", "startDate", "endDate", "numberOfOccurrences", "recurrenceTimeZone")
_DAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_INDEXES = ("first", "second", "third", "fourth", "last")
_LONGEST_MONTH = {month: monthrange(2000, month)[1] for month in range(1, 13)}  # a leap year


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    time_zone: str


@dataclass(frozen=True)
class NewConversation:
    type: str
    title: str
    attendees: tuple[Participant, ...]
    window: Window
    location: Location
    recurrence: dict[str, Any] | None


@dataclass(frozen=True)
class ConversationChange:
    """PATCH: only time, date and location (the title never changes from here or Outlook)."""

    window: Window | None
    location: Location | None


def request_digest(new: NewConversation) -> str:
    """The same for the same conversation asked for, whatever the order of the JSON fields."""
    canonical = json.dumps(asdict(new), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_new_conversation(body: dict[str, Any]) -> NewConversation:
    _only(
        body, {"type", "title", "attendees", "start", "end", "timeZone", "location", "recurrence"}
    )
    kind = body.get("type")
    if not isinstance(kind, str) or not _TYPE.fullmatch(kind):
        raise InvalidRequest(
            "type must be 1 to 64 lowercase letters, digits, '_' or '-', starting with a letter "
            "(for example check_in, wellbeing, performance_development, mentoring_session).",
            ErrorCode.INVALID_TYPE,
        )
    title = body.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise InvalidRequest(f"title must be 1 to {MAX_TITLE} characters.", ErrorCode.INVALID_TITLE)
    window = parse_window(body)
    return NewConversation(
        type=kind,
        title=title.strip(),
        attendees=parse_attendees(body.get("attendees", [])),
        window=window,
        location=parse_location(body.get("location")),
        recurrence=parse_recurrence(body.get("recurrence"), window),
    )


def parse_change(body: dict[str, Any]) -> ConversationChange:
    if "title" in body:
        raise InvalidRequest(
            "The title cannot be changed after creation.", ErrorCode.TITLE_READ_ONLY
        )
    _only(body, {"start", "end", "timeZone", "location"})
    timed = any(key in body for key in ("start", "end", "timeZone"))
    if not timed and "location" not in body:
        raise InvalidRequest(
            "Nothing to change: give start/end/timeZone or location.", ErrorCode.EMPTY
        )
    return ConversationChange(
        window=parse_window(body) if timed else None,
        location=parse_location(body["location"]) if "location" in body else None,
    )


def parse_window(body: dict[str, Any]) -> Window:
    zone_name = body.get("timeZone")
    if not isinstance(zone_name, str):
        raise InvalidRequest(
            "timeZone is required (an IANA name like Europe/London).", ErrorCode.INVALID_TIME
        )
    try:
        zone = iana_zone(zone_name)
    except ValueError as error:
        raise InvalidRequest(str(error), ErrorCode.INVALID_TIME) from None
    start, end = (
        _moment(body.get(key), key, zone, ErrorCode.INVALID_TIME) for key in ("start", "end")
    )
    if end <= start:
        raise InvalidRequest("end must be after start.", ErrorCode.INVALID_TIME)
    if end - start > MAX_DURATION:
        raise InvalidRequest("A conversation lasts at most 24 hours.", ErrorCode.INVALID_TIME)
    return Window(start, end, zone_name)


def parse_attendees(raw: Any) -> tuple[Participant, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_ATTENDEES:
        raise InvalidRequest(
            f"attendees must be a list of at most {MAX_ATTENDEES}.", ErrorCode.INVALID_ATTENDEES
        )
    attendees: dict[str, Participant] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("email"), str):
            raise InvalidRequest(
                "Each attendee needs an email (and may have userId and name).",
                ErrorCode.INVALID_ATTENDEES,
            )
        _only(item, {"email", "name", "userId"}, "attendees[].", ErrorCode.INVALID_ATTENDEES)
        email = item["email"]
        if len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email):
            raise InvalidRequest(f"{email!r} is not an email address.", ErrorCode.INVALID_ATTENDEES)
        user_id, name = item.get("userId"), item.get("name")
        if not all(
            value is None or (isinstance(value, str) and 0 < len(value) <= longest)
            for value, longest in ((user_id, MAX_HOST_ID), (name, MAX_NAME))
        ):
            raise InvalidRequest(
                f"userId must be a host-app user id of at most {MAX_HOST_ID} characters, and "
                f"name a string of at most {MAX_NAME}.",
                ErrorCode.INVALID_ATTENDEES,
            )
        attendees.setdefault(email.lower(), Participant(email=email, name=name, user_id=user_id))
    return tuple(attendees.values())


def parse_location(raw: Any) -> Location:
    if raw is None:
        return Location()
    if not isinstance(raw, dict):
        raise InvalidRequest(
            'location must be {"kind": "none" | "teams"} or {"kind": "text", "text": ...}.',
            ErrorCode.INVALID_LOCATION,
        )
    _only(raw, {"kind", "text"}, "location.", ErrorCode.INVALID_LOCATION)
    kind = _one_of(raw.get("kind"), LocationKind, "location.kind", ErrorCode.INVALID_LOCATION)
    text = raw.get("text")
    if kind is not LocationKind.TEXT:
        if text is not None:
            raise InvalidRequest(
                "location.text is only for a location of kind text.", ErrorCode.INVALID_LOCATION
            )
        return Location(kind)
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LOCATION:
        raise InvalidRequest(
            f"A text location needs 1 to {MAX_LOCATION} characters of text.",
            ErrorCode.INVALID_LOCATION,
        )
    return Location(kind, text.strip())


def parse_recurrence(raw: Any, window: Window) -> dict[str, Any] | None:
    """Graph's patternedRecurrence, checked here so the user hears about mistakes, not Graph.
    Only what Graph's recurrencePattern and recurrenceRange define is taken; the range starts
    on the conversation's own (local) date and follows its time zone."""
    if raw is None:
        return None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("pattern"), dict)
        or not isinstance(raw.get("range"), dict)
    ):
        raise InvalidRequest(
            "recurrence needs a pattern and a range.", ErrorCode.INVALID_RECURRENCE
        )
    _only(raw, {"pattern", "range"}, "recurrence.", ErrorCode.INVALID_RECURRENCE)
    local_start = window.start.astimezone(iana_zone(window.time_zone)).date()
    pattern = _pattern(dict(raw["pattern"]))
    span = _range(dict(raw["range"]), local_start, window.time_zone)
    return {"pattern": pattern, "range": span}


def check_stored_recurrence(raw: Any) -> None:
    """InvalidRequest unless a stored recurrence still has Graph's shape: its pattern as
    `parse_recurrence` takes it, its range's type and values (its startDate follows the
    conversation, which may have moved since)."""
    if not isinstance(raw, dict) or set(raw) != {"pattern", "range"}:
        raise InvalidRequest(
            "recurrence needs a pattern and a range.", ErrorCode.INVALID_RECURRENCE
        )
    pattern, span = raw["pattern"], raw["range"]
    if not isinstance(pattern, dict) or not isinstance(span, dict):
        raise InvalidRequest(
            "recurrence needs a pattern and a range.", ErrorCode.INVALID_RECURRENCE
        )
    _pattern(dict(pattern))
    _only(span, set(_RANGE_FIELDS), "recurrence.range.", ErrorCode.INVALID_RECURRENCE)
    kind = _one_of(span.get("type"), _RANGE_TYPES, "recurrence.range.type")
    if kind == "endDate":
        _date(span.get("endDate"), "recurrence.range.endDate")
    count = span.get("numberOfOccurrences")
    if kind == "numbered" and (
        not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 999
    ):
        raise InvalidRequest(
            "recurrence.range.numberOfOccurrences must be a whole number from 1 to 999.",
            ErrorCode.INVALID_RECURRENCE,
        )


def _pattern(pattern: dict[str, Any]) -> dict[str, Any]:
    _only(pattern, set(_PATTERN_FIELDS), "recurrence.pattern.", ErrorCode.INVALID_RECURRENCE)
    kind = _one_of(pattern.get("type"), _PATTERN_TYPES, "recurrence.pattern.type")
    pattern.setdefault("interval", 1)
    missing = [name for name in _PATTERN_NEEDS.get(kind, ()) if name not in pattern]
    if missing:
        raise InvalidRequest(
            f"A {kind} recurrence needs {' and '.join(missing)}.", ErrorCode.INVALID_RECURRENCE
        )
    for name, (low, high) in _PATTERN_NUMBERS.items():
        value = pattern.get(name, low)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidRequest(
                f"recurrence.pattern.{name} must be a whole number from {low} to {high}.",
                ErrorCode.INVALID_RECURRENCE,
            )
    days = pattern.get("daysOfWeek", [])
    if not isinstance(days, list):
        raise InvalidRequest(
            "recurrence.pattern.daysOfWeek must be a list.", ErrorCode.INVALID_RECURRENCE
        )
    for day in days:
        _one_of(day, _DAYS, "each of recurrence.pattern.daysOfWeek")
    if len(set(days)) != len(days):
        raise InvalidRequest(
            "recurrence.pattern.daysOfWeek names a day twice.", ErrorCode.INVALID_RECURRENCE
        )
    if kind in ("weekly", "relativeMonthly", "relativeYearly") and not days:
        raise InvalidRequest(f"A {kind} recurrence needs daysOfWeek.", ErrorCode.INVALID_RECURRENCE)
    if kind == "absoluteYearly" and pattern["dayOfMonth"] > _LONGEST_MONTH[pattern["month"]]:
        raise InvalidRequest(
            f"Month {pattern['month']} has no day {pattern['dayOfMonth']}: the series would "
            "never occur.",
            ErrorCode.INVALID_RECURRENCE,
        )
    if "index" in pattern:
        _one_of(pattern["index"], _INDEXES, "recurrence.pattern.index")
    if "firstDayOfWeek" in pattern:
        _one_of(pattern["firstDayOfWeek"], _DAYS, "recurrence.pattern.firstDayOfWeek")
    return {"interval": pattern.pop("interval"), **pattern}


def _range(span: dict[str, Any], local_start: date, time_zone: str) -> dict[str, Any]:
    _only(span, set(_RANGE_FIELDS), "recurrence.range.", ErrorCode.INVALID_RECURRENCE)
    kind = _one_of(span.get("type"), _RANGE_TYPES, "recurrence.range.type")
    if span.get("startDate", local_start.isoformat()) != local_start.isoformat():
        raise InvalidRequest(
            "recurrence.range.startDate must be the start's own date (or left out).",
            ErrorCode.INVALID_RECURRENCE,
        )
    if span.get("recurrenceTimeZone", time_zone) != time_zone:
        raise InvalidRequest(
            "recurrence.range.recurrenceTimeZone must be the timeZone (or left out).",
            ErrorCode.INVALID_RECURRENCE,
        )
    span["startDate"], span["recurrenceTimeZone"] = local_start.isoformat(), time_zone
    if kind == "endDate":
        end = _date(span.get("endDate"), "recurrence.range.endDate")
        if end < local_start:
            raise InvalidRequest(
                "recurrence.range.endDate is before the start.", ErrorCode.INVALID_RECURRENCE
            )
    elif "endDate" in span:
        raise InvalidRequest(
            "recurrence.range.endDate is only for a range of type endDate.",
            ErrorCode.INVALID_RECURRENCE,
        )
    count = span.get("numberOfOccurrences")
    if kind == "numbered":
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 999:
            raise InvalidRequest(
                "recurrence.range.numberOfOccurrences must be a whole number from 1 to 999.",
                ErrorCode.INVALID_RECURRENCE,
            )
    elif count is not None:
        raise InvalidRequest(
            "recurrence.range.numberOfOccurrences is only for a range of type numbered.",
            ErrorCode.INVALID_RECURRENCE,
        )
    return span


def parse_record_text(body: dict[str, Any]) -> str:
    """A note's or an action's {"text"}."""
    _only(body, {"text"})
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_RECORD_TEXT:
        raise InvalidRequest(
            f"text must be 1 to {MAX_RECORD_TEXT} characters.", ErrorCode.INVALID_TEXT
        )
    return text.strip()


def parse_window_query(params: dict[str, str], *, max_days: int) -> Window:
    """A listing or availability window from a query string (start, end, timeZone)."""
    window = _window_of(params)
    if window.end - window.start > timedelta(days=max_days):
        raise InvalidRequest(
            f"The window can be at most {max_days} days.", ErrorCode.INVALID_WINDOW
        )
    return window


def _window_of(params: dict[str, str]) -> Window:
    zone_name = params.get("timeZone", "UTC")
    try:
        zone = iana_zone(zone_name)
    except ValueError as error:
        raise InvalidRequest(str(error), ErrorCode.INVALID_WINDOW) from None
    start, end = (
        _moment(params.get(key), key, zone, ErrorCode.INVALID_WINDOW) for key in ("start", "end")
    )
    if end <= start:
        raise InvalidRequest("end must be after start.", ErrorCode.INVALID_WINDOW)
    return Window(start, end, zone_name)


def _moment(value: Any, name: str, zone: Any, code: ErrorCode) -> datetime:
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} is required (ISO 8601 date and time).", code)
    try:
        if not _MOMENT.fullmatch(value):
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
        # OverflowError: year 1 or 9999 moved to UTC falls off the calendar.
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidRequest(
            f"{name} is not an ISO 8601 date and time: {value[:64]!r}.", code
        ) from None
    if not within_time_range(moment):
        raise InvalidRequest(
            f"{name} must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC).", code
        )
    return moment


def _date(value: Any, name: str) -> date:
    try:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise ValueError(value)
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(
            f"{name} must be a date (YYYY-MM-DD).", ErrorCode.INVALID_RECURRENCE
        ) from None
    if not EARLIEST.date() <= day <= LATEST_DATE:
        raise InvalidRequest(
            f"{name} must lie between {EARLIEST:%Y-%m-%d} and {LATEST_DATE:%Y-%m-%d}.",
            ErrorCode.INVALID_RECURRENCE,
        )
    return day


def _only(
    body: dict[str, Any],
    allowed: set[str],
    prefix: str = "",
    code: ErrorCode = ErrorCode.UNKNOWN_FIELDS,
) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        names = ", ".join(prefix + name for name in unknown)
        raise InvalidRequest(
            f"Unknown fields: {names} (allowed: {', '.join(sorted(allowed))}).", code
        )


E = TypeVar("E", bound=StrEnum)


@overload
def _one_of(value: Any, allowed: type[E], name: str, code: ErrorCode) -> E: ...
@overload
def _one_of(value: Any, allowed: tuple[str, ...], name: str, code: ErrorCode = ...) -> str: ...
def _one_of(
    value: Any,
    allowed: type[StrEnum] | tuple[str, ...],
    name: str,
    code: ErrorCode = ErrorCode.INVALID_RECURRENCE,
) -> StrEnum | str:
    """`value` if it is one of `allowed`; otherwise a problem that lists exactly those."""
    choices = [str(choice) for choice in allowed]
    if not isinstance(value, str) or value not in choices:
        raise InvalidRequest(f"{name} must be one of: {', '.join(choices)}.", code)
    return allowed(value) if isinstance(allowed, type) else value
