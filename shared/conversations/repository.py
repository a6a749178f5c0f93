"""Conversations in Azure Tables, with the indexes that keep every read a point or range read.

conversations:      PK org id,            RK conversation id
conversationindex:  PK org|user,          RK start (UTC, sortable)|conversation id  (one-off)
                    PK org|user|series,   RK conversation id                         (recurring)
idempotency:        PK org|user,          RK client's Idempotency-Key -> conversation id and
                                                the digest of the request that claimed it
conversationrecords PK org|conversation,  RK kind|time|id  (notes and actions)
eventindex:         PK Outlook event id,  RK "event"  -> org id, conversation id
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.changes import outbox
from shared.conversations import proposals
from shared.conversations.model import (
    PENDING_SINCE,
    Conversation,
    ConversationStatus,
    Location,
    LocationKind,
    OccurrenceException,
    OutlookEvent,
    Participant,
    ParticipantRole,
    Record,
    SyncState,
)
from shared.conversations.requests import check_stored_recurrence
from shared.conversations.time_zones import iana_zone
from shared.errors import InvalidRequest
from shared.limits import within_time_range
from shared.storage.entities import EntityAlreadyExists, EntityStore, UnreadableEntity
from shared.storage.keys import table_key

_INDEX_TIME = "%Y%m%dT%H%M%SZ"
_DAMAGE_READABLE = ("OrganiserId", "OutlookEventId")  # text, read even when the rest is not
_SERIES = "series"
MAX_LENGTH = timedelta(hours=24)  # a one-off conversation starting this early can still overlap


@dataclass(frozen=True)
class StoredConversation:
    conversation: Conversation
    etag: str


@dataclass(frozen=True)
class ClaimedKey:
    conversation_id: str
    request_digest: str  # of the request that claimed the key first


class UnreadableConversation(Exception):
    """A conversation row that is stored but cannot be read back into a usable conversation
    (written by an older version, or by hand): readers log it and pass over it."""

    def __init__(self, org_id: str, conversation_id: str, reason: str) -> None:
        super().__init__(f"conversation {conversation_id} of {org_id} is unreadable: {reason}")
        self.org_id, self.conversation_id = org_id, conversation_id


@dataclass(frozen=True)
class DamagedConversation:
    """What can still be read of an unreadable conversation: enough for its organiser to
    delete it (and its Outlook event)."""

    id: str
    org_id: str
    organiser_id: str
    event_id: str | None


class ConversationRepository:
    def __init__(self, table: EntityStore, index: EntityStore, idempotency: EntityStore) -> None:
        self._table = table
        self._index = index
        self._idempotency = idempotency

    def get(self, org_id: str, conversation_id: str) -> StoredConversation | None:
        """The conversation, None if there is none, or UnreadableConversation."""
        try:
            stored = self._table.get(table_key(org_id), table_key(conversation_id))
        except UnreadableEntity as error:
            raise UnreadableConversation(org_id, conversation_id, str(error)) from error
        if stored is None:
            return None
        try:
            conversation = _usable(_conversation(org_id, stored.properties))
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as error:
            raise UnreadableConversation(org_id, conversation_id, repr(error)) from error
        except InvalidRequest as refused:  # what the API would refuse today
            raise UnreadableConversation(org_id, conversation_id, refused.detail) from refused
        return StoredConversation(conversation, stored.etag)

    def damaged(self, org_id: str, conversation_id: str) -> DamagedConversation | None:
        """The little that can be read of an unreadable conversation: who organises it and its
        Outlook event (plain text properties); None when even that cannot be read."""
        try:
            stored = self._table.get(
                table_key(org_id), table_key(conversation_id), select=_DAMAGE_READABLE
            )
        except UnreadableEntity:
            return None
        organiser = stored.properties.get("OrganiserId") if stored else None
        if not isinstance(organiser, str) or not organiser:
            return None
        event_id = stored.properties.get("OutlookEventId") if stored else None
        return DamagedConversation(
            conversation_id, org_id, organiser, event_id if isinstance(event_id, str) else None
        )

    def remove_damaged(self, damaged: DamagedConversation) -> None:
        """Delete the row; index rows that cannot be named are left (their readers skip them)."""
        self._table.delete(table_key(damaged.org_id), table_key(damaged.id))

    def add(self, conversation: Conversation) -> StoredConversation:
        """Index rows first: if the process dies in between, a row that names no conversation is
        skipped by readers, where a conversation without its rows would be missing from lists."""
        self._index_rows(conversation, add=True)
        etag = self._table.create(
            table_key(conversation.org_id), table_key(conversation.id), _properties(conversation)
        )
        return StoredConversation(conversation, etag)

    def replace(
        self, conversation: Conversation, etag: str, previous: Conversation
    ) -> StoredConversation:
        """Write guarded by ETag (ConcurrencyConflict if someone else wrote first). New index
        rows go first and old ones last, so a conversation is never missing from a list; a row
        left over names a time the conversation no longer has, and readers check it."""
        reindexed = (previous.start, previous.attendees, previous.recurrence is None) != (
            conversation.start,
            conversation.attendees,
            conversation.recurrence is None,
        )
        if reindexed:
            self._index_rows(conversation, add=True)
        new_etag = self._table.replace(
            table_key(conversation.org_id),
            table_key(conversation.id),
            _properties(conversation),
            etag,
        )
        if reindexed:
            self._index_rows(previous, add=False, keep=conversation)
        return StoredConversation(conversation, new_etag)

    def remove(self, conversation: Conversation) -> None:
        self._table.delete(table_key(conversation.org_id), table_key(conversation.id))
        self._index_rows(conversation, add=False)

    def claim_idempotency_key(
        self, org_id: str, user_id: str, key: str, conversation_id: str, request_digest: str
    ) -> ClaimedKey:
        """The conversation this key stands for: ours if new, the first one's if retried."""
        partition, row = table_key(org_id, user_id), table_key(key)
        mine = {"ConversationId": conversation_id, "RequestDigest": request_digest}
        try:
            self._idempotency.create(partition, row, mine)
            return ClaimedKey(conversation_id, request_digest)
        except EntityAlreadyExists:
            existing = self._idempotency.get(partition, row)
            if existing is None:
                return ClaimedKey(conversation_id, request_digest)
            # Keys claimed before digests were kept match any request, as they always did.
            digest = existing.properties.get("RequestDigest")
            return ClaimedKey(
                str(existing.properties["ConversationId"]),
                str(digest) if digest is not None else request_digest,
            )

    def for_user(self, org_id: str, user_id: str, start: datetime, end: datetime) -> Iterator[str]:
        """Ids of one-off conversations of the user overlapping [start, end), then all series."""
        partition = table_key(org_id, user_id)
        low = (start - MAX_LENGTH).strftime(_INDEX_TIME)
        for row in self._index.range(partition, low, end.strftime(_INDEX_TIME)):
            yield str(row.properties["ConversationId"])
        for row in self._index.range(table_key(org_id, user_id, _SERIES)):
            yield str(row.properties["ConversationId"])

    def _index_rows(
        self, conversation: Conversation, *, add: bool, keep: Conversation | None = None
    ) -> None:
        """Write (or delete) the conversation's rows; `keep`: a newer version whose rows stay."""
        kept = set(_index_keys(keep)) if keep is not None else set()
        for partition, row in _index_keys(conversation):
            if add:
                self._index.upsert(partition, row, {"ConversationId": conversation.id})
            elif (partition, row) not in kept:
                self._index.delete(partition, row)


