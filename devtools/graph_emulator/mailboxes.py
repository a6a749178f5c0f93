"""Outlook mailboxes: each directory user's calendar and the change feed every write appends to.

Events are kept as Graph event objects, times in UTC plus the zone they were given in
(`originalStartTimeZone`). A meeting lives in the organiser's calendar; each invited directory
member with an Exchange Online mailbox gets a copy (same iCalUId, their own id), as Exchange's
invitations do, and follows the organiser's changes. A series is one stored master; its
occurrences are computed (`instances`, `event`) from its recurrence, in the series' zone.

The change feed: every item created, updated or deleted in a mailbox (attendee copies and
responses included) appends a `Change` to `feed`, numbered from 1 across all mailboxes, and each
`on_change` listener hears of it synchronously, in order, while the store's lock is held
(listeners must only queue work). `position()` and `changes(mailbox, after)` read it.

A single occurrence can be changed or cancelled (series.py keeps those exceptions on the
master); such an edit changes the master, so the feed names the master.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from devtools.graph_emulator import event_fields, event_ids, series
from devtools.graph_emulator.clock import EmulatorClock
from devtools.graph_emulator.directory import Directory, DirectoryUser
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.event_fields import event_end, event_start
from devtools.graph_emulator.persistence import PersistedFields
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.time_zones import instant, stamp

__all__ = ["Change", "Mailboxes", "event_end", "event_start", "mailboxes_of", "parse_graph_time"]

SHARING_LEVELS = ("none", "free_busy", "limited", "full")
DEFAULT_SHARING = "limited"  # what subjects and locations getSchedule shows other people
RESPONSES = ("accepted", "declined", "tentativelyAccepted")
# How an attendee's copy shows once answered (None: as the organiser shows the meeting).
_SHOWN_AFTER = {"accepted": None, "tentativelyAccepted": "tentative", "declined": "free"}


@dataclass(frozen=True)
class OnlineMeetings:
    """A mailbox's Teams set-up, set through the control API. `providers`: what its calendar
    allows (None: the directory's, Teams unless the person has none). `join_url_delay`: seconds
    a new Teams meeting's join URL takes to appear (None: at once, in the answer that created
    it; a number, even 0: never in that answer, in reads from that many seconds on), as Graph
    may answer a create before the Teams meeting is provisioned (an event created with
    teamsForBusiness and no meeting URL in the answer: microsoft-graph-explorer-v4 #3315)."""

    providers: tuple[str, ...] | None = None
    join_url_delay: float | None = None


@dataclass(frozen=True)
class Change:
    sequence: int
    mailbox: str  # the owner's object id
    event_id: str
    change_type: str  # created | updated | deleted
    at: datetime


class CalendarError(Exception):
    """A calendar operation Exchange refuses; the Graph and control layers word it."""


class EventNotFound(CalendarError):
    pass


class NotOrganizer(CalendarError):
    pass


class IsOrganizer(CalendarError):
    pass


class OccurrenceReadOnly(CalendarError):
    pass


def _online_fields(
    event: dict[str, Any], fields: dict[str, Any], in_outlook: bool
) -> dict[str, Any]:
    """Through Graph a meeting stays online once it is (event resource: "you cannot change the
    isOnlineMeeting, onlineMeetingProvider ... properties again"); in Outlook it can be."""
    if event["isOnlineMeeting"] and not in_outlook:
        fields.pop("onlineMeetingProvider", None)
        if fields.get("isOnlineMeeting") is False:
            del fields["isOnlineMeeting"]
    return fields


def parse_graph_time(value: dict[str, Any]) -> datetime:
    """`dateTimeTimeZone` with a Windows or IANA zone name, or UTC, to an aware UTC datetime."""
    return instant(value)


class Mailboxes(PersistedFields):
    persisted = ("_events", "_transactions", "_sharing", "_online", "_join_url_ready", "feed")

    def __init__(self, directory: Directory, clock: EmulatorClock) -> None:
        self._directory = directory
        self._clock = clock
        self._lock = threading.RLock()
        self._listeners: list[Callable[[Change], None]] = []
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._events: dict[str, dict[str, dict[str, Any]]] = {}
            self._transactions: dict[tuple[str, str], str] = {}
            self._sharing: dict[str, str] = {}
            self._online: dict[str, OnlineMeetings] = {}
            self._join_url_ready: dict[str, datetime] = {}  # item id -> when its URL shows
            self.feed: list[Change] = []

    # --- the change feed ------------------------------------------------------------------------

    def on_change(self, listener: Callable[[Change], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def position(self) -> int:
        """The sequence number of the latest change (0: none since the seed)."""
        with self._lock:
            return self.feed[-1].sequence if self.feed else 0

    def changes(self, mailbox: str, after: int = 0) -> list[Change]:
        """The changes of one mailbox (owner object id) after a sequence number, oldest first."""
        with self._lock:
            return [c for c in self.feed if c.sequence > after and c.mailbox == mailbox]

    # --- reading --------------------------------------------------------------------------------

    def events(self, owner: DirectoryUser) -> list[dict[str, Any]]:
        """The stored items: single events, series masters, meeting copies (not occurrences)."""
        with self._lock:
            return [self._shown(item) for item in self._items(owner).values()]

    def event(self, owner: DirectoryUser, event_id: str) -> dict[str, Any] | None:
        """A stored item, or one occurrence or exception of a series (None once cancelled)."""
        with self._lock:
            found = self._items(owner).get(event_id)
            if found is not None:
                return self._shown(found)
            located = self._occurrence(owner, event_id)
            if located is None:
                return None
            item = series.instance(*located)
            return None if item is None else self._shown(item)

    def instances(
        self, owner: DirectoryUser, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """What a calendar view shows: single events, occurrences and exceptions overlapping
        [start, end); cancelled occurrences are gone."""
        found: list[dict[str, Any]] = []
        with self._lock:
            for item in self._items(owner).values():
                if item["type"] == "seriesMaster":
                    found.extend(self._shown(o) for o in series.expand(item, (start, end)))
                elif event_start(item) < end and event_end(item) > start:
                    found.append(self._shown(item))
        return sorted(found, key=lambda e: (event_start(e), e["id"]))

    def cancelled_occurrences(self, owner: DirectoryUser, master_id: str) -> list[str] | None:
        """A series master's `cancelledOccurrences` (None: no such master)."""
        with self._lock:
            master = self._items(owner).get(master_id)
            if master is None or master["type"] != "seriesMaster":
                return None
            return series.cancelled_occurrence_ids(master)

    def online_meetings(self, owner: DirectoryUser) -> OnlineMeetings:
        """The mailbox's Teams set-up with the directory's providers filled in."""
        with self._lock:
            current = self._online.get(owner.object_id, OnlineMeetings())
        if current.providers is None:
            current = replace(current, providers=owner.online_meeting_providers)
        return current

    def set_online_meetings(self, owner: DirectoryUser, **changes: Any) -> OnlineMeetings:
        """Change `providers` and/or `join_url_delay` (None puts back the default)."""
        unknown = set(changes) - {"providers", "join_url_delay"}
        if unknown:
            raise ValueError(f"unknown online meeting settings: {', '.join(sorted(unknown))}")
        with self._lock:
            current = self._online.get(owner.object_id, OnlineMeetings())
            self._online[owner.object_id] = replace(current, **changes)
        return self.online_meetings(owner)

    def sharing(self, owner: DirectoryUser) -> str:
        with self._lock:
            return self._sharing.get(owner.object_id, DEFAULT_SHARING)

    def set_sharing(self, owner: DirectoryUser, level: str) -> None:
        if level not in SHARING_LEVELS:
            raise ValueError(f"free_busy must be one of {', '.join(SHARING_LEVELS)}")
        with self._lock:
            self._sharing[owner.object_id] = level

    # --- writing --------------------------------------------------------------------------------

    def create(self, owner: DirectoryUser, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """(event, created). A transactionId this mailbox used before answers that event."""
        with self._lock:
            transaction = body.get("transactionId")
            if transaction:
                known = self._transactions.get((owner.object_id, str(transaction)))
                existing = self._items(owner).get(known) if known else None
                if existing is not None:
                    return self._shown(existing), False
            event = event_fields.new_event(
                owner, body, self._clock.now_utc(), teams=self._teams(owner)
            )
            self._store(owner, event, "created")
            provisioning = self._provision(owner, {}, event)
            if transaction:
                self._transactions[(owner.object_id, str(transaction))] = event["id"]
            for invitee in self._invitees(event):
                self._invite(invitee, event)
            return self._shown(event, provisioning=provisioning), True

    def update(
        self,
        owner: DirectoryUser,
        event_id: str,
        changes: dict[str, Any],
        *,
        in_outlook: bool = False,
    ) -> dict[str, Any]:
        """An edit by the item's owner. An organiser's edit reaches the attendees' copies; an
        attendee's changes only their copy. Through Graph a meeting stays online once it is
        (`isOnlineMeeting: false` is ignored); in Outlook the owner can remove Teams. An
        occurrence's id changes that occurrence only (it becomes an exception); a series edit
        that moves its time or changes its pattern drops its exceptions and cancellations."""
        with self._lock:
            located = self._occurrence(owner, event_id, stored_first=True)
            if located is not None:
                return self._update_occurrence(owner, *located, changes, in_outlook=in_outlook)
            event = self._item(owner, event_id)
            fields = _online_fields(event, event_fields.client_fields(changes), in_outlook)
            after = event_fields.merged(owner, event, fields, teams=self._teams(owner))
            if event["isOrganizer"] and (event_start(after), event_end(after)) != (
                event_start(event),
                event_end(event),
            ):
                # A new time answers the proposals: Graph's event no longer carries them (the
                # organiser's PATCH in outlook-calendar-meeting-proposals.md).
                after["attendees"] = [
                    {k: v for k, v in a.items() if k != "proposedNewTime"}
                    for a in after.get("attendees", [])
                ]
            if event["type"] == "seriesMaster" and series.pattern_changed(event, after):
                after = series.without_exceptions(after)
            updated = self._touch(owner, after)
            provisioning = self._provision(owner, event, updated)
            if event["isOrganizer"]:
                self._propagate(event, updated)
            return self._shown(updated, provisioning=provisioning)

    def cancel(self, owner: DirectoryUser, event_id: str) -> None:
        """The organiser cancels: the meeting leaves their calendar, attendees' copies are
        marked cancelled."""
        with self._lock:
            located = self._occurrence(owner, event_id, stored_first=True)
            event = located[0] if located else self._item(owner, event_id)
            if not event["isOrganizer"]:
                raise NotOrganizer(event_id)
            if located:
                self._remove_occurrence(owner, *located)
            else:
                self._remove(owner, event)

    def delete(self, owner: DirectoryUser, event_id: str) -> None:
        """Removes the owner's item; the organiser deleting a meeting cancels it for attendees.
        An occurrence's id removes that occurrence only (cancelled for attendees likewise)."""
        with self._lock:
            located = self._occurrence(owner, event_id, stored_first=True)
            if located:
                self._remove_occurrence(owner, *located)
            else:
                self._remove(owner, self._item(owner, event_id))

    def respond(
        self,
        attendee: DirectoryUser,
        event_id: str,
        response: str,
        proposed_new_time: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """An attendee answers an invitation: their copy and the organiser's tracking change.

        `proposed_new_time` (a timeSlot, UTC), as Outlook's "Propose new time": only with a
        tentative or declining answer (event-tentativelyaccept.md, event-decline.md: 400 when
        the event's allowNewTimeProposals is false). It shows on the organiser's event as that
        attendee's `proposedNewTime` (resources/attendee.md: absent when none was proposed), the
        attendee's `status.time` saying when they answered; any later answer replaces it."""
        if response not in RESPONSES:
            raise ValueError(f"response must be one of {', '.join(RESPONSES)}")
        if proposed_new_time is not None and response == "accepted":
            raise ValueError("a new time is proposed with tentativelyAccepted or declined only")
        with self._lock:
            invitation = self._item(attendee, event_id)
            if invitation["isOrganizer"]:
                raise IsOrganizer(event_id)
            status = {"response": response, "time": stamp(self._clock.now_utc())}
            organiser, meeting = self._meeting_of(invitation)
            if proposed_new_time is not None and not (meeting or invitation).get(
                "allowNewTimeProposals", True
            ):
                raise GraphError(
                    400,
                    "ErrorProposedNewTimeNotAllowed",
                    "The organizer doesn't allow new time proposals for this meeting.",
                )
            answered = self._touch(attendee, {
                **invitation,
                "responseStatus": status,
                "showAs": _SHOWN_AFTER[response] or (meeting or invitation)["showAs"],
            })  # fmt: skip
            if organiser is not None and meeting is not None:
                attendees = [
                    _answered(a, status, proposed_new_time)
                    if attendee.has_smtp_address(a["emailAddress"]["address"])
                    else a
                    for a in meeting["attendees"]
                ]
                self._touch(organiser, {**meeting, "attendees": attendees})
            return self._shown(answered)

    def invite(
        self, organiser: DirectoryUser, event_id: str, address: str, name: str | None = None
    ) -> dict[str, Any]:
        """The organiser adds someone to a meeting in Outlook (they get an invitation)."""
        with self._lock:
            event = self._item(organiser, event_id)
            if not event["isOrganizer"]:
                raise NotOrganizer(event_id)
            added = {"type": "required",
                     "emailAddress": {"address": address, "name": name or address}}  # fmt: skip
            return self.update(
                organiser, event_id, {"attendees": [*event["attendees"], added]}, in_outlook=True
            )

    # --- internals ------------------------------------------------------------------------------

    def _items(self, owner: DirectoryUser) -> dict[str, dict[str, Any]]:
        return self._events.setdefault(owner.object_id, {})

    def _item(self, owner: DirectoryUser, event_id: str) -> dict[str, Any]:
        found = self._items(owner).get(event_id)
        if found is not None:
            return found
        if self.event(owner, event_id) is not None:
            raise OccurrenceReadOnly(event_id)
        raise EventNotFound(event_id)

    def _occurrence(
        self, owner: DirectoryUser, event_id: str, *, stored_first: bool = False
    ) -> tuple[dict[str, Any], datetime] | None:
        """(stored series master, original start) for an occurrence id of one of the owner's
        series, whether or not that occurrence still exists. `stored_first`: None for an id
        that is a stored item."""
        if stored_first and event_id in self._items(owner):
            return None
        parsed = event_ids.parse_occurrence_id(event_id)
        master = self._items(owner).get(parsed[0]) if parsed else None
        if parsed is None or master is None or master["type"] != "seriesMaster":
            return None
        return master, parsed[1]

    def _update_occurrence(
        self,
        owner: DirectoryUser,
        master: dict[str, Any],
        original_start: datetime,
        changes: dict[str, Any],
        *,
        in_outlook: bool,
    ) -> dict[str, Any]:
        current = series.instance(master, original_start)
        if current is None:
            raise EventNotFound(event_ids.occurrence_id(master["id"], original_start))
        fields = _online_fields(current, event_fields.client_fields(changes), in_outlook)
        if "recurrence" in fields:
            raise GraphError(
                400,
                "ErrorInvalidRequest",
                "Your request can't be completed. An occurrence of a series has no recurrence "
                "of its own.",
            )  # the emulator's wording: Graph documents no message for this
        edited = event_fields.merged(owner, current, fields, teams=self._teams(owner))
        original = stamp(original_start)
        overrides = series.overrides_between(current, edited)
        now = self._clock.now_utc()
        updated = self._touch(owner, series.with_exception(master, original, overrides, now))
        if master["isOrganizer"]:
            self._propagate(master, updated)
        occurrence = series.instance(updated, original_start)
        assert occurrence is not None
        return self._shown(occurrence)

    def _remove_occurrence(
        self, owner: DirectoryUser, master: dict[str, Any], original_start: datetime
    ) -> None:
        if series.instance(master, original_start) is None:
            raise EventNotFound(event_ids.occurrence_id(master["id"], original_start))
        updated = self._touch(owner, series.with_cancelled(master, stamp(original_start)))
        if master["isOrganizer"]:
            self._propagate(master, updated)

    def _propagate(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        """Send the organiser's update: copies follow (a series' exceptions too, a cancelled
        occurrence as a cancelled one); new attendees are invited, removed ones get a
        cancellation."""
        watched = (*event_fields.MEETING_FIELDS, series.EXCEPTIONS, series.CANCELLED)
        if all(before.get(k) == after.get(k) for k in watched):
            return
        shared = {k: after[k] for k in event_fields.MEETING_FIELDS if k in after}
        if after["type"] == "seriesMaster":
            shared[series.EXCEPTIONS] = series.for_attendees(after)
        new_pattern = series.pattern_changed(before, after)
        now_invited = {u.object_id: u for u in self._invitees(after)}
        for invitee in now_invited.values():
            existing = self._copy_of(invitee, after["iCalUId"])
            if existing is None:
                self._invite(invitee, after)
                continue
            followed = {**existing, **copy.deepcopy(shared)}
            if new_pattern:
                followed[series.CANCELLED] = []
            self._touch(invitee, followed)
            self._follow_join_url(after, followed)
        for invitee in self._invitees(before):
            if invitee.object_id not in now_invited:
                existing = self._copy_of(invitee, after["iCalUId"])
                if existing is not None:
                    self._touch(invitee, event_fields.cancelled(existing))

    def _remove(self, owner: DirectoryUser, event: dict[str, Any]) -> None:
        del self._items(owner)[event["id"]]
        self._record(owner.object_id, event["id"], "deleted")
        if event["isOrganizer"]:
            for invitee in self._invitees(event):
                existing = self._copy_of(invitee, event["iCalUId"])
                if existing is not None and not existing["isCancelled"]:
                    self._touch(invitee, event_fields.cancelled(existing))

    def _meeting_of(
        self, invitation: dict[str, Any]
    ) -> tuple[DirectoryUser | None, dict[str, Any] | None]:
        """The organiser of an attendee's copy and their event (None once cancelled)."""
        organiser = self._directory.user_by_smtp_address(
            invitation["organizer"]["emailAddress"]["address"]
        )
        if organiser is None:
            return None, None
        meeting = next(
            (e for e in self._items(organiser).values()
             if e["iCalUId"] == invitation["iCalUId"] and e["isOrganizer"]),
            None,
        )  # fmt: skip
        return organiser, meeting

    def _copy_of(self, invitee: DirectoryUser, ical_uid: str) -> dict[str, Any] | None:
        return next(
            (e for e in self._items(invitee).values()
             if e["iCalUId"] == ical_uid and not e["isOrganizer"]),
            None,
        )  # fmt: skip

    def _invitees(self, event: dict[str, Any]) -> list[DirectoryUser]:
        """Attendees whose mailboxes Exchange Online delivers the invitation to (by SMTP address,
        as mail is routed: a userPrincipalName that is no address of theirs reaches nobody)."""
        organiser = event["organizer"]["emailAddress"]["address"]
        found: dict[str, DirectoryUser] = {}
        for attendee in event["attendees"]:
            user = self._directory.user_by_smtp_address(attendee["emailAddress"]["address"])
            if user is None or user.mailbox_on_premises or user.has_smtp_address(organiser):
                continue
            found.setdefault(user.object_id, user)
        return list(found.values())

    def _invite(self, invitee: DirectoryUser, meeting: dict[str, Any]) -> None:
        invitation = event_fields.invitation(invitee, meeting, self._clock.now_utc())
        self._store(invitee, invitation, "created")
        self._follow_join_url(meeting, invitation)

    # --- Teams ----------------------------------------------------------------------------------

    def _teams(self, owner: DirectoryUser) -> bool:
        providers = self.online_meetings(owner).providers or ()
        return "teamsForBusiness" in providers

    def _provision(
        self, owner: DirectoryUser, before: dict[str, Any], after: dict[str, Any]
    ) -> bool:
        """Whether this write made a Teams meeting whose join URL is not there yet."""
        made = (after.get("onlineMeeting") or {}).get("joinUrl") and not (
            before.get("onlineMeeting") or {}
        ).get("joinUrl")
        delay = self.online_meetings(owner).join_url_delay
        if not made or delay is None:
            return False
        ready = self._clock.now_utc() + timedelta(seconds=max(0.0, float(delay)))
        self._join_url_ready[after["id"]] = ready
        return True

    def _follow_join_url(self, meeting: dict[str, Any], copy_: dict[str, Any]) -> None:
        """An attendee's copy shows the join URL when the organiser's event does."""
        ready = self._join_url_ready.get(meeting["id"])
        if ready is not None:
            self._join_url_ready[copy_["id"]] = ready

    def _shown(self, item: dict[str, Any], *, provisioning: bool = False) -> dict[str, Any]:
        """An item as answers show it: no private keys, and no join URL before it exists."""
        shown = copy.deepcopy(series.public(item))
        ready = self._join_url_ready.get(item.get("seriesMasterId") or item["id"])
        waiting = ready is not None and (provisioning or self._clock.now_utc() < ready)
        if waiting and shown.get("onlineMeeting"):
            shown["onlineMeeting"] = None
        return shown

    def _store(self, owner: DirectoryUser, event: dict[str, Any], change_type: str) -> None:
        self._items(owner)[event["id"]] = event
        self._record(owner.object_id, event["id"], change_type)

    def _touch(self, owner: DirectoryUser, event: dict[str, Any]) -> dict[str, Any]:
        now = self._clock.now_utc()
        event = {
            **event,
            "lastModifiedDateTime": stamp(now),
            "changeKey": event_ids.change_key(event["id"], now),
        }
        self._store(owner, event, "updated")
        return event

    def _record(self, mailbox: str, event_id: str, change_type: str) -> None:
        change = Change(self.position() + 1, mailbox, event_id, change_type, self._clock.now_utc())
        self.feed.append(change)
        for listener in list(self._listeners):
            listener(change)


_CREATION_LOCK = threading.Lock()


def mailboxes_of(state: EmulatorState) -> Mailboxes:
    """The state's mailboxes, created (and registered for reset) on first use."""
    with _CREATION_LOCK:
        existing = getattr(state, "mailboxes", None)
        if existing is None:
            existing = Mailboxes(state.directory, state.clock)
            state.mailboxes = existing  # type: ignore[attr-defined]
            state.register_store(existing)
        return existing


def _answered(
    attendee: dict[str, Any], status: dict[str, str], proposed: dict[str, Any] | None
) -> dict[str, Any]:
    """The organiser's entry for an attendee who answered: a new status, and their proposed
    time (or none: a later answer without one withdraws it)."""
    entry = {k: v for k, v in attendee.items() if k != "proposedNewTime"}
    entry["status"] = dict(status)
    if proposed is not None:
        entry["proposedNewTime"] = proposed
    return entry
