"""`GET /me/calendarView/delta` (and `/users/{id}/...`): incremental sync of a calendar view.

A round starts with `startDateTime` and `endDateTime` (initial sync: every event in the window)
or with a `$deltatoken` (only what changed since the previous round). The round's answer is
fixed when it starts and paged with `Prefer: odata.maxpagesize=N`: `@odata.nextLink` carries a
`$skiptoken`, the last page an `@odata.deltaLink` with a `$deltatoken`. Both tokens are opaque
(signed base64url JSON); a delta token holds the window and the change-feed sequence number the
round started at, so the next round replays every change after it (a replay is possible, a loss
is not).

What a round lists, as Graph does (sources at each rule below):
- single events in the window, whole; a series as its master, whole, when the master's own
  start and end (the first occurrence's) overlap the window, and each occurrence and exception
  in the window in the reduced shape `{@odata.type, @odata.etag, id, type, seriesMasterId,
  start, end}`;
- in later rounds, every changed event again, and for a changed series its master and all its
  occurrences and exceptions in the window;
- under `@removed` with reason `deleted` (`{"@odata.type", "id", "@removed"}`): events deleted,
  and events outside the window that were added, updated or deleted, or moved out of it. A
  series master outside the window is such an event, whatever its occurrences do. `@removed`
  therefore means "not in this view", not "deleted in Outlook".
- nothing for an occurrence that no longer exists (cancelled, or the series moved): the series
  is listed again without it.

Tokens stop working (410 Gone, `SyncStateNotFound`, a `Location` to start over) when the control
API invalidates them, after a reset, or when the round a skip token belongs to is forgotten.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from werkzeug.wrappers import Response

from devtools.graph_emulator import prefer
from devtools.graph_emulator.change_feed import event_span, feed_of
from devtools.graph_emulator.directory import DirectoryUser
from devtools.graph_emulator.errors import GraphError
from devtools.graph_emulator.event_views import answer_zone
from devtools.graph_emulator.graph_api import GraphRequest, GraphRoutes
from devtools.graph_emulator.graph_calendar import CALENDAR_READ
from devtools.graph_emulator.persistence import PersistedFields
from devtools.graph_emulator.state import EmulatorState
from devtools.graph_emulator.subscriptions import parse_instant
from devtools.graph_emulator.time_zones import in_zone, instant

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
_ROUNDS_KEPT = 1_000


@dataclass(frozen=True)
class Round:
    mailbox: str
    start: str  # the window as the client wrote it
    end: str
    position: int  # change-feed sequence number the round started at
    generation: int
    items: tuple[dict[str, Any], ...]


class DeltaTokens(PersistedFields):
    """Token signing, the rounds being paged, and per-mailbox generations (for invalidation)."""

    persisted = ("_secret", "_generations", "_rounds")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._secret = secrets.token_bytes(32)
            self._generations: dict[str, int] = {}
            self._rounds: OrderedDict[str, Round] = OrderedDict()

    def generation(self, mailbox: str) -> int:
        with self._lock:
            return self._generations.get(mailbox, 0)

    def invalidate(self, mailbox: str | None = None) -> list[str]:
        """Every token issued so far (for one mailbox, or all) answers 410 from now on."""
        with self._lock:
            known = {r.mailbox for r in self._rounds.values()} | set(self._generations)
            targets = [mailbox] if mailbox else sorted(known)
            for target in targets:
                self._generations[target] = self._generations.get(target, 0) + 1
            if mailbox is None:
                self._secret = secrets.token_bytes(32)  # tokens of unseen mailboxes too
            return targets

    def save(self, round_: Round) -> str:
        round_id = uuid.uuid4().hex
        with self._lock:
            self._rounds[round_id] = round_
            while len(self._rounds) > _ROUNDS_KEPT:
                self._rounds.popitem(last=False)
        return round_id

    def round(self, round_id: str) -> Round | None:
        with self._lock:
            return self._rounds.get(round_id)

    def encode(self, payload: dict[str, Any]) -> str:
        raw = json.dumps(payload, separators=(",", ":")).encode()
        data = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        with self._lock:
            mac = hmac.new(self._secret, data.encode(), hashlib.sha256).digest()[:12]
        return data + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def decode(self, token: str) -> tuple[dict[str, Any] | None, bool]:
        """(payload, signed_here): an unreadable token gives (None, False)."""
        data, _, mac = token.partition(".")
        try:
            raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
            payload = json.loads(raw)
            given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
        except ValueError:
            return None, False
        if not isinstance(payload, dict):
            return None, False
        with self._lock:
            expected = hmac.new(self._secret, data.encode(), hashlib.sha256).digest()[:12]
        return payload, hmac.compare_digest(expected, given)


def tokens_of(state: EmulatorState) -> DeltaTokens:
    existing = getattr(state, "delta_tokens", None)
    if existing is None:
        existing = DeltaTokens()
        state.delta_tokens = existing  # type: ignore[attr-defined]
        state.register_store(existing)
    return existing


def register(routes: GraphRoutes, state: EmulatorState) -> None:
    tokens_of(state)
    feed_of(state)
    routes.add_for_user(
        "/calendarView/delta",
        calendar_view_delta,
        ["GET"],
        self_scopes=CALENDAR_READ,
        mailbox=True,
    )


def _page_size(request: GraphRequest) -> tuple[int, bool]:
    asked = request.prefer.get("odata.maxpagesize")
    if asked is None:
        return DEFAULT_PAGE_SIZE, False
    try:
        size = int(asked)
    except ValueError:
        return DEFAULT_PAGE_SIZE, False
    return (min(size, MAX_PAGE_SIZE), True) if size > 0 else (DEFAULT_PAGE_SIZE, False)


def _window(text: str | None, name: str) -> datetime:
    if not text:
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters "
            "StartDateTime and EndDateTime.",
        )
    try:
        return parse_instant(text)
    except ValueError:
        raise GraphError(
            400, "ErrorInvalidParameter", f"The value '{text}' of parameter '{name}' is invalid."
        ) from None


def _gone(request: GraphRequest, start: str | None, end: str | None, detail: str) -> GraphError:
    base = f"{request.graph_base_url}{request.http.path[len('/v1.0') :]}"
    restart = (
        f"{base}?startDateTime={quote(start, safe='')}&endDateTime={quote(end, safe='')}"
        "&$deltatoken="
        if start and end
        else f"{base}?$deltatoken="
    )
    return GraphError(
        410,
        "SyncStateNotFound",
        f"The sync state generation is not found; {detail}.",
        {"Location": restart},
    )


def _bad_token(kind: str) -> GraphError:
    return GraphError(400, "ErrorInvalidUrlQuery", f"The {kind} in the request is not valid.")


def _overlaps(event: dict[str, Any], start: datetime, end: datetime) -> bool:
    first, last = event_span(event)
    return first < end and last > start


def _shown(event: dict[str, Any], zone_name: str) -> dict[str, Any]:
    """A single event or series master, whole (event-delta: "the same properties you'd
    normally get from a GET /calendarView request")."""
    shown = {k: v for k, v in event.items() if k != "transactionId" or v}
    return {
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": f'W/"{event.get("changeKey", "")}"',
        **shown,
        "start": in_zone(instant(event["start"]), zone_name),
        "end": in_zone(instant(event["end"]), zone_name),
    }


def _reduced(occurrence: dict[str, Any], zone_name: str) -> dict[str, Any]:
    """An occurrence or exception as calendarView delta lists it: only these properties; the
    rest is the series master's, or the instance's read by id (microsoft-graph-docs #7632 and
    microsoft-graph-docs-contrib #34, which quote such an item)."""
    return {
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": f'W/"{occurrence.get("changeKey", "")}"',
        "id": occurrence["id"],
        "seriesMasterId": occurrence["seriesMasterId"],
        "type": occurrence["type"],
        "start": in_zone(instant(occurrence["start"]), zone_name),
        "end": in_zone(instant(occurrence["end"]), zone_name),
    }


def _removed(event_id: str) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.event",
        "id": event_id,
        "@removed": {"reason": "deleted"},
    }


