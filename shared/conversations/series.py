"""A recurring conversation's occurrences as Outlook shows them: pure rules, no I/O.

A series is its pattern (the conversation's start, end and recurrence) plus exceptions: single
occurrences moved, relocated or cancelled, each known by its original start in the pattern.
Listing applies them; reading Outlook's occurrences (the sync worker) derives them again, so
the app's series ends as Outlook's. Outlook drops every exception when the series' time or
pattern changes (MS-OXOCAL 3.1.4.7.3.5), and so does the app.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from shared.conversations.model import (
    Conversation,
    Location,
    Occurrence,
    OccurrenceCancelled,
    OccurrenceChanged,
    OccurrenceException,
    OccurrenceMoved,
    OccurrenceRelocated,
    occurrence_id,
)
from shared.conversations.recurrence import occurrences

_SECOND = timedelta(seconds=1)
# Stored exceptions per conversation at most (one row property, under 64 KiB, holds them all);
# the oldest go.
MAX_EXCEPTIONS = 100


def slots(
    conversation: Conversation,
    start: datetime,
    end: datetime,
    recurrence: dict[str, Any] | None = None,
) -> list[tuple[datetime, datetime]]:
    """The pattern's occurrences (without exceptions) overlapping [start, end), UTC."""
    pattern = recurrence or conversation.recurrence
    if pattern is None:
        overlaps = conversation.start < end and conversation.end > start
        return [(conversation.start, conversation.end)] if overlaps else []
    return occurrences(
        pattern,
        conversation.start,
        conversation.end - conversation.start,
        conversation.time_zone,
        start,
        end,
    )


def in_pattern(conversation: Conversation, original_start: datetime) -> bool:
    """Whether the pattern has an occurrence starting then."""
    found = slots(conversation, original_start - _SECOND, original_start + _SECOND)
    return any(start == original_start for start, _ in found)


def listed(conversation: Conversation, start: datetime, end: datetime) -> list[Occurrence]:
    """The occurrences overlapping [start, end) as Outlook shows them: moved ones at their new
    time and place, cancelled ones gone. A one-off conversation is its one occurrence."""
    found: dict[datetime, Occurrence] = {}
    changed = {e.original_start: e for e in conversation.exceptions}
    for slot_start, slot_end in slots(conversation, start, end):
        if slot_start not in changed:
            found[slot_start] = _shown(conversation, slot_start, slot_end, None)
    duration = conversation.end - conversation.start
    for original, exception in changed.items():
        if exception.cancelled or not in_pattern(conversation, original):
            continue
        shown = _shown(conversation, original, original + duration, exception)
        if shown.start < end and shown.end > start:
            found[original] = shown
    return sorted(found.values(), key=lambda o: (o.start, o.id))


def _shown(
    conversation: Conversation,
    original: datetime,
    original_end: datetime,
    exception: OccurrenceException | None,
) -> Occurrence:
    start = exception.start if exception and exception.start else original
    end = exception.end if exception and exception.end else original_end
    location = exception.location if exception and exception.location else conversation.location
    return Occurrence(occurrence_id(original), start, end, location)


@dataclass(frozen=True)
class OutlookOccurrence:
    """An occurrence or exception as Outlook's instances list shows it."""

    original_start: datetime
    start: datetime
    end: datetime
    location: Location | None  # None: Outlook did not say
    event_id: str


def reconciled(
    conversation: Conversation,
    seen: dict[datetime, OutlookOccurrence],
    window: tuple[datetime, datetime],
    outlook_recurrence: dict[str, Any],
) -> tuple[tuple[OccurrenceException, ...], list[OccurrenceChanged]]:
    """The conversation's exceptions after reading Outlook's occurrences in `window` (`seen`,
    by original start), and what changed. An occurrence the pattern has in the window that
    Outlook no longer lists was cancelled; `outlook_recurrence` is the series as Outlook has
    it (it may end earlier than the conversation's). Exceptions outside the window stay as
    known; one changed in the app and not yet in Outlook (pending) is not overwritten."""
    duration = conversation.end - conversation.start
    expected = {start for start, _ in slots(conversation, *window, recurrence=outlook_recurrence)}
    known = {e.original_start: e for e in conversation.exceptions}
    result = {o: e for o, e in known.items() if in_pattern(conversation, o)}
    changes: list[OccurrenceChanged] = []
    for original in sorted(expected | {o for o in seen if in_pattern(conversation, o)}):
        old = known.get(original)
        if old is not None and old.pending:
            continue
        outlook = _as_exception(conversation, original, duration, seen.get(original), old)
        if outlook is None:
            result.pop(original, None)
            if old is not None and not old.cancelled:
                changes += _differences(conversation, original, duration, old, None)
            continue
        if old is None or not old.same_as(outlook):
            changes += _differences(conversation, original, duration, old, outlook)
        result[original] = outlook
    kept = sorted(result.values(), key=lambda e: e.original_start)[-MAX_EXCEPTIONS:]
    return tuple(kept), changes


def _as_exception(
    conversation: Conversation,
    original: datetime,
    duration: timedelta,
    seen: OutlookOccurrence | None,
    old: OccurrenceException | None,
) -> OccurrenceException | None:
    """Outlook's occurrence as an exception; None when it is as the pattern makes it."""
    if seen is None:
        return OccurrenceException(original, cancelled=True, event_id=old.event_id if old else None)
    moved = (seen.start, seen.end) != (original, original + duration)
    location = seen.location if seen.location is not None else conversation.location
    relocated = location != conversation.location
    if not moved and not relocated:
        return None
    return OccurrenceException(
        original,
        start=seen.start if moved else None,
        end=seen.end if moved else None,
        location=location if relocated else None,
        event_id=seen.event_id,
    )


def _differences(
    conversation: Conversation,
    original: datetime,
    duration: timedelta,
    old: OccurrenceException | None,
    new: OccurrenceException | None,
) -> list[OccurrenceChanged]:
    """What the host app hears: the occurrence cancelled, moved (to its new time, or back to
    its slot), relocated (to its own place, or back to the series')."""
    if new is not None and new.cancelled:
        return [OccurrenceCancelled(original)]
    before = old if old is not None and not old.cancelled else None
    after = new or OccurrenceException(original)
    found: list[OccurrenceChanged] = []
    if (before.start if before else None) != after.start or (old and old.cancelled):
        found.append(
            OccurrenceMoved(original, after.start or original, after.end or original + duration)
        )
    if (before.location if before else None) != after.location:
        found.append(OccurrenceRelocated(original, after.location or conversation.location))
    return found


def with_exception(conversation: Conversation, exception: OccurrenceException) -> Conversation:
    """The conversation with this occurrence changed (in the app): kept for Outlook to follow."""
    others = [e for e in conversation.exceptions if e.original_start != exception.original_start]
    ordered = sorted([*others, exception], key=lambda e: e.original_start)[-MAX_EXCEPTIONS:]
    return replace(conversation, exceptions=tuple(ordered))