def _index_keys(conversation: Conversation) -> list[tuple[str, str]]:
    users = {conversation.organiser_id} | {a.user_id for a in conversation.attendees if a.user_id}
    keys = []
    for user in sorted(users):
        if conversation.recurrence is None:
            partition = table_key(conversation.org_id, user)
            row = table_key(conversation.start.strftime(_INDEX_TIME), conversation.id)
        else:
            partition = table_key(conversation.org_id, user, _SERIES)
            row = table_key(conversation.id)
        keys.append((partition, row))
    return keys


class RecordRepository:
    """Notes and actions: minimal records whose existence protects a conversation."""

    def __init__(self, table: EntityStore) -> None:
        self._table = table

    def add(self, org_id: str, conversation_id: str, record: Record) -> None:
        row = table_key(record.kind, record.created_at.isoformat(), record.id)
        stored = {
            "id": record.id,
            "text": record.text,
            "authorId": record.author_id,
            "createdAt": record.created_at.isoformat(),
        }
        self._table.create(table_key(org_id, conversation_id), row, {"Json": json.dumps(stored)})


def _properties(c: Conversation) -> dict[str, Any]:
    return {
        "Id": c.id,
        "Type": c.type,
        "Title": c.title,
        "OrganiserId": c.organiser_id,
        "OrganiserEmail": c.organiser_email or "",
        "Attendees": json.dumps([asdict(a) for a in c.attendees]),
        "Start": c.start,
        "End": c.end,
        "TimeZone": c.time_zone,
        "Location": json.dumps({"kind": c.location.kind.value, "text": c.location.text}),
        "Recurrence": json.dumps(c.recurrence) if c.recurrence else "",
        "Status": c.status.value,
        "SyncState": c.sync_state.value,
        "SyncError": c.sync_error or "",
        "Outlook": json.dumps(_outlook_json(c.outlook)) if c.outlook else "",
        "OutlookEventId": c.outlook.event_id if c.outlook else "",
        "NotesCount": c.notes_count,
        "ActionsCount": c.actions_count,
        "CreatedAt": c.created_at,
        "UpdatedAt": c.updated_at,
        "Version": c.version,
        "PushDue": "" if c.push_due == PENDING_SINCE else c.push_due,  # PARKED is a date too
        "Exceptions": json.dumps([_exception_json(e) for e in c.exceptions])
        if c.exceptions
        else "",
        "TeamsUnavailable": c.teams_unavailable,
        "Proposals": json.dumps(proposals.to_json(c.proposals)) if c.proposals else "",
        "PendingChanges": outbox.to_json(c.outbox),
    }


