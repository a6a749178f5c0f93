"""Outlook mailboxes: each directory user's events, meeting copies, responses and a change feed.

Events are kept as Graph event objects with UTC times. A meeting lives in the organiser's
calendar; each invited directory member with a cloud mailbox gets a copy (same iCalUId, their
own id), as Exchange's invitations do. Every change lands in a per-mailbox change feed with a
sequence number, and listeners (`on_change`) hear of it: change notifications and delta read it.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tzlocal.windows_tz import tz_win

from devtools.graph_emulator.clock import EmulatorClock
from devtools.graph_emulator.directory import Directory, DirectoryUser
from devtools.graph_emulator.tokens import b64url

_IANA_BY_WINDOWS = {windows: iana for iana, windows in tz_win.items()}
SHARING_LEVELS = ("none", "free_busy", "limited", "full")


@dataclass(frozen=True)
class Change:
    sequence: int
    mailbox: str  # the owner's object id
    event_id: str
    change_type: str  # created | updated | deleted
    at: datetime


def graph_time(moment: datetime) -> dict[str, str]:
    return {
        "dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
        "timeZone": "UTC",
    }


def parse_graph_time(value: dict[str, Any]) -> datetime:
    """`dateTimeTimeZone` with a Windows or IANA zone name, or UTC, to an aware UTC datetime."""
    text = str(value["dateTime"]).rstrip("Z")
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    name = str(value.get("timeZone") or "UTC")
    zone = UTC if name in ("UTC", "Etc/UTC") else ZoneInfo(_IANA_BY_WINDOWS.get(name, name))
    return datetime.fromisoformat(text).replace(tzinfo=zone).astimezone(UTC)


def event_start(event: dict[str, Any]) -> datetime:
    return parse_graph_time(event["start"])


def event_end(event: dict[str, Any]) -> datetime:
    return parse_graph_time(event["end"])


class Mailboxes:
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
            self.feed: list[Change] = []

    def on_change(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    # --- reading ------------------------------------------------------------------------------

    def events(self, owner: DirectoryUser) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._events.get(owner.object_id, {}).values()]

    def event(self, owner: DirectoryUser, event_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._events.get(owner.object_id, {}).get(event_id)
            return dict(found) if found else None

    def sharing(self, owner: DirectoryUser) -> str:
        with self._lock:
            return self._sharing.get(owner.object_id, "limited")

    def set_sharing(self, owner: DirectoryUser, level: str) -> None:
        if level not in SHARING_LEVELS:
            raise ValueError(f"free_busy must be one of {SHARING_LEVELS}")
        with self._lock:
            self._sharing[owner.object_id] = level

    # --- writing ------------------------------------------------------------------------------

    def create(
        self, owner: DirectoryUser, body: dict[str, Any], base_url: str
    ) -> tuple[dict[str, Any], bool]:
        """(event, created): a known transactionId answers the event it created before."""
        with self._lock:
            transaction = body.get("transactionId")
            if transaction and (owner.object_id, transaction) in self._transactions:
                existing = self._events[owner.object_id].get(
                    self._transactions[(owner.object_id, transaction)]
                )
                if existing is not None:
                    return dict(existing), False
            now = self._now()
            event_id = _new_id(owner.object_id)
            ical_uid = "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex.upper()
            event = {
                "id": event_id,
                "iCalUId": ical_uid,
                "subject": body.get("subject", ""),
                "body": body.get("body") or {"contentType": "text", "content": ""},
                "start": graph_time(parse_graph_time(body["start"])),
                "end": graph_time(parse_graph_time(body["end"])),
                "originalStartTimeZone": body["start"].get("timeZone", "UTC"),
                "location": body.get("location") or {"displayName": ""},
                "attendees": [
                    {
                        "type": a.get("type", "required"),
                        "emailAddress": a["emailAddress"],
                        "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                    }
                    for a in body.get("attendees", [])
                ],
                "organizer": {"emailAddress": {"name": owner.display_name, "address": owner.mail}},
                "isOrganizer": True,
                "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
                "isOnlineMeeting": bool(body.get("isOnlineMeeting")),
                "onlineMeetingProvider": body.get("onlineMeetingProvider", "unknown")
                if body.get("isOnlineMeeting")
                else "unknown",
                "onlineMeeting": {
                    "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{uuid.uuid4().hex}%40thread.v2/0"
                }
                if body.get("isOnlineMeeting")
                else None,
                "recurrence": body.get("recurrence"),
                "type": "seriesMaster" if body.get("recurrence") else "singleInstance",
                "showAs": body.get("showAs", "busy"),
                "isCancelled": False,
                "allowNewTimeProposals": body.get("allowNewTimeProposals", True),
                "transactionId": transaction,
                "createdDateTime": _stamp(now),
                "lastModifiedDateTime": _stamp(now),
                "changeKey": _change_key(event_id, now),
                "webLink": f"https://outlook.office365.com/owa/?itemid={event_id}&exvsurl=1&path=/calendar/item",
                "seriesMasterId": None,
            }
            self._store(owner, event, "created")
            if transaction:
                self._transactions[(owner.object_id, transaction)] = event_id
            for invited in self._invitees(event):
                copy = {
                    **event,
                    "id": _new_id(invited.object_id),
                    "isOrganizer": False,
                    "responseStatus": {"response": "notResponded", "time": "0001-01-01T00:00:00Z"},
                    "transactionId": None,
                }
                copy["webLink"] = event["webLink"].replace(event_id, copy["id"])
                self._store(invited, copy, "created")
            return dict(event), True

    def update(
        self, owner: DirectoryUser, event_id: str, changes: dict[str, Any]
    ) -> dict[str, Any] | None:
        """An edit by the event's owner; an organiser's edit reaches the attendees' copies."""
        with self._lock:
            event = self._events.get(owner.object_id, {}).get(event_id)
            if event is None:
                return None
            fields = _normalised(changes)
            if fields.get("isOnlineMeeting") and not (event.get("onlineMeeting") or {}).get(
                "joinUrl"
            ):
                fields["onlineMeeting"] = {
                    "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{uuid.uuid4().hex}%40thread.v2/0"
                }
                fields.setdefault("onlineMeetingProvider", "teamsForBusiness")
            if fields.get("isOnlineMeeting") is False:
                fields["onlineMeeting"] = None
            updated = self._touch(owner, {**event, **fields})
            if event["isOrganizer"]:
                shared = {k: v for k, v in fields.items() if k in _MEETING_FIELDS}
                for invited, copy in self._copies(event):
                    self._touch(invited, {**copy, **shared})
                if "attendees" in fields:
                    self._invite_new(event, updated)
            return dict(updated)

    def delete(self, owner: DirectoryUser, event_id: str) -> bool:
        """Removes the owner's item; the organiser deleting a meeting cancels it for attendees."""
        with self._lock:
            event = self._events.get(owner.object_id, {}).pop(event_id, None)
            if event is None:
                return False
            self._record(owner.object_id, event_id, "deleted")
            if event["isOrganizer"]:
                for invited, copy in self._copies(event):
                    self._touch(
                        invited,
                        {**copy, "isCancelled": True, "subject": f"Canceled: {copy['subject']}"},
                    )
            return True

    def respond(
        self, attendee: DirectoryUser, event_id: str, response: str
    ) -> dict[str, Any] | None:
        with self._lock:
            copy = self._events.get(attendee.object_id, {}).get(event_id)
            if copy is None or copy["isOrganizer"]:
                return None
            stamp = _stamp(self._now())
            self._touch(attendee, {**copy, "responseStatus": {"response": response, "time": stamp}})
            organiser = self._directory.user_by_sign_in_name(
                copy["organizer"]["emailAddress"]["address"]
            )
            if organiser is not None:
                for event in list(self._events.get(organiser.object_id, {}).values()):
                    if event["iCalUId"] == copy["iCalUId"] and event["isOrganizer"]:
                        attendees = [
                            {**a, "status": {"response": response, "time": stamp}}
                            if a["emailAddress"]["address"].lower() == attendee.mail.lower()
                            else a
                            for a in event["attendees"]
                        ]
                        self._touch(organiser, {**event, "attendees": attendees})
            return self.event(attendee, event_id)

    # --- internals ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock.now_utc()

    def _store(self, owner: DirectoryUser, event: dict[str, Any], change_type: str) -> None:
        self._events.setdefault(owner.object_id, {})[event["id"]] = event
        self._record(owner.object_id, event["id"], change_type)

    def _touch(self, owner: DirectoryUser, event: dict[str, Any]) -> dict[str, Any]:
        now = self._now()
        event = {
            **event,
            "lastModifiedDateTime": _stamp(now),
            "changeKey": _change_key(event["id"], now),
        }
        self._store(owner, event, "updated")
        return event

    def _record(self, mailbox: str, event_id: str, change_type: str) -> None:
        change = Change(len(self.feed) + 1, mailbox, event_id, change_type, self._now())
        self.feed.append(change)
        for listener in self._listeners:
            listener(change)

    def _invitees(self, event: dict[str, Any]) -> list[DirectoryUser]:
        found = []
        for attendee in event["attendees"]:
            user = self._directory.user_by_sign_in_name(attendee["emailAddress"]["address"])
            if (
                user is not None
                and not user.mailbox_on_premises
                and user.mail != event["organizer"]["emailAddress"]["address"]
            ):
                found.append(user)
        return found

    def _copies(self, event: dict[str, Any]) -> list[tuple[DirectoryUser, dict[str, Any]]]:
        copies = []
        for invited in self._invitees(event):
            for copy in self._events.get(invited.object_id, {}).values():
                if copy["iCalUId"] == event["iCalUId"] and not copy["isOrganizer"]:
                    copies.append((invited, copy))
        return copies

    def _invite_new(self, before: dict[str, Any], after: dict[str, Any]) -> None:
        had = {u.object_id for u, _ in self._copies(before)}
        for invited in self._invitees(after):
            if invited.object_id not in had:
                copy = {
                    **after,
                    "id": _new_id(invited.object_id),
                    "isOrganizer": False,
                    "transactionId": None,
                    "responseStatus": {"response": "notResponded", "time": "0001-01-01T00:00:00Z"},
                }
                self._store(invited, copy, "created")


_MEETING_FIELDS = {
    "subject",
    "start",
    "end",
    "location",
    "isOnlineMeeting",
    "onlineMeeting",
    "onlineMeetingProvider",
    "body",
    "recurrence",
    "attendees",
}


def _normalised(changes: dict[str, Any]) -> dict[str, Any]:
    fields = dict(changes)
    for key in ("start", "end"):
        if key in fields:
            fields[key] = graph_time(parse_graph_time(fields[key]))
    if "attendees" in fields:
        fields["attendees"] = [
            {
                "type": a.get("type", "required"),
                "emailAddress": a["emailAddress"],
                "status": a.get("status") or {"response": "none", "time": "0001-01-01T00:00:00Z"},
            }
            for a in fields["attendees"]
        ]
    return fields


def _new_id(owner_id: str) -> str:
    return "AAMkA" + b64url(hashlib.sha256(f"{owner_id}/{uuid.uuid4()}".encode()).digest() * 2)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _change_key(event_id: str, moment: datetime) -> str:
    return b64url(hashlib.sha256(f"{event_id}/{moment.isoformat()}".encode()).digest())[:28]
