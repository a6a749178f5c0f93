"""The one seam between change notifications / delta and the calendar store.

Subscriptions, delivery and delta only need a few things from Outlook's store: hear of each change
as it happens, read the changes of one mailbox after a sequence number, and read a mailbox's
items (one by id, or what a calendar view shows). `CalendarFeed` names those; `feed_of(state)`
adapts the store the emulator runs with (`mailboxes.Mailboxes`: `feed` is a list of `Change`
with global sequence numbers, `on_change(listener)` calls listeners synchronously inside the
store's lock, `instances(owner, start, end)` expands series into occurrences). If the store is
replaced, only this module changes.

Listeners run inside the store's write lock: they must be quick and must not take a lock that
is ever held while calling back into the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.state import EmulatorState

CHANGE_TYPES = ("created", "updated", "deleted")


@dataclass(frozen=True)
class FeedChange:
    """One entry of the change feed: what `mailboxes.Change` carries."""

    sequence: int  # increases by one per change, across all mailboxes
    mailbox: str  # the owner's object id
    event_id: str
    change_type: str  # created | updated | deleted
    at: datetime


Listener = Callable[[FeedChange], None]


class CalendarFeed(Protocol):
    def on_change(self, listener: Listener) -> None: ...

    def position(self) -> int:
        """The sequence number of the latest change (0: none since the seed)."""
        ...

    def changes(self, mailbox: str, after: int) -> list[FeedChange]:
        """The mailbox's changes with a sequence number above `after`, oldest first."""
        ...

    def instances(
        self, owner: DirectoryUser, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """What a calendar view of [start, end) shows: single events and occurrences (each
        occurrence with `seriesMasterId`), by start."""
        ...

    def event(self, owner: DirectoryUser, event_id: str) -> dict[str, Any] | None:
        """A stored item (single event, series master, meeting copy) or an occurrence."""
        ...


class MailboxesFeed:
    """`CalendarFeed` over `mailboxes.Mailboxes` (`mailboxes_of(state)`)."""

    def __init__(self, mailboxes: Any) -> None:
        self._mailboxes = mailboxes

    def on_change(self, listener: Listener) -> None:
        self._mailboxes.on_change(lambda change: listener(_plain(change)))

    def position(self) -> int:
        if hasattr(self._mailboxes, "position"):
            return int(self._mailboxes.position())
        feed = self._mailboxes.feed
        return feed[-1].sequence if feed else 0

    def changes(self, mailbox: str, after: int) -> list[FeedChange]:
        if hasattr(self._mailboxes, "changes"):
            return [_plain(c) for c in self._mailboxes.changes(mailbox, after)]
        # The feed is append-only between resets; a copy of the list is a consistent snapshot.
        return [
            _plain(c)
            for c in list(self._mailboxes.feed)
            if c.sequence > after and c.mailbox == mailbox
        ]

    def instances(
        self, owner: DirectoryUser, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        if hasattr(self._mailboxes, "instances"):
            return list(self._mailboxes.instances(owner, start, end))
        found = []
        for event in self._mailboxes.events(owner):  # a store that does not expand series
            first, last = event_span(event)
            if first < end and last > start:
                found.append(event)
        return sorted(found, key=lambda e: (event_span(e)[0], e["id"]))

    def event(self, owner: DirectoryUser, event_id: str) -> dict[str, Any] | None:
        return self._mailboxes.event(owner, event_id)


def _plain(change: Any) -> FeedChange:
    return FeedChange(
        sequence=int(change.sequence),
        mailbox=str(change.mailbox),
        event_id=str(change.event_id),
        change_type=str(change.change_type),
        at=change.at,
    )


def feed_of(state: EmulatorState) -> CalendarFeed:
    """The state's calendar feed (one adapter per state)."""
    existing = getattr(state, "calendar_feed", None)
    if existing is None:
        existing = MailboxesFeed(_mailboxes_of(state))
        state.calendar_feed = existing  # type: ignore[attr-defined]
    return existing


def _mailboxes_of(state: EmulatorState) -> Any:
    from devtools.graph_emulator import mailboxes

    if hasattr(mailboxes, "mailboxes_of"):
        return mailboxes.mailboxes_of(state)
    from devtools.graph_emulator.graph_mailbox_events import mailboxes_of

    return mailboxes_of(state)


def event_span(event: dict[str, Any]) -> tuple[datetime, datetime]:
    """An event's start and end as aware UTC datetimes (its `dateTimeTimeZone`s, any zone)."""
    from devtools.graph_emulator.mailboxes import parse_graph_time

    return parse_graph_time(event["start"]), parse_graph_time(event["end"])