def _exception_json(e: OccurrenceException) -> dict[str, Any]:
    values: dict[str, Any] = {"o": e.original_start.isoformat()}
    if e.start and e.end:
        values |= {"s": e.start.isoformat(), "e": e.end.isoformat()}
    if e.location:
        values["l"] = {"kind": e.location.kind.value, "text": e.location.text}
    if e.cancelled:
        values["c"] = 1
    if e.event_id:
        values["i"] = e.event_id
    if e.pending:
        values["p"] = 1
    return values


def _exception(raw: dict[str, Any]) -> OccurrenceException:
    moment = datetime.fromisoformat
    location = raw.get("l")
    return OccurrenceException(
        original_start=moment(raw["o"]),
        start=moment(raw["s"]) if raw.get("s") else None,
        end=moment(raw["e"]) if raw.get("e") else None,
        location=Location(LocationKind(location["kind"]), location.get("text"))
        if location
        else None,
        cancelled=bool(raw.get("c")),
        event_id=raw.get("i"),
        pending=bool(raw.get("p")),
    )


def _outlook_json(event: OutlookEvent) -> dict[str, Any]:
    values = asdict(event)
    values["last_modified"] = event.last_modified.isoformat() if event.last_modified else None
    return values


def _usable(conversation: Conversation) -> Conversation:
    """The conversation if the app can use it: what the API takes today holds for it. Rows
    written before the limits of shared/limits.py may not (a year 9999 start in a zone behind
    UTC, a recurrence on a weekday that does not exist)."""
    start, end = conversation.start, conversation.end
    if not isinstance(start, datetime) or not isinstance(end, datetime):
        raise TypeError("start and end are not times")
    if not (within_time_range(start) and within_time_range(end) and start < end):
        raise ValueError(f"times out of range: {start} to {end}")
    iana_zone(conversation.time_zone)
    if conversation.recurrence is not None:
        check_stored_recurrence(conversation.recurrence)
    return conversation


def _conversation(org_id: str, p: Any) -> Conversation:
    outlook = None
    if p.get("Outlook"):
        raw = json.loads(p["Outlook"])
        modified = raw.get("last_modified")
        outlook = OutlookEvent(
            **{**raw, "last_modified": datetime.fromisoformat(modified) if modified else None}
        )
    location = json.loads(p["Location"])
    return Conversation(
        id=p["Id"],
        org_id=org_id,
        type=p["Type"],
        title=p["Title"],
        organiser_id=p["OrganiserId"],
        organiser_email=p.get("OrganiserEmail") or None,
        attendees=tuple(
            Participant(**{**a, "role": ParticipantRole(a["role"])})
            for a in json.loads(p["Attendees"])
        ),
        start=p["Start"],
        end=p["End"],
        time_zone=p["TimeZone"],
        location=Location(LocationKind(location["kind"]), location.get("text")),
        recurrence=json.loads(p["Recurrence"]) if p.get("Recurrence") else None,
        status=ConversationStatus(p["Status"]),
        sync_state=SyncState(p["SyncState"]),
        sync_error=p.get("SyncError") or None,
        outlook=outlook,
        notes_count=int(p.get("NotesCount", 0)),
        actions_count=int(p.get("ActionsCount", 0)),
        created_at=p.get("CreatedAt"),
        updated_at=p.get("UpdatedAt"),
        version=int(p.get("Version", 1)),
        push_due=p.get("PushDue") or PENDING_SINCE,
        exceptions=tuple(_exception(e) for e in json.loads(p["Exceptions"]))
        if p.get("Exceptions")
        else (),
        teams_unavailable=bool(p.get("TeamsUnavailable", False)),
        proposals=proposals.from_json(json.loads(p["Proposals"])) if p.get("Proposals") else (),
        outbox=outbox.from_json(p.get("PendingChanges") or ""),
    )


class EventIndex:
    """Outlook event id (immutable) -> the conversation it carries: how Outlook edits find us.

    eventindex: PartitionKey = event id, RowKey = "event"
    """

    def __init__(self, table: EntityStore) -> None:
        self._table = table

    def link(self, event_id: str, org_id: str, conversation_id: str) -> None:
        self._table.upsert(
            table_key(event_id), "event", {"OrgId": org_id, "ConversationId": conversation_id}
        )

    def find(self, event_id: str) -> tuple[str, str] | None:
        stored = self._table.get(table_key(event_id), "event")
        if stored is None:
            return None
        return str(stored.properties["OrgId"]), str(stored.properties["ConversationId"])

    def unlink(self, event_id: str) -> None:
        self._table.delete(table_key(event_id), "event")
