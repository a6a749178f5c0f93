"""Reading what the host app sends about conversations; every problem is a clear BadRequest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.conversations.model import Location, LocationKind, Participant
from shared.conversations.time_zones import iana_zone
from shared.errors import BadRequest

MAX_TITLE = 255
MAX_ATTENDEES = 100
MAX_EMAIL = 320
MAX_NAME = 255
MAX_DURATION = timedelta(hours=24)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# ISO 8601 as the OpenAPI document states it: date, time, optional fraction and offset.
_MOMENT = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d"
    r"(:[0-5]\d(\.\d{1,6})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TYPE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_PATTERN_TYPES = {
    "daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly",
}  # fmt: skip
_RANGE_TYPES = {"endDate", "noEnd", "numbered"}
_DAYS = {"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
_INDEXES = {"first", "second", "third", "fourth", "last"}
_PATTERN_FIELDS = {
    "type",
    "interval",
    "daysOfWeek",
    "dayOfMonth",
    "month",
    "firstDayOfWeek",
    "index",
}
# startDate and recurrenceTimeZone are accepted (a recurrence read back is sent again) and set
# from the conversation's start and time zone.
_RANGE_FIELDS = {"type", "endDate", "numberOfOccurrences", "startDate", "recurrenceTimeZone"}
_NEEDS_DAY_OF_MONTH = {"absoluteMonthly", "absoluteYearly"}
_NEEDS_MONTH = {"absoluteYearly", "relativeYearly"}


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


def parse_new_conversation(body: dict[str, Any]) -> NewConversation:
    _only(
        body, {"type", "title", "attendees", "start", "end", "timeZone", "location", "recurrence"}
    )
    kind = body.get("type")
    if not isinstance(kind, str) or not _TYPE.fullmatch(kind):
        raise BadRequest(
            "type must be a conversation type such as check_in, wellbeing, "
            "performance_development, mentoring_session or one your organisation defines.",
            code="invalid_type",
        )
    title = body.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise BadRequest(f"title must be 1 to {MAX_TITLE} characters.", code="invalid_title")
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
        raise BadRequest("The title cannot be changed after creation.", code="title_read_only")
    _only(body, {"start", "end", "timeZone", "location"})
    timed = any(key in body for key in ("start", "end", "timeZone"))
    if not timed and "location" not in body:
        raise BadRequest("Nothing to change: give start/end/timeZone or location.", code="empty")
    return ConversationChange(
        window=parse_window(body) if timed else None,
        location=parse_location(body["location"]) if "location" in body else None,
    )


def parse_window(body: dict[str, Any]) -> Window:
    zone_name = body.get("timeZone")
    if not isinstance(zone_name, str):
        raise BadRequest(
            "timeZone is required (an IANA name like Europe/London).", code="invalid_time"
        )
    try:
        zone = iana_zone(zone_name)
    except ValueError as error:
        raise BadRequest(str(error), code="invalid_time") from None
    start, end = (_moment(body.get(key), key, zone) for key in ("start", "end"))
    if end <= start:
        raise BadRequest("end must be after start.", code="invalid_time")
    if end - start > MAX_DURATION:
        raise BadRequest("A conversation lasts at most 24 hours.", code="invalid_time")
    return Window(start, end, zone_name)


def parse_attendees(raw: Any) -> tuple[Participant, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_ATTENDEES:
        raise BadRequest(
            f"attendees must be a list of at most {MAX_ATTENDEES}.", code="invalid_attendees"
        )
    attendees: dict[str, Participant] = {}
    for item in raw:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("email"), str)
            or set(item) - {"email", "name", "userId"}
        ):
            raise BadRequest("Each attendee is {email, name?, userId?}.", code="invalid_attendees")
        email = item["email"]
        if len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email):
            raise BadRequest(f"{email!r} is not an email address.", code="invalid_attendees")
        user_id, name = item.get("userId"), item.get("name")
        if not all(_short_text_or_none(value) for value in (user_id, name)):
            raise BadRequest(
                f"userId and name must be strings of at most {MAX_NAME} characters.",
                code="invalid_attendees",
            )
        attendees.setdefault(email.lower(), Participant(email=email, name=name, user_id=user_id))
    return tuple(attendees.values())


def parse_location(raw: Any) -> Location:
    if raw is None:
        return Location()
    if not isinstance(raw, dict) or set(raw) - {"kind", "text"}:
        raise BadRequest('location must be {"kind": "none" | "text" | "teams", "text"?}.',
                         code="invalid_location")  # fmt: skip
    try:
        kind = LocationKind(raw.get("kind"))
    except ValueError:
        raise BadRequest(
            "location.kind must be none, text or teams.", code="invalid_location"
        ) from None
    text = raw.get("text")
    if (text is not None and (not isinstance(text, str) or len(text) > 255)) or (
        kind is LocationKind.TEXT and not (text or "").strip()
    ):
        raise BadRequest(
            "A text location needs 1 to 255 characters of text.", code="invalid_location"
        )
    return Location(kind, text.strip() if kind is LocationKind.TEXT else None)


def parse_recurrence(raw: Any, window: Window) -> dict[str, Any] | None:
    """Graph's patternedRecurrence, checked here so the user hears about mistakes, not Graph."""
    if raw is None:
        return None
    if (
        not isinstance(raw, dict)
        or not isinstance(raw.get("pattern"), dict)
        or not isinstance(raw.get("range"), dict)
    ):
        raise BadRequest("recurrence needs a pattern and a range.", code="invalid_recurrence")
    pattern, span = dict(raw["pattern"]), dict(raw["range"])
    for name, given, allowed in (("recurrence", raw, {"pattern", "range"}),
                                 ("recurrence.pattern", pattern, _PATTERN_FIELDS),
                                 ("recurrence.range", span, _RANGE_FIELDS)):  # fmt: skip
        unknown = sorted(set(given) - allowed)
        if unknown:
            raise BadRequest(f"Unknown fields in {name}: {', '.join(unknown)}.",
                             code="invalid_recurrence")  # fmt: skip
    if not _one_of(pattern.get("type"), _PATTERN_TYPES):
        raise BadRequest(f"recurrence.pattern.type must be one of {sorted(_PATTERN_TYPES)}.",
                         code="invalid_recurrence")  # fmt: skip
    interval = pattern.get("interval", 1)
    if not _whole_between(interval, 1, 99):
        raise BadRequest("recurrence.pattern.interval must be 1 to 99.", code="invalid_recurrence")
    for field, low, high, needed in (("dayOfMonth", 1, 31, _NEEDS_DAY_OF_MONTH),
                                     ("month", 1, 12, _NEEDS_MONTH)):  # fmt: skip
        wanted = field in pattern or pattern["type"] in needed
        if wanted and not _whole_between(pattern.get(field), low, high):
            raise BadRequest(
                f"recurrence.pattern.{field} must be {low} to {high} "
                f"(required for {' and '.join(sorted(needed))}).",
                code="invalid_recurrence",
            )
    if "firstDayOfWeek" in pattern and not _one_of(pattern["firstDayOfWeek"], _DAYS):
        raise BadRequest(
            "recurrence.pattern.firstDayOfWeek must name a weekday.", code="invalid_recurrence"
        )
    days = pattern.get("daysOfWeek", [])
    if (
        not isinstance(days, list)
        or not all(_one_of(d, _DAYS) for d in days)
        or len(set(days)) != len(days)
    ):
        raise BadRequest(
            "recurrence.pattern.daysOfWeek must name weekdays, each once.",
            code="invalid_recurrence",
        )
    if pattern["type"] in ("weekly", "relativeMonthly", "relativeYearly") and not days:
        raise BadRequest(
            f"A {pattern['type']} recurrence needs daysOfWeek.", code="invalid_recurrence"
        )
    if "index" in pattern and not _one_of(pattern["index"], _INDEXES):
        raise BadRequest(
            "recurrence.pattern.index must be first..fourth or last.", code="invalid_recurrence"
        )
    if not _one_of(span.get("type"), _RANGE_TYPES):
        raise BadRequest(
            "recurrence.range.type must be endDate, noEnd or numbered.", code="invalid_recurrence"
        )
    local_start = window.start.astimezone(iana_zone(window.time_zone)).date()
    span["startDate"] = local_start.isoformat()
    if "endDate" in span or span["type"] == "endDate":
        end = _date(span.get("endDate"), "recurrence.range.endDate")
        if span["type"] == "endDate" and end < local_start:
            raise BadRequest(
                "recurrence.range.endDate is before the start.", code="invalid_recurrence"
            )
    if span["type"] == "numbered" and not _whole_between(span.get("numberOfOccurrences"), 1, 999):
        raise BadRequest("numberOfOccurrences must be 1 to 999.", code="invalid_recurrence")
    span["recurrenceTimeZone"] = window.time_zone
    return {"pattern": {"interval": interval, **pattern}, "range": span}


