"""A model-based test of two-way sync (issue 12): random sequences of host-app writes and Outlook
edits, and after every step, once the notifications are handled, the app's view of every
conversation is Outlook's.

The manager organises every conversation with Alex. Steps: conversations created in the app
(single or weekly, near, in the past, or beyond the sync window), moved, relocated or cancelled
in the app; the meeting moved, relocated, renamed, answered or deleted in Outlook, a series as a
whole or one occurrence at a time, in and out of the window; notifications held while several
edits happen, then delivered shuffled and twice, and the queue handled in a drawn order; the
clock moved by days or months with the timer run; the manager reconnecting.

What is checked is what Outlook holds (the emulator's store, read through its control API)
against what the app answers over HTTP; the model keeps only which conversations exist, which
have notes (a cancel keeps those, marked cancelled) and which the app cancelled. Where neither
the app nor Outlook has a conversation within the sync window (a day ago to two years ahead),
only "not cancelled while Outlook holds it" is asked: the app need not follow edits it cannot
see.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from devtools.demo_directory import EMPLOYEE_ALEX, MANAGER
from devtools.host_app import HostApp
from tests.model.stack import ModelStack, next_monday_morning

WINDOW_BEHIND = timedelta(days=1)
WINDOW_AHEAD = timedelta(days=730)  # shared.conversations.model.SYNC_HORIZON
LISTED = timedelta(days=200)  # how far ahead occurrences are compared (GET lists <= 366 days)
RECONNECT_BEFORE = timedelta(days=200)  # well inside RECONNECT_INTERVAL_MONTHS (9)
TITLE = "Check-in"

# Day offsets from the model's "now": mostly the next weeks, some in the past, some beyond the
# window (two years), some just inside its far edge.
NEAR_DAYS = st.integers(1, 40)
DAYS = st.one_of(NEAR_DAYS, NEAR_DAYS, st.integers(-6, -2), st.integers(735, 800),
                 st.integers(700, 729))  # fmt: skip
HOURS = st.integers(7, 17)
PLACES = st.sampled_from(["Room 1", "Room 2", "Cafe", "Library"])


class Tracked:
    """A conversation the model created, and whether the app cancelled it."""

    def __init__(self, id: str, event_id: str, recurring: bool, number: int) -> None:
        self.id, self.event_id, self.recurring = id, event_id, recurring
        self.number = number  # in the order created, for readable failing sequences
        self.cancelled_in_app = False
        self.deleted_in_outlook = False  # by the model: the app must never delete it itself
        self.has_notes = False  # then a cancel keeps it, marked cancelled

    def __repr__(self) -> str:
        return f"<{'series' if self.recurring else 'meeting'} #{self.number}>"


def at(day: datetime, hour: int, minutes: int = 30) -> tuple[str, str]:
    start = day.replace(hour=hour, minute=0, second=0, microsecond=0)
    end = start + timedelta(minutes=minutes)
    return start.strftime("%Y-%m-%dT%H:%M:%S"), end.strftime("%Y-%m-%dT%H:%M:%S")


def graph_time(value: dict[str, Any] | str) -> datetime:
    """An emulator event's start/end (Graph's dateTimeTimeZone, UTC here) or the app's ISO text,
    as an aware UTC datetime."""
    if isinstance(value, dict):
        assert value.get("timeZone") in (None, "UTC"), value
        return datetime.fromisoformat(value["dateTime"][:19]).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


class SyncModel(RuleBasedStateMachine):
    """Set `SyncModel.stack` to a started ModelStack before running."""

    stack: ClassVar[ModelStack]
    steps_checked: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        self.app: HostApp | None = None
        self.tracked: list[Tracked] = []
        self.connected_at: datetime | None = None

    @initialize()
    def start(self) -> None:
        self.app = self.stack.fresh_world(next_monday_morning)
        self.connected_at = self.stack.now()

    # --- helpers -----------------------------------------------------------------------------

    @property
    def host(self) -> HostApp:
        assert self.app is not None
        return self.app

    def day(self, offset: int) -> datetime:
        return self.stack.now() + timedelta(days=offset)

    def live(self) -> list[Tracked]:
        return [t for t in self.tracked if not t.cancelled_in_app]

    def outlook_events(self) -> dict[str, dict[str, Any]]:
        return {e["id"]: e for e in self.stack.control.mailbox_events(MANAGER.mail)}

    def held_by_outlook(self, tracked: Tracked) -> dict[str, Any] | None:
        event = self.outlook_events().get(tracked.event_id)
        return None if event is None or event.get("isCancelled") else event

    def instances(self, tracked: Tracked, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return self.stack.control.series_instances(
            MANAGER.mail, tracked.event_id, _iso(start), _iso(end)
        )

    def listed(self, tracked: Tracked, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The occurrences GET /api/conversations lists for the conversation in [start, end)."""
        window = {"start": _wall(start), "end": _wall(end), "timeZone": "UTC"}
        answer = self.host.call("GET", "conversations", MANAGER, params=window)
        assert answer.status_code == 200, answer.text
        return [o for c in answer.json()["value"] if c["id"] == tracked.id
                for o in c.get("occurrences", [])]  # fmt: skip

    def _create(self, body: dict[str, Any], recurring: bool) -> None:
        body = {
            "type": "check_in",
            "title": TITLE,
            "attendees": [{"email": EMPLOYEE_ALEX.mail, "userId": EMPLOYEE_ALEX.host_user_id}],
            "timeZone": "UTC",
            **body,
        }
        answer = self.host.call("POST", "conversations", MANAGER, json=body)
        assert answer.status_code < 500, answer.text
        if answer.status_code != 201:
            return  # refused (a time the app does not take): nothing to follow
        created = answer.json()
        outlook = created.get("outlook") or {}
        assert outlook.get("eventId"), f"created without a meeting in Outlook: {created}"
        number = len(self.tracked) + 1
        self.tracked.append(Tracked(created["id"], outlook["eventId"], recurring, number))

    def _outlook_patch(self, event_id: str, **changes: Any) -> None:
        """The organiser's edit; one Outlook refuses (the event is gone) changes nothing."""
        try:
            self.stack.control.edit_outlook_event(MANAGER.mail, event_id, **changes)
        except RuntimeError as refused:
            if " 404 " not in str(refused) and " 409 " not in str(refused):
                raise

    def _outlook_delete(self, target: Tracked | str) -> None:
        """The organiser deletes the meeting (a Tracked) or one occurrence (its id)."""
        if isinstance(target, Tracked):
            target.deleted_in_outlook = True
        event_id = target.event_id if isinstance(target, Tracked) else target
        try:
            self.stack.control.delete_outlook_event(MANAGER.mail, event_id)
        except RuntimeError as refused:
            if " 404" not in str(refused):
                raise

    # --- the host app ------------------------------------------------------------------------

    @rule(days=DAYS, hour=HOURS, place=PLACES)
    def app_creates_a_meeting(self, days: int, hour: int, place: str) -> None:
        start, end = at(self.day(days), hour)
        self._create({"start": start, "end": end, "location": {"kind": "text", "text": place}},
                     recurring=False)  # fmt: skip

    @rule(days=st.one_of(NEAR_DAYS, st.integers(-20, -8), st.integers(735, 760)), hour=HOURS,
          count=st.integers(2, 6), place=PLACES)  # fmt: skip
    def app_creates_a_weekly_series(self, days: int, hour: int, count: int, place: str) -> None:
        first = self.day(days)
        start, end = at(first, hour)
        recurrence = {
            "pattern": {"type": "weekly", "interval": 1,
                        "daysOfWeek": [first.strftime("%A").lower()]},
            "range": {"type": "numbered", "startDate": str(first.date()),
                      "numberOfOccurrences": count},
        }  # fmt: skip
        self._create({"start": start, "end": end, "recurrence": recurrence,
                      "location": {"kind": "text", "text": place}}, recurring=True)  # fmt: skip

    @precondition(lambda self: self.live())
    @rule(data=st.data(), days=st.one_of(st.integers(-3, 3), st.sampled_from([740, -740])),
          hour=HOURS)  # fmt: skip
    def app_moves(self, data: st.DataObject, days: int, hour: int) -> None:
        """The host app moves the meeting, or the whole series; +-740 days out of the window or
        back into it."""
        tracked = data.draw(st.sampled_from(self.live()), label="conversation")
        current = self.host.call("GET", f"conversations/{tracked.id}", MANAGER)
        if current.status_code != 200 or current.json()["status"] != "scheduled":
            return
        was = graph_time(current.json()["start"])
        # A series moves by whole weeks (its weekday is its pattern's), a meeting by days.
        shift = _series_shift(days) if tracked.recurring else timedelta(days=days)
        start, end = at(was + shift, hour)
        answer = self.host.call("PATCH", f"conversations/{tracked.id}", MANAGER,
                                json={"start": start, "end": end, "timeZone": "UTC"})  # fmt: skip
        assert answer.status_code < 500, answer.text

    @precondition(lambda self: self.live())
    @rule(data=st.data(), place=PLACES)
    def app_relocates(self, data: st.DataObject, place: str) -> None:
        tracked = data.draw(st.sampled_from(self.live()), label="conversation")
        answer = self.host.call("PATCH", f"conversations/{tracked.id}", MANAGER,
                                json={"location": {"kind": "text", "text": place}})  # fmt: skip
        assert answer.status_code < 500, answer.text

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def app_cancels(self, data: st.DataObject) -> None:
        tracked = data.draw(st.sampled_from(self.live()), label="conversation")
        answer = self.host.call("DELETE", f"conversations/{tracked.id}", MANAGER)
        assert answer.status_code < 500, answer.text
        if answer.status_code in (200, 204):
            tracked.cancelled_in_app = True

    @precondition(lambda self: any(t.recurring for t in self.live()))
    @rule(data=st.data(), what=st.sampled_from(["move", "relocate", "cancel"]),
          hours=st.integers(-3, 5), place=PLACES)  # fmt: skip
    def app_edits_one_occurrence(
        self, data: st.DataObject, what: str, hours: int, place: str
    ) -> None:
        """The host app changes one occurrence of a series (PATCH or DELETE
        /api/conversations/{id}/occurrences/{occurrenceId})."""
        tracked = data.draw(st.sampled_from([t for t in self.live() if t.recurring]),
                            label="series")  # fmt: skip
        now = self.stack.now()
        listed = [o for o in self.listed(tracked, now - WINDOW_BEHIND, now + LISTED) if "id" in o]
        if not listed:
            return
        occurrence = listed[data.draw(st.integers(0, len(listed) - 1), label="occurrence (index)")]
        path = f"conversations/{tracked.id}/occurrences/{occurrence['id']}"
        body: dict[str, Any]
        if what == "cancel":
            answer = self.host.call("DELETE", path, MANAGER)
        elif what == "move":
            start = graph_time(occurrence["start"]) + timedelta(hours=hours)
            end = graph_time(occurrence["end"]) + timedelta(hours=hours)
            body = {"start": _wall(start), "end": _wall(end), "timeZone": "UTC"}
            answer = self.host.call("PATCH", path, MANAGER, json=body)
        else:
            body = {"location": {"kind": "text", "text": place}}
            answer = self.host.call("PATCH", path, MANAGER, json=body)
        assert answer.status_code < 500, answer.text

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def app_adds_a_note(self, data: st.DataObject) -> None:
        tracked = data.draw(st.sampled_from(self.live()), label="conversation")
        path = f"conversations/{tracked.id}/notes"
        answer = self.host.call("POST", path, MANAGER, json={"text": "Goals"})
        assert answer.status_code < 500, answer.text
        tracked.has_notes = tracked.has_notes or answer.status_code == 201

    # --- Outlook -----------------------------------------------------------------------------

    @precondition(lambda self: self.live())
    @rule(data=st.data(), days=st.one_of(st.integers(-3, 3), st.sampled_from([740, -740])),
          hour=HOURS)  # fmt: skip
    def outlook_moves(self, data: st.DataObject, days: int, hour: int) -> None:
        """The organiser moves the meeting, or the whole series (by whole weeks), in Outlook;
        +-740 days carries it out of the window, or back into it."""
        tracked = data.draw(st.sampled_from(self.live()), label="conversation")
        event = self.held_by_outlook(tracked)
        if event is None:
            return
        was = graph_time(event["start"])
        shift = _series_shift(days) if tracked.recurring else timedelta(days=days)
        start, end = at(was + shift, hour)
        changes: dict[str, Any] = {"start": start, "end": end}
        if tracked.recurring and shift:
            recurrence = event["recurrence"]
            first = (was + shift).date()
            recurrence = {
                "pattern": {**recurrence["pattern"],
                            "daysOfWeek": [(was + shift).strftime("%A").lower()]},
                "range": {**recurrence["range"], "startDate": str(first)},
            }  # fmt: skip
            changes["recurrence"] = recurrence
        self._outlook_patch(tracked.event_id, **changes)

    @precondition(lambda self: self.live())
    @rule(data=st.data(), place=PLACES)
    def outlook_relocates(self, data: st.DataObject, place: str) -> None:
        tracked = data.draw(st.sampled_from(self.live()), label="conversation")
        self._outlook_patch(tracked.event_id, location=place)

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def outlook_renames(self, data: st.DataObject) -> None:
        tracked = data.draw(st.sampled_from(self.live()), label="conversation")
        self._outlook_patch(tracked.event_id, subject="Renamed in Outlook")

    @precondition(lambda self: self.live())
    @rule(data=st.data(), response=st.sampled_from(["accepted", "declined", "tentativelyAccepted"]))
    def alex_answers(self, data: st.DataObject, response: str) -> None:
        """An attendee's answer changes the organiser's event too: outside the delta window that
        is an `@removed` in the organiser's delta."""
        tracked = data.draw(st.sampled_from(self.live()), label="conversation")
        event = self.held_by_outlook(tracked)
        if event is None:
            return
        copies = self.stack.control.mailbox_events(EMPLOYEE_ALEX.mail)
        for copy in [c for c in copies if c.get("iCalUId") == event.get("iCalUId")]:
            self.stack.control.respond_in_outlook(EMPLOYEE_ALEX.mail, copy["id"], response)

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def outlook_deletes(self, data: st.DataObject) -> None:
        tracked = data.draw(st.sampled_from(self.live()), label="conversation")
        self._outlook_delete(tracked)

    @precondition(lambda self: any(t.recurring for t in self.live()))
    @rule(data=st.data(), what=st.sampled_from(["move", "relocate", "cancel"]),
          hours=st.integers(-3, 5), place=PLACES)  # fmt: skip
    def outlook_edits_one_occurrence(
        self, data: st.DataObject, what: str, hours: int, place: str
    ) -> None:
        tracked = data.draw(st.sampled_from([t for t in self.live() if t.recurring]),
                            label="series")  # fmt: skip
        if self.held_by_outlook(tracked) is None:
            return
        now = self.stack.now()
        occurrences = self.instances(tracked, now - timedelta(days=60), now + WINDOW_AHEAD * 2)
        if not occurrences:
            return
        index = data.draw(st.integers(0, len(occurrences) - 1), label="occurrence (index)")
        occurrence = occurrences[index]
        if what == "cancel":
            self._outlook_delete(occurrence["id"])
        elif what == "move":
            start = graph_time(occurrence["start"]) + timedelta(hours=hours)
            end = graph_time(occurrence["end"]) + timedelta(hours=hours)
            self._outlook_patch(occurrence["id"], start=_wall(start), end=_wall(end))
        else:
            self._outlook_patch(occurrence["id"], location=place)

    # --- delivery, time, sign-in ---------------------------------------------------------------

    @precondition(lambda self: self.live())
    @rule(data=st.data(), edits=st.integers(1, 3), seed=st.integers(0, 2**16))
    def notifications_late_shuffled_and_twice(
        self, data: st.DataObject, edits: int, seed: int
    ) -> None:
        """Outlook edits while Graph holds its notifications; then every one of them arrives
        twice, shuffled, and the queue is handled in a drawn order, some messages again."""
        control = self.stack.control
        control.hold_notifications()
        try:
            for _ in range(edits):
                tracked = data.draw(st.sampled_from(self.live()), label="conversation")
                kind = data.draw(st.sampled_from(["move", "relocate", "delete"]), label="edit")
                if kind == "delete":
                    self._outlook_delete(tracked)
                    continue
                event = self.held_by_outlook(tracked)
                if event is None:
                    continue
                if kind == "relocate":
                    place = data.draw(PLACES, label="place")
                    self._outlook_patch(tracked.event_id, location=place)
                else:
                    hour = data.draw(HOURS, label="hour")
                    start, end = at(graph_time(event["start"]), hour)
                    self._outlook_patch(tracked.event_id, start=start, end=end)
            control.duplicate_notifications(2)
            control.shuffle_notifications(True, seed)
        finally:
            control.release_notifications()
        messages = self.stack.delivered()
        control.duplicate_notifications(1)
        control.shuffle_notifications(False)
        if messages:
            count = len(messages)
            order = data.draw(st.permutations(range(count)), label="queue order")
            again = data.draw(st.lists(st.integers(0, count - 1), max_size=3), label="again")
            for index in [*order, *again]:
                self.stack.handle(messages[index])

    @rule(days=st.sampled_from([1, 3, 9, 31, 62]))
    def time_passes(self, days: int) -> None:
        """Days or months pass (the maintenance timer runs at each); the manager reconnects
        when the 9-month reconnect would otherwise come due (that is its own feature)."""
        assert self.connected_at is not None
        if self.stack.now() + timedelta(days=days) - self.connected_at > RECONNECT_BEFORE:
            self.manager_reconnects()
        step = timedelta(days=min(days, 31))
        moved = timedelta()
        while moved < timedelta(days=days):
            self.stack.move_clock(step)
            moved += step
            self.stack.drain(timer=True)

    @precondition(lambda self: self.stack.now() - self.connected_at > timedelta(days=1))
    @rule()
    def manager_reconnects(self) -> None:
        """After time passed (as a person would): the app restarts its delta read."""
        assert self.host.connect(MANAGER) == {"outlook": "connected"}
        self.connected_at = self.stack.now()
        self.stack.drain(timer=True)

    # --- the invariant -----------------------------------------------------------------------

    @invariant()
    def the_app_shows_what_outlook_holds(self) -> None:
        if self.app is None:
            return
        self.stack.drain()
        shown = self.shown()
        if any(s and s["sync"]["state"] == "pending" for s in shown.values()):
            self.stack.drain(timer=True)  # Outlook not caught up yet: the timer's push is due
            shown = self.shown()
        type(self).steps_checked += 1
        assert not self.stack.poisoned, (
            f"notifications lost to the poison queue: {self.stack.poisoned}"
        )
        events = self.outlook_events()
        now = self.stack.now()
        for tracked in self.tracked:
            self._check(tracked, shown[tracked.id], events.get(tracked.event_id), now)

    def shown(self) -> dict[str, dict[str, Any] | None]:
        """What GET /api/conversations/{id} answers for each conversation (None: 404)."""
        seen: dict[str, dict[str, Any] | None] = {}
        for tracked in self.tracked:
            answer = self.host.call("GET", f"conversations/{tracked.id}", MANAGER)
            assert answer.status_code in (200, 404), answer.text
            seen[tracked.id] = answer.json() if answer.status_code == 200 else None
        return seen

    def _check(
        self,
        tracked: Tracked,
        shown: dict[str, Any] | None,
        event: dict[str, Any] | None,
        now: datetime,
    ) -> None:
        scheduled = shown is not None and shown["status"] == "scheduled"
        held = event is not None and not event.get("isCancelled")
        name = f"{tracked!r} (conversation {tracked.id})"
        if tracked.cancelled_in_app or not held:
            where = "in the app" if tracked.cancelled_in_app else "in Outlook"
            assert not scheduled, f"{name}: cancelled {where}, still scheduled in the app"
            assert not held, f"{name}: cancelled in the app, Outlook still holds the meeting"
            if tracked.has_notes:
                assert shown is not None, f"{name}: cancelled {where}, removed with its notes"
            assert tracked.cancelled_in_app or tracked.deleted_in_outlook, (
                f"{name}: nobody cancelled it, yet the app took the meeting out of Outlook"
            )
            return
        assert event is not None
        assert shown is not None, f"{name}: removed from the app, Outlook still holds it"
        assert scheduled, f"{name}: cancelled in the app, Outlook still holds it"
        assert shown["title"] == TITLE, f"{name}: the name changed to {shown['title']!r}"
        if not self._in_window(tracked, shown, event, now):
            return
        app_span = (graph_time(shown["start"]), graph_time(shown["end"]))
        outlook_span = (graph_time(event["start"]), graph_time(event["end"]))
        assert app_span == outlook_span, f"{name}: the app has {app_span}, Outlook {outlook_span}"
        place = (event.get("location") or {}).get("displayName") or None
        assert (shown["location"] or {}).get("text") == place, (
            f"{name}: the app's place is {shown['location']}, Outlook's {place!r}"
        )
        if tracked.recurring:
            assert _pattern(shown["recurrence"]) == _pattern(event.get("recurrence")), (
                f"{name}: the app's series is {shown['recurrence']}, Outlook's "
                f"{event.get('recurrence')}"
            )
            self._check_occurrences(tracked, name, now)

    def _in_window(
        self, tracked: Tracked, shown: dict[str, Any], event: dict[str, Any], now: datetime
    ) -> bool:
        low, high = now - WINDOW_BEHIND, now + WINDOW_AHEAD
        if tracked.recurring:
            return bool(self.instances(tracked, low, high))
        starts = (graph_time(shown["start"]), graph_time(event["start"]))
        return any(low <= start < high for start in starts)

    def _check_occurrences(self, tracked: Tracked, name: str, now: datetime) -> None:
        low, high = now - WINDOW_BEHIND, now + LISTED
        listed = self.listed(tracked, low, high)
        app = sorted((graph_time(o["start"]), graph_time(o["end"]), _place(o)) for o in listed)
        outlook = sorted(
            (graph_time(o["start"]), graph_time(o["end"]), _place(o, from_outlook=True))
            for o in self.instances(tracked, low, high)
        )
        if not any("location" in o for o in listed):
            # Occurrences listed without their place (main before issue 12): times only.
            app = [(s, e, None) for s, e, _ in app]
            outlook = [(s, e, None) for s, e, _ in outlook]
        assert app == outlook, f"{name}: the app lists {app}, Outlook shows {outlook}"


def _series_shift(days: int) -> timedelta:
    """A series moves by whole weeks (its weekday is its pattern's): a few, or about as far."""
    return timedelta(weeks=round(days / 7) if abs(days) > 7 else days)


def _place(occurrence: dict[str, Any], from_outlook: bool = False) -> str | None:
    location = occurrence.get("location")
    if not isinstance(location, dict):
        return None
    text = location.get("displayName" if from_outlook else "text")
    return str(text) if text else None


def _pattern(recurrence: dict[str, Any] | None) -> tuple[Any, ...] | None:
    if not recurrence:
        return None
    pattern, span = recurrence.get("pattern", {}), recurrence.get("range", {})
    return (
        pattern.get("type"),
        pattern.get("interval", 1),
        tuple(sorted(pattern.get("daysOfWeek") or ())),
        span.get("type"),
        span.get("startDate"),
        span.get("numberOfOccurrences") if span.get("type") == "numbered" else None,
        span.get("endDate") if span.get("type") == "endDate" else None,
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _wall(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")
