"""In-memory stand-ins for the app's seams, for unit tests that run in milliseconds.

- FakeEntityTable: Azure Tables as EntityTable sees it (ETags, create conflicts, key-range reads
  in key order, limits); tests/unit/test_fake_entities.py runs EntityTable's own contract on it.
- FakeGraph: Microsoft Graph behind GraphClient's session seam: each user's calendar events,
  series with their occurrences and exceptions (/instances), delta (with its window: what
  changed outside it comes as `@removed`, as Graph's does), getSchedule, subscriptions and /me,
  with failures on demand.
- FakeIdentity: the identity platform: who signs in next, and refreshes that fail.
- FakeSecrets and Clock.
The real ones are proven by tests/integration (Azurite, the emulator) and tests/e2e.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from dateutil import rrule

from shared.conversations.time_zones import parse_graph_date_time
from shared.identity import AccessToken, SignedIn
from shared.secrets import SecretName, SecretUnavailable
from shared.storage.entities import (
    ConcurrencyConflict,
    EntityAlreadyExists,
    EntityNotFound,
    StoredEntity,
    UnreadableEntity,
)

GRAPH = "https://graph.test/v1.0"
TENANT = "tenant-contoso"


class ProcessDied(BaseException):
    """The host killed mid-operation: nothing after it runs, not even `except Exception`."""


class Clock:
    """The time the services see; tests move it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


# --- tables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Garbled:
    """A stored value the SDK cannot read back (as a date before year 1000 is): reading the
    entity raises UnreadableEntity unless the read selects other properties only."""

    what: str = "a date the SDK cannot parse"


def _stored_value(value: Any) -> Any:
    """What Azure Tables gives back for a property (None is not stored at all)."""
    if isinstance(value, Garbled):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, bool | int | float | str | bytes):
        return value
    raise TypeError(f"Azure Tables cannot store {type(value).__name__}")


class FakeEntityTable:
    def __init__(self, name: str) -> None:
        self._name = name
        self._rows: dict[str, dict[str, tuple[dict[str, Any], str]]] = {}
        self._versions = 0
        self.reads = 0  # point reads, for tests of what a request costs
        self._failures: list[tuple[str, Callable[[], None], int]] = []

    def fail(self, method: str, what: Callable[[], None], *, after: int = 0) -> None:
        """Storage going wrong: the call of `method` (get, create, replace, upsert, delete) that
        comes after `after` more such calls runs `what` instead (it raises, or writes first)."""
        self._failures.append((method, what, after))

    def _call(self, method: str) -> None:
        for index, (name, what, after) in enumerate(self._failures):
            if name != method:
                continue
            if after:
                self._failures[index] = (name, what, after - 1)
                return
            del self._failures[index]
            what()
            return

    @property
    def name(self) -> str:
        return self._name

    def get(
        self, partition_key: str, row_key: str, select: Sequence[str] | None = None
    ) -> StoredEntity | None:
        self._call("get")
        return self._read(partition_key, row_key, select)

    def _read(
        self, partition_key: str, row_key: str, select: Sequence[str] | None = None
    ) -> StoredEntity | None:
        self.reads += 1
        found = self._rows.get(partition_key, {}).get(row_key)
        if found is None:
            return None
        properties = copy.deepcopy(found[0])
        if select is not None:
            properties = {name: properties.get(name) for name in select}
        garbled = [name for name, value in properties.items() if isinstance(value, Garbled)]
        if garbled:
            raise UnreadableEntity(f"{self._name}/{partition_key}/{row_key}: {garbled}")
        return StoredEntity(partition_key, row_key, properties, found[1])

    def plant(self, partition_key: str, row_key: str, properties: Mapping[str, Any]) -> None:
        """Write as another program (or an older version of this one) might have: no checks."""
        self._write(partition_key, row_key, properties)

    def _etag_of(self, partition_key: str, row_key: str) -> str | None:
        found = self._rows.get(partition_key, {}).get(row_key)
        return None if found is None else found[1]

    def create(self, partition_key: str, row_key: str, properties: Mapping[str, Any]) -> str:
        self._call("create")
        if self._etag_of(partition_key, row_key) is not None:
            raise EntityAlreadyExists(f"{self._name}/{partition_key}/{row_key}")
        return self._write(partition_key, row_key, properties)

    def replace(
        self, partition_key: str, row_key: str, properties: Mapping[str, Any], etag: str
    ) -> str:
        self._call("replace")
        current = self._etag_of(partition_key, row_key)
        if current is None:
            raise EntityNotFound(f"{self._name}/{partition_key}/{row_key}")
        if current != etag:
            raise ConcurrencyConflict(f"{self._name}/{partition_key}/{row_key}")
        return self._write(partition_key, row_key, properties)

    def upsert(self, partition_key: str, row_key: str, properties: Mapping[str, Any]) -> str:
        self._call("upsert")
        return self._write(partition_key, row_key, properties)

    def delete(self, partition_key: str, row_key: str, etag: str | None = None) -> None:
        self._call("delete")
        current = self._etag_of(partition_key, row_key)
        if current is None:
            return
        if etag is not None and current != etag:
            raise ConcurrencyConflict(f"{self._name}/{partition_key}/{row_key}")
        del self._rows[partition_key][row_key]

    def range(
        self,
        partition_key: str,
        row_key_from: str = "",
        row_key_to: str | None = None,
        *,
        limit: int | None = None,
    ) -> Iterator[StoredEntity]:
        rows = sorted(self._rows.get(partition_key, {}))
        chosen = [r for r in rows if r >= row_key_from and (row_key_to is None or r < row_key_to)]
        for row_key in chosen[:limit]:
            found = self._read(partition_key, row_key)
            if found is not None:
                yield found

    def rows(self) -> list[StoredEntity]:
        """Everything stored, for assertions."""
        return [
            StoredEntity(p, r, copy.deepcopy(props), etag)
            for p, rows in sorted(self._rows.items())
            for r, (props, etag) in sorted(rows.items())
        ]

    def _write(self, partition_key: str, row_key: str, properties: Mapping[str, Any]) -> str:
        stored = {k: _stored_value(v) for k, v in properties.items() if v is not None}
        self._versions += 1
        etag = f'W/"{self._versions}"'
        self._rows.setdefault(partition_key, {})[row_key] = (stored, etag)
        return etag


