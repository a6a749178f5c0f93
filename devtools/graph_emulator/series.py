"""A recurring series' exceptions: occurrences moved, changed or cancelled one at a time.

Exchange keeps these on the series master (MS-OXOCAL 2.2.1.44: the recurrence blob's deleted
and modified instance dates, and an exception attachment per modified occurrence). The emulator
keeps them on the stored master under two private keys that no answer ever shows:
- `_exceptions`: {original start (UTC stamp): the fields that occurrence overrides, plus its own
  `lastModifiedDateTime` and `changeKey`},
- `_cancelled`: the original starts of occurrences deleted from the series.

An occurrence keeps its id once it becomes an exception (the id carries the master and the
original start), and both carry `originalStart` (event resource: "the start time of an event
when it is initially created as an occurrence or exception"). A cancelled occurrence is gone
from calendar views and from `/instances` ("does not include occurrences that have been
cancelled"). Changing the series' time or pattern drops every exception and cancellation
(MS-OXOCAL 3.1.4.7.3.5: the client "removes every exception"); other edits of the series leave
the exceptions as they are and reach the occurrences that did not override the same field.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from devtools.graph_emulator import event_fields, event_ids
from devtools.graph_emulator.time_zones import instant, stamp

EXCEPTIONS = "_exceptions"
CANCELLED = "_cancelled"
# What one occurrence may change on its own (the rest is the series').
OCCURRENCE_FIELDS = frozenset(
    {
        "start",
        "end",
        "originalStartTimeZone",
        "originalEndTimeZone",
        "location",
        "locations",
        "subject",
        "body",
        "bodyPreview",
        "showAs",
        "sensitivity",
        "importance",
        "isAllDay",
        "isOnlineMeeting",
        "onlineMeeting",
        "onlineMeetingProvider",
        "attendees",
        "isCancelled",
        "categories",
        "isReminderOn",
        "reminderMinutesBeforeStart",
        "allowNewTimeProposals",
    }
)
# A series edit that changes any of these is a new pattern: exceptions and cancellations go.
PATTERN_FIELDS = ("start", "end", "recurrence")
_SECOND = timedelta(seconds=1)


def public(item: dict[str, Any]) -> dict[str, Any]:
    """An item without the emulator's private keys."""
    return {k: v for k, v in item.items() if not k.startswith("_")}


def expand(master: dict[str, Any], window: tuple[datetime, datetime]) -> list[dict[str, Any]]:
    """The occurrences and exceptions overlapping `window`; cancelled ones are gone."""
    cancelled = set(master.get(CANCELLED) or ())
    exceptions = master.get(EXCEPTIONS) or {}
    found: dict[str, dict[str, Any]] = {}
    for occurrence in event_fields.occurrences(public(master), window):
        original = occurrence["originalStart"]
        if original not in cancelled and original not in exceptions:
            found[original] = occurrence
    for original, overrides in exceptions.items():
        if original in cancelled:
            continue
        moved = _with_overrides(_regular_at(master, original), overrides)
        if moved is not None and _overlaps(moved, window):
            found[original] = moved
    return sorted(found.values(), key=lambda e: (instant(e["start"]), e["id"]))


def instance(master: dict[str, Any], original_start: datetime) -> dict[str, Any] | None:
    """The occurrence or exception that started at `original_start` in the pattern, or None
    when the pattern has no occurrence then or it was cancelled."""
    original = stamp(original_start)
    if original in set(master.get(CANCELLED) or ()):
        return None
    return _with_overrides(
        _regular_at(master, original), (master.get(EXCEPTIONS) or {}).get(original)
    )


def with_exception(
    master: dict[str, Any], original: str, overrides: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The master with the occurrence at `original` overriding `overrides` (added to what it
    overrode before), stamped as changed now."""
    exceptions = copy.deepcopy(master.get(EXCEPTIONS) or {})
    record = {**exceptions.get(original, {}), **copy.deepcopy(overrides)}
    record["lastModifiedDateTime"] = stamp(now)
    record["changeKey"] = event_ids.change_key(f"{master['id']}/{original}", now)
    exceptions[original] = record
    return {**master, EXCEPTIONS: exceptions}


def with_cancelled(master: dict[str, Any], original: str) -> dict[str, Any]:
    cancelled = sorted({*(master.get(CANCELLED) or ()), original})
    exceptions = {k: v for k, v in (master.get(EXCEPTIONS) or {}).items() if k != original}
    return {**master, EXCEPTIONS: exceptions, CANCELLED: cancelled}


def overrides_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What an edit of one occurrence changed, as that exception's overrides."""
    return {k: after[k] for k in OCCURRENCE_FIELDS if k in after and after.get(k) != before.get(k)}


def pattern_changed(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return any(before.get(k) != after.get(k) for k in PATTERN_FIELDS)


def without_exceptions(master: dict[str, Any]) -> dict[str, Any]:
    return {**master, EXCEPTIONS: {}, CANCELLED: []}


def for_attendees(master: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The exceptions an organiser's series gives its attendees' copies: theirs as they are, and
    each cancelled occurrence as a cancelled exception (shown "Canceled:" and free, as Exchange
    shows a cancelled meeting until its attendee removes it)."""
    exceptions = copy.deepcopy(master.get(EXCEPTIONS) or {})
    for original in master.get(CANCELLED) or ():
        subject = exceptions.get(original, {}).get("subject", master["subject"])
        shown = event_fields.cancelled({"subject": subject})
        exceptions[original] = {**exceptions.get(original, {}), **shown}
    return exceptions


def cancelled_occurrence_ids(master: dict[str, Any]) -> list[str]:
    """`cancelledOccurrences` of a series master: "OID.{seriesMasterId}.{date}", the date in the
    series' zone (event resource, beta docs of cancelledOccurrences / occurrenceId)."""
    series_zone = event_fields.series_zone(master)
    return [
        f"OID.{master['id']}.{_parse(o).astimezone(series_zone).date()}"
        for o in master.get(CANCELLED) or ()
    ]


def _regular_at(master: dict[str, Any], original: str) -> dict[str, Any] | None:
    start = _parse(original)
    return next(
        (
            o
            for o in event_fields.occurrences(public(master), (start - _SECOND, start + _SECOND))
            if o["originalStart"] == original
        ),
        None,
    )


def _with_overrides(
    occurrence: dict[str, Any] | None, overrides: dict[str, Any] | None
) -> dict[str, Any] | None:
    if occurrence is None or not overrides:
        return occurrence
    return {**occurrence, **copy.deepcopy(overrides), "type": "exception"}


def _overlaps(event: dict[str, Any], window: tuple[datetime, datetime]) -> bool:
    return instant(event["start"]) < window[1] and instant(event["end"]) > window[0]


def _parse(original: str) -> datetime:
    return instant({"dateTime": original.rstrip("Z"), "timeZone": "UTC"})