def parse_window_query(params: dict[str, str], *, max_days: int) -> Window:
    """A listing or availability window from a query string (start, end, timeZone)."""
    window = _window_of(params)
    if window.end - window.start > timedelta(days=max_days):
        raise BadRequest(f"The window can be at most {max_days} days.", code="invalid_window")
    return window


def _window_of(params: dict[str, str]) -> Window:
    zone_name = params.get("timeZone", "UTC")
    try:
        zone = iana_zone(zone_name)
    except ValueError as error:
        raise BadRequest(str(error), code="invalid_window") from None
    start, end = (_moment(params.get(key), key, zone) for key in ("start", "end"))
    if end <= start:
        raise BadRequest("end must be after start.", code="invalid_window")
    return Window(start, end, zone_name)


def _moment(value: Any, name: str, zone: Any) -> datetime:
    if not isinstance(value, str):
        raise BadRequest(f"{name} is required (ISO 8601 date and time).", code="invalid_time")
    try:
        if not _MOMENT.fullmatch(value):
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
        # OverflowError: year 1 or 9999 moved to UTC falls off the calendar.
        return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadRequest(
            f"{name} is not an ISO 8601 date and time: {value!r}.", code="invalid_time"
        ) from None


def _short_text_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, str) and len(value) <= MAX_NAME)


def _one_of(value: Any, allowed: set[str]) -> bool:
    return isinstance(value, str) and value in allowed


def _whole_between(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _date(value: Any, name: str) -> date:
    try:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            f"{name} must be a date (YYYY-MM-DD).", code="invalid_recurrence"
        ) from None


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"Unknown fields: {', '.join(unknown)}.", code="unknown_fields")