def calendar_view_delta(request: GraphRequest, target: DirectoryUser) -> Response:
    args = request.http.args
    tokens = tokens_of(request.state)
    skip_token, delta_token = args.get("$skiptoken"), args.get("$deltatoken")
    if skip_token:
        round_, offset = _continue(request, target, tokens, skip_token)
    else:
        round_, offset = _start(request, target, tokens, delta_token), 0
    size, asked = _page_size(request)
    page = list(round_.items[offset : offset + size])
    base = f"{request.graph_base_url}{request.http.path[len('/v1.0') :]}"
    answer: dict[str, Any] = {
        "@odata.context": f"{request.graph_base_url}/$metadata#Collection(event)"
    }
    if offset + size < len(round_.items):
        round_id = _round_id(request, round_, tokens)
        token = tokens.encode(
            {"m": round_.mailbox, "g": round_.generation, "r": round_id, "o": offset + size}
        )
        answer["@odata.nextLink"] = f"{base}?$skiptoken={token}"
    else:
        token = tokens.encode(
            {
                "m": round_.mailbox,
                "g": round_.generation,
                "p": round_.position,
                "s": round_.start,
                "e": round_.end,
            }
        )
        answer["@odata.deltaLink"] = f"{base}?$deltatoken={token}"
    answer["value"] = page
    applied = ["odata.track-changes"] + ([f"odata.maxpagesize={size}"] if asked else [])
    others = request.prefer.applied(prefer.IMMUTABLE_ID, prefer.OUTLOOK_TIMEZONE)
    if others:
        applied.append(others["Preference-Applied"])
    return request.respond(answer, headers={"Preference-Applied": ", ".join(applied)})


