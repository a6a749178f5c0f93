"""Outlook-looking identifiers: item ids, occurrence ids, iCalUIds, change keys, Teams links.

Item ids look like Graph's immutable ids (long base64url strings). An occurrence id carries its
series master's id and start, so an occurrence can be read back without being stored. iCalUIds
follow Exchange's Global Object Id layout: the same for every copy of a meeting, with the
occurrence's date filled in for occurrences (each occurrence has its own iCalUId).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from datetime import UTC, date, datetime
from urllib.parse import quote

from devtools.graph_emulator.tokens import b64url

_ITEM = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0A"
_OCCURRENCE = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0B"
_GOID_CLASS = "040000008200E00074C5B7101A82E008"
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_ID_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def new_item_id(owner_id: str) -> str:
    digest = hashlib.sha256(f"{owner_id}/{uuid.uuid4()}".encode()).digest()
    return _ITEM + b64url(digest + uuid.uuid4().bytes) + "AAA="


def occurrence_id(master_id: str, start: datetime) -> str:
    moment = start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return _OCCURRENCE + b64url(f"{master_id}/{moment}".encode())


def parse_occurrence_id(event_id: str) -> tuple[str, datetime] | None:
    """(master id, occurrence start) for an occurrence id, None for anything else."""
    if not event_id.startswith(_OCCURRENCE):
        return None
    encoded = event_id[len(_OCCURRENCE) :]
    try:
        text = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        master_id, _, moment = text.rpartition("/")
        start = datetime.strptime(moment, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return (master_id, start) if master_id else None


def well_formed(event_id: str) -> bool:
    """Whether Exchange could read this as an id at all (else `ErrorInvalidIdMalformed`)."""
    return bool(event_id) and set(event_id) <= _ID_CHARACTERS


def new_ical_uid(created: datetime) -> str:
    ticks = int((created - _FILETIME_EPOCH).total_seconds() * 10_000_000)
    stamp = ticks.to_bytes(8, "little").hex().upper()
    return f"{_GOID_CLASS}00000000{stamp}000000000000000010000000{uuid.uuid4().hex.upper()}"


def occurrence_ical_uid(master_ical_uid: str, local_date: date) -> str:
    """The master's Global Object Id with the occurrence's (local) date in its instance bytes."""
    instance = f"{local_date.year:04X}{local_date.month:02X}{local_date.day:02X}"
    prefix = len(_GOID_CLASS)
    return master_ical_uid[:prefix] + instance + master_ical_uid[prefix + 8 :]


def change_key(event_id: str, moment: datetime) -> str:
    digest = hashlib.sha256(f"{event_id}/{moment.isoformat()}/{uuid.uuid4()}".encode()).digest()
    return base64.b64encode(digest[:22]).decode()


def web_link(event_id: str) -> str:
    return (
        f"https://outlook.office365.com/owa/?itemid={quote(event_id, safe='')}"
        "&exvsurl=1&path=/calendar/item"
    )


def teams_join_url(tenant_id: str, organiser_id: str) -> str:
    meeting = b64url(uuid.uuid4().bytes + uuid.uuid4().bytes)
    context = quote(f'{{"Tid":"{tenant_id}","Oid":"{organiser_id}"}}', safe="")
    return (
        f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{meeting}%40thread.v2/0"
        f"?context={context}"
    )