class FakeTables:
    def __init__(self) -> None:
        self.tables: dict[str, FakeEntityTable] = {}

    def table(self, name: str) -> FakeEntityTable:
        return self.tables.setdefault(name, FakeEntityTable(name))


# --- secrets ------------------------------------------------------------------------------------


@dataclass
class QueuedMessage:
    text: str
    visible_at: datetime
    dequeue_count: int = 0
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


class FakeWorkQueue:
    """A storage queue in memory: messages become visible at the clock's time plus their delay."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.messages: list[QueuedMessage] = []

    def send(self, messages: list[str], *, delay: float = 0) -> None:
        at = self._clock() + timedelta(seconds=max(0.0, delay))
        self.messages += [QueuedMessage(text, at) for text in messages]

    def take_visible(self) -> QueuedMessage | None:
        now = self._clock()
        for index, message in enumerate(self.messages):
            if message.visible_at <= now:
                return self.messages.pop(index)
        return None


class FakeSecrets:
    def __init__(self, values: dict[SecretName, str]) -> None:
        self.values = values
        self.read: list[SecretName] = []

    def get(self, name: SecretName) -> str:
        self.read.append(name)
        if name not in self.values:
            raise SecretUnavailable(f"secret {name.value} is not set")
        return self.values[name]


# --- Graph --------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    upn: str
    name: str
    object_id: str
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)  # event ids, in the order they changed
    shares_free_busy: bool = True
    mail: str | None = None  # the SMTP address, when not the UPN (None: the UPN is it)
    teams: bool = True  # the calendar allows teamsForBusiness
    join_url_later: bool = False  # Teams links are missing from create answers, in reads after

    @property
    def smtp(self) -> str:
        return self.mail or self.upn


@dataclass
class Fault:
    method: str
    path: str  # a prefix of the path after the version, e.g. "me/events"
    status: int
    code: str
    retry_after: int | None
    times: int


@dataclass
class Hook:
    method: str
    path: str  # a prefix, as for faults
    before: Callable[[], None] | None  # runs before the request is performed
    after: Callable[[], None] | None  # runs once it was: raise to lose the answer


class FakeGraph:
    """The parts of Graph the app uses, in memory; requests arrive as GraphClient sends them."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.mailboxes: dict[str, Mailbox] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []  # "METHOD path", in order
        self._faults: list[Fault] = []
        self._hooks: list[Hook] = []
        self._edits = 0
        # series master id -> {"exceptions": {original stamp: overrides}, "cancelled": {stamps}}
        self.series: dict[str, dict[str, Any]] = {}

    # --- the test's side: people and what they do in Outlook ------------------------------------

    def add_person(self, upn: str, name: str, *, mail: str | None = None) -> Mailbox:
        mailbox = Mailbox(upn, name, f"oid-{upn.split('@')[0]}", mail=mail)
        self.mailboxes[upn.lower()] = mailbox
        return mailbox

    @staticmethod
    def token_for(upn: str) -> str:
        return f"token-{upn.lower()}"

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        code: str = "Failed",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` requests matching answer `status` (with Retry-After if given)."""
        self._faults.append(Fault(method, path, status, code, retry_after, times))

    def on(
        self,
        method: str,
        path: str,
        *,
        before: Callable[[], None] | None = None,
        after: Callable[[], None] | None = None,
    ) -> None:
        """The next matching request runs `before` first (someone else acts meanwhile) and
        `after` once performed (raising there loses the answer, as a timeout does)."""
        self._hooks.append(Hook(method, path, before, after))

    def add_event(
        self, upn: str, subject: str, start: str, end: str, show_as: str = "busy"
    ) -> dict[str, Any]:
        """Someone puts an event of their own in their Outlook calendar (times in UTC)."""
        body = {
            "subject": subject,
            "start": {"dateTime": start, "timeZone": "UTC"},
            "end": {"dateTime": end, "timeZone": "UTC"},
            "showAs": show_as,
        }
        return self._create(self.mailboxes[upn.lower()], body)

    def edit(self, upn: str, event_id: str, **fields: Any) -> None:
        """Someone changes the event in Outlook (a series' new time or pattern drops its
        exceptions, as Outlook does)."""
        mailbox = self.mailboxes[upn.lower()]
        self._update(mailbox, event_id, fields)

    def edit_occurrence(self, upn: str, master_id: str, original: datetime, **fields: Any) -> None:
        """Someone changes one occurrence of a series in Outlook (times in UTC)."""
        mailbox = self.mailboxes[upn.lower()]
        entry = self.series.setdefault(master_id, {"exceptions": {}, "cancelled": set()})
        key = _stamp(original)
        entry["exceptions"][key] = {**entry["exceptions"].get(key, {}), **copy.deepcopy(fields)}
        self._touch(mailbox, master_id)

    def cancel_occurrence(self, upn: str, master_id: str, original: datetime) -> None:
        mailbox = self.mailboxes[upn.lower()]
        entry = self.series.setdefault(master_id, {"exceptions": {}, "cancelled": set()})
        entry["cancelled"].add(_stamp(original))
        self._touch(mailbox, master_id)

    def instances(
        self, upn: str, master_id: str, start: datetime, end: datetime
    ) -> list[dict[str, Any]]:
        """The series' occurrences and exceptions overlapping [start, end), not cancelled ones."""
        mailbox = self.mailboxes[upn.lower()]
        master = mailbox.events[master_id]
        entry = self.series.get(master_id, {"exceptions": {}, "cancelled": set()})
        first = parse_graph_date_time(master["start"])
        duration = parse_graph_date_time(master["end"]) - first
        found = []
        for original in _pattern(master["recurrence"], first, start - timedelta(days=400), end):
            key = _stamp(original)
            if key in entry["cancelled"]:
                continue
            overrides = entry["exceptions"].get(key, {})
            occurrence = copy.deepcopy(master) | {
                "id": f"{master_id}.{key}",
                "type": "exception" if overrides else "occurrence",
                "seriesMasterId": master_id,
                "originalStart": original.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "start": {"dateTime": original.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                "end": {
                    "dateTime": (original + duration).strftime("%Y-%m-%dT%H:%M:%S"),
                    "timeZone": "UTC",
                },
                "recurrence": None,
            }
            occurrence.update(copy.deepcopy(overrides))
            if parse_graph_date_time(occurrence["start"]) < end and (
                parse_graph_date_time(occurrence["end"]) > start
            ):
                found.append(occurrence)
        return found

    def _occurrence(self, mailbox: Mailbox, event_id: str) -> dict[str, Any]:
        master_id, _, key = event_id.partition(".")
        original = datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        for occurrence in self.instances(
            mailbox.upn, master_id, original - timedelta(days=400), original + timedelta(days=400)
        ):
            if occurrence["id"] == event_id:
                return occurrence
        raise KeyError(event_id)  # 404

    def _update(self, mailbox: Mailbox, event_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        if "." in event_id:  # one occurrence of a series
            self._occurrence(mailbox, event_id)
            master_id, _, key = event_id.partition(".")
            original = datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            self.edit_occurrence(mailbox.upn, master_id, original, **fields)
            return self._occurrence(mailbox, event_id)
        event = mailbox.events[event_id]
        before = {k: copy.deepcopy(event.get(k)) for k in ("start", "end", "recurrence")}
        event.update(copy.deepcopy(fields))
        if event.get("recurrence") and any(
            _instant(event.get(k)) != _instant(v) for k, v in before.items()
        ):
            self.series.pop(event_id, None)
        self._touch(mailbox, event_id)
        return event

    def respond(self, organiser: str, event_id: str, attendee: str, response: str) -> None:
        """An attendee answers: the organiser's event shows it."""
        mailbox = self.mailboxes[organiser.lower()]
        for entry in mailbox.events[event_id]["attendees"]:
            if entry["emailAddress"]["address"].lower() == attendee.lower():
                entry["status"] = {"response": response}
        self._touch(mailbox, event_id)

    def delete(self, upn: str, event_id: str) -> None:
        mailbox = self.mailboxes[upn.lower()]
        del mailbox.events[event_id]
        mailbox.changes.append(event_id)

    def events_of(self, upn: str) -> list[dict[str, Any]]:
        return list(self.mailboxes[upn.lower()].events.values())

    # --- the app's side: GraphClient's session ----------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: tuple[float, float] | None = None,
    ) -> requests.Response:
        parts = urlsplit(url)
        path = parts.path.removeprefix(urlsplit(GRAPH).path).strip("/")
        query = dict(parse_qsl(parts.query)) | dict(params or {})
        self.requests.append(f"{method} {path}")
        fault = next(
            (f for f in self._faults if f.method == method and path.startswith(f.path)), None
        )
        if fault is not None:
            fault.times -= 1
            if fault.times == 0:
                self._faults.remove(fault)
            retry = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            return _answer(fault.status, _error(fault.code), retry)
        token = (headers or {}).get("Authorization", "").removeprefix("Bearer ")
        mailbox = next((m for m in self.mailboxes.values() if self.token_for(m.upn) == token), None)
        if mailbox is None:
            return _answer(401, _error("InvalidAuthenticationToken"))
        hooks = (h for h in self._hooks if h.method == method and path.startswith(h.path))
        hook = next(hooks, None)
        if hook is not None:
            self._hooks.remove(hook)
            if hook.before:
                hook.before()
        try:
            status, body = self._route(mailbox, method, path, query, json)
        except KeyError:
            return _answer(404, _error("ErrorItemNotFound"))
        if hook is not None and hook.after:
            hook.after()
        return _answer(status, body)

    def _route(
        self, mailbox: Mailbox, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, dict[str, Any]]:
        segments = path.split("/")
        match method, segments:
            case "GET", ["me"]:
                me = {"id": mailbox.object_id, "displayName": mailbox.name}
                return 200, me | {"userPrincipalName": mailbox.upn, "mail": mailbox.smtp}
            case "GET", ["me", "calendar"]:
                providers = ["teamsForBusiness"] if mailbox.teams else []
                calendar = {"id": f"calendar-{mailbox.object_id}"}
                return 200, calendar | {"allowedOnlineMeetingProviders": providers}
            case "POST", ["me", "events"]:
                return 201, self._create(mailbox, body)
            case "GET", ["me", "events", event_id] if "." in event_id:
                return 200, self._occurrence(mailbox, event_id)
            case "GET", ["me", "events", event_id]:
                event = copy.deepcopy(mailbox.events[event_id])
                if event.get("isOnlineMeeting") and mailbox.teams:
                    event["onlineMeeting"] = {"joinUrl": f"https://teams.test/{event_id}"}
                return 200, event
            case "GET", ["me", "events", event_id, "instances"]:
                start, end = (query["startDateTime"], query["endDateTime"])
                found = self.instances(
                    mailbox.upn,
                    event_id,
                    datetime.fromisoformat(start),
                    datetime.fromisoformat(end),
                )
                return 200, {"value": found}
            case "PATCH", ["me", "events", event_id]:
                return 200, copy.deepcopy(self._update(mailbox, event_id, body))
            case "POST", ["me", "events", event_id, "cancel"] if "." in event_id:
                self._occurrence(mailbox, event_id)
                master_id, _, key = event_id.partition(".")
                original = datetime.strptime(key, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
                self.cancel_occurrence(mailbox.upn, master_id, original)
                return 202, {}
            case "POST", ["me", "events", event_id, "cancel"]:
                self.delete(mailbox.upn, mailbox.events[event_id]["id"])
                return 202, {}
            case "GET", ["me", "calendarView"]:
                return 200, {"value": self._in_window(mailbox, query)}
            case "GET", ["me", "calendarView", "delta"]:
                return 200, self._delta(mailbox, query)
            case "POST", ["me", "calendar", "getSchedule"]:
                return 200, {"value": [self._schedule(a) for a in body["schedules"]]}
            case "POST", ["subscriptions"]:
                subscription = {"id": str(uuid.uuid4()), "upn": mailbox.upn, **body}
                self.subscriptions[subscription["id"]] = subscription
                return 201, subscription
            case "PATCH", ["subscriptions", subscription_id]:
                self.subscriptions[subscription_id].update(body)
                return 200, self.subscriptions[subscription_id]
            case "DELETE", ["subscriptions", subscription_id]:
                del self.subscriptions[subscription_id]
                return 204, {}
            case "POST", ["subscriptions", subscription_id, "reauthorize"]:
                return 200, self.subscriptions[subscription_id]
        return 400, _error("BadRequest")

    def _create(self, mailbox: Mailbox, body: dict[str, Any]) -> dict[str, Any]:
        for event in mailbox.events.values():
            if body.get("transactionId") and event.get("transactionId") == body["transactionId"]:
                return copy.deepcopy(event)  # a retried create: Graph makes no second event
        event_id = f"event-{uuid.uuid4().hex[:12]}"
        event = copy.deepcopy(body) | {
            "id": event_id,
            "iCalUId": f"ical-{event_id}",
            "webLink": f"https://outlook.test/{event_id}",
            "type": "seriesMaster" if body.get("recurrence") else "singleInstance",
        }
        for entry in event.get("attendees", []):
            entry["status"] = {"response": "none"}
        if event.get("isOnlineMeeting") and mailbox.teams and not mailbox.join_url_later:
            event["onlineMeeting"] = {"joinUrl": f"https://teams.test/{event_id}"}
        elif event.get("isOnlineMeeting"):  # provisioned later, or not allowed at all
            event["onlineMeeting"] = None
            event["isOnlineMeeting"] = mailbox.teams
        mailbox.events[event_id] = event
        self._touch(mailbox, event_id)
        return copy.deepcopy(event)

    def _touch(self, mailbox: Mailbox, event_id: str) -> None:
        self._edits += 1
        event = mailbox.events[event_id]
        modified = self._clock() + timedelta(milliseconds=self._edits)
        event["lastModifiedDateTime"] = modified.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        event["changeKey"] = f"ck-{self._edits}"
        mailbox.changes.append(event_id)

    def _in_window(self, mailbox: Mailbox, query: dict[str, str]) -> list[dict[str, Any]]:
        start = datetime.fromisoformat(query["startDateTime"])
        end = datetime.fromisoformat(query["endDateTime"])
        return [
            copy.deepcopy(event)
            for event in mailbox.events.values()
            if parse_graph_date_time(event["start"]) < end
            and parse_graph_date_time(event["end"]) > start
        ]

    def _delta(self, mailbox: Mailbox, query: dict[str, str]) -> dict[str, Any]:
        """A first round lists the window's events; a deltaLink lists what changed since:
        an event outside the round's window, or gone, as `@removed` (reason deleted), a changed
        series as its master and its occurrences in the window with only id, type,
        seriesMasterId, start and end (event-delta)."""
        window = {k: query[k] for k in ("startDateTime", "endDateTime")}
        if "token" in query:
            changed = dict.fromkeys(mailbox.changes[int(query["token"]) :])
            value: list[dict[str, Any]] = []
            for i in changed:
                if i not in mailbox.events or not self._in_window_one(mailbox.events[i], window):
                    value.append({"id": i, "@removed": {"reason": "deleted"}})
                    continue
                value.append(copy.deepcopy(mailbox.events[i]))
                if mailbox.events[i].get("recurrence"):
                    start, end = (datetime.fromisoformat(window[k]) for k in window)
                    value += [
                        {k: o[k] for k in ("id", "type", "seriesMasterId", "start", "end")}
                        for o in self.instances(mailbox.upn, i, start, end)
                    ]
        else:
            value = self._in_window(mailbox, query)
        position = urlencode({"token": len(mailbox.changes), **window})
        return {"value": value, "@odata.deltaLink": f"{GRAPH}/me/calendarView/delta?{position}"}

    @staticmethod
    def _in_window_one(event: dict[str, Any], window: dict[str, str]) -> bool:
        start, end = (datetime.fromisoformat(window[k]) for k in ("startDateTime", "endDateTime"))
        return parse_graph_date_time(event["start"]) < end and (
            parse_graph_date_time(event["end"]) > start
        )

    def _schedule(self, address: str) -> dict[str, Any]:
        """getSchedule knows people by SMTP address only, never by a UPN that is not one."""
        mailbox = next(
            (m for m in self.mailboxes.values() if m.smtp.lower() == address.lower()), None
        )
        if mailbox is None:
            return {"scheduleId": address, "error": {"responseCode": "RecipientNotFound"}}
        if not mailbox.shares_free_busy:
            return {"scheduleId": address, "error": {"responseCode": "ErrorNoFreeBusyAccess"}}
        items = [
            {
                "status": e.get("showAs", "busy"),
                "subject": e.get("subject"),
                "start": e["start"],
                "end": e["end"],
            }
            for e in mailbox.events.values()
        ]
        return {"scheduleId": address, "scheduleItems": items}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _instant(value: Any) -> Any:
    if isinstance(value, dict) and "dateTime" in value:
        return parse_graph_date_time(value)
    return value


def _pattern(
    recurrence: dict[str, Any], first: datetime, start: datetime, end: datetime
) -> list[datetime]:
    """The starts a daily or weekly series (all the unit tests use) has in [start, end)."""
    pattern, span = recurrence["pattern"], recurrence["range"]
    options: dict[str, Any] = {"dtstart": first, "interval": pattern.get("interval", 1)}
    if pattern["type"] == "weekly":
        days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        options["byweekday"] = [days.index(d) for d in pattern["daysOfWeek"]]
    if span["type"] == "numbered":
        options["count"] = span["numberOfOccurrences"]
    elif span["type"] == "endDate":
        options["until"] = datetime.fromisoformat(span["endDate"] + "T23:59:59+00:00")
    rule = rrule.rrule(rrule.WEEKLY if pattern["type"] == "weekly" else rrule.DAILY, **options)
    return list(rule.between(start, end, inc=True))


def _error(code: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"{code} (fake Graph)"}}


def _answer(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = json.dumps(body).encode() if body else b""
    return response


# --- the identity platform ----------------------------------------------------------------------


class FakeIdentity:
    """MSAL and Entra in memory: `signing_in` is who completes the next sign-in."""

    def __init__(self, graph: FakeGraph) -> None:
        self._graph = graph
        self.signing_in: str | None = None
        self.refresh_failure: Exception | None = None  # what the next refreshes raise
        self.forced_refreshes = 0
        self.redeemed = 0  # authorization codes redeemed

    def begin_sign_in(self, redirect_uri: str, login_hint: str | None = None) -> dict[str, Any]:
        state = uuid.uuid4().hex
        return {"state": state, "auth_uri": f"https://login.test/authorize?state={state}"}

    def complete_sign_in(self, flow: dict[str, Any], auth_response: dict[str, str]) -> SignedIn:
        assert self.signing_in is not None, "say who signs in: identity.signing_in = upn"
        self.redeemed += 1
        mailbox = self._graph.mailboxes[self.signing_in.lower()]
        return SignedIn(
            object_id=mailbox.object_id,
            tenant_id=TENANT,
            home_account_id=f"{mailbox.object_id}.{TENANT}",
            username=mailbox.upn,
            name=mailbox.name,
            access_token=self._graph.token_for(mailbox.upn),
            token_cache=json.dumps({"upn": mailbox.upn}),
        )

    def access_token(
        self, token_cache: str, home_account_id: str, *, force_refresh: bool = False
    ) -> AccessToken:
        if self.refresh_failure is not None:
            raise self.refresh_failure
        self.forced_refreshes += force_refresh
        return AccessToken(self._graph.token_for(json.loads(token_cache)["upn"]), None)

    def admin_consent_url(self, tenant: str, redirect_uri: str, state: str) -> str:
        return f"https://login.test/{tenant}/v2.0/adminconsent?state={state}"