def _round_id(request: GraphRequest, round_: Round, tokens: DeltaTokens) -> str:
    """The id a round is saved under (saved once, on its first page)."""
    known = request.http.environ.get("emulator.delta_round")
    if known:
        return str(known)
    round_id = tokens.save(round_)
    request.http.environ["emulator.delta_round"] = round_id
    return round_id


def _continue(
    request: GraphRequest, target: DirectoryUser, tokens: DeltaTokens, token: str
) -> tuple[Round, int]:
    payload, signed = tokens.decode(token)
    if payload is None or "r" not in payload:
        raise _bad_token("$skiptoken")
    if payload.get("m") != target.object_id:
        raise _bad_token("$skiptoken")
    round_ = tokens.round(str(payload["r"])) if signed else None
    if round_ is None or round_.generation != tokens.generation(target.object_id):
        raise _gone(
            request,
            round_.start if round_ else None,
            round_.end if round_ else None,
            f"generation={payload.get('g')}",
        )
    request.http.environ["emulator.delta_round"] = str(payload["r"])
    return round_, max(0, int(payload.get("o", 0)))


def _start(
    request: GraphRequest, target: DirectoryUser, tokens: DeltaTokens, delta_token: str | None
) -> Round:
    feed = feed_of(request.state)
    generation = tokens.generation(target.object_id)
    if delta_token:
        payload, signed = tokens.decode(delta_token)
        if payload is None or "p" not in payload or payload.get("m") != target.object_id:
            raise _bad_token("$deltatoken")
        start_text, end_text = str(payload.get("s", "")), str(payload.get("e", ""))
        highest = feed.position()
        since = int(payload["p"])
        if not signed or payload.get("g") != generation or since > highest:
            raise _gone(
                request,
                start_text,
                end_text,
                f"generation={payload.get('g')};[highest={generation}]",
            )
    else:
        start_text, end_text = (
            request.http.args.get("startDateTime"),
            request.http.args.get("endDateTime"),
        )
        since = None
    start = _window(start_text, "startDateTime")
    end = _window(end_text, "endDateTime")
    position = feed.position()  # before reading: a change racing this round is replayed later
    window = _View(feed, target, start, end, answer_zone(request))
    if since is None:
        items = tuple(window.everything())
    else:
        changed = dict.fromkeys(c.event_id for c in feed.changes(target.object_id, since))
        items = tuple(item for event_id in changed for item in window.changed(event_id))
    return Round(target.object_id, str(start_text), str(end_text), position, generation, items)


@dataclass(frozen=True)
class _View:
    """One mailbox's calendar view [start, end) as a delta round lists it."""

    feed: Any
    owner: DirectoryUser
    start: datetime
    end: datetime
    zone_name: str

    def everything(self) -> list[dict[str, Any]]:
        """The initial round: single events, and each series as its master (when the master
        itself is in the window) followed by its occurrences and exceptions in the window."""
        found: list[dict[str, Any]] = []
        listed: set[str] = set()
        for event in self.feed.instances(self.owner, self.start, self.end):
            master_id = event.get("seriesMasterId")
            if not master_id:
                found.append(_shown(event, self.zone_name))
                continue
            if master_id not in listed:
                listed.add(master_id)
                master = self.feed.event(self.owner, master_id)
                if master is not None and _overlaps(master, self.start, self.end):
                    found.append(_shown(master, self.zone_name))
            found.append(_reduced(event, self.zone_name))
        return found

    def changed(self, event_id: str) -> list[dict[str, Any]]:
        """A later round's items for one changed item (the feed names series by their master).

        Events outside the window that were added, updated or deleted come under `@removed`
        with reason `deleted` (event-delta: "Events that are outside the date range and that
        have been added, deleted, or updated"; microsoft-graph-docs #6599 and #10687 show
        creates and edits outside the range answered so), and so do events moved out of it. A
        deleted series is its master's `@removed` only, and an occurrence that is gone
        (cancelled, or the series moved) gets nothing: the series is listed again without it
        (microsoft-graph-docs #4501, "No indication is given for a deleted occurrence"; a 2026
        report of a series moved in Outlook leaving its old occurrences behind in clients that
        waited for one, AvengeMedia/dankcalendar #95).
        """
        event = self.feed.event(self.owner, event_id)
        if event is None:
            return [_removed(event_id)]
        found = [
            _shown(event, self.zone_name)
            if _overlaps(event, self.start, self.end)
            else _removed(event_id)
        ]
        if event.get("type") == "seriesMaster":
            found.extend(
                _reduced(e, self.zone_name)
                for e in self.feed.instances(self.owner, self.start, self.end)
                if e.get("seriesMasterId") == event_id
            )
        return found
