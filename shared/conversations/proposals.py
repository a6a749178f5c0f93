"""Attendees proposing a new time: what the organiser's Outlook event says, and what the organiser
does with it. Pure rules; the conversation service stores and pushes.

Graph (resources/attendee.md, event-tentativelyaccept.md, event-decline.md,
concepts/outlook-calendar-meeting-proposals.md): an attendee who answers tentatively or declines
may propose a new time when the event's `allowNewTimeProposals` is true; the organiser's event
then carries it as that attendee's `proposedNewTime` (a timeSlot; absent when none was proposed),
with `status.time` the moment they answered, which is what "proposed at" shows. A later answer
replaces or withdraws it; a new time set by the organiser ends them all (the organiser's event
no longer carries them). So the event is the truth: the open proposals are those it carries now,
less those the organiser dismissed here (Graph has no way to dismiss one).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from shared.conversations.model import Conversation, Proposal, ProposalsSeen
from shared.conversations.time_zones import parse_graph_date_time, parse_timestamp
from shared.errors import ConversationNotFound
from shared.limits import within_time_range

_NEVER = "0001-01-01"  # Graph's status.time of someone who has not answered


def proposal_id(email: str, start: datetime, end: datetime, proposed_at: datetime) -> str:
    """Stable for one proposal, whichever read of the event finds it."""
    text = "|".join((email.lower(), start.isoformat(), end.isoformat(), proposed_at.isoformat()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def seen_in(conversation: Conversation, event: dict[str, Any]) -> ProposalsSeen | None:
    """The proposals this state of the organiser's event carries, when they differ from the
    ones the conversation knows (a proposal the organiser dismissed stays dismissed)."""
    if "attendees" not in event:
        return None
    known = {p.id: p for p in conversation.proposals}
    found: list[Proposal] = []
    for entry in event["attendees"]:
        proposal = _proposal(conversation, entry, event)
        if proposal is None:
            continue
        before = known.get(proposal.id)
        found.append(replace(proposal, dismissed=before.dismissed) if before else proposal)
    if tuple(found) == conversation.proposals:
        return None
    new = tuple(p for p in found if p.id not in known)
    return ProposalsSeen(tuple(found), new)


def _proposal(
    conversation: Conversation, entry: dict[str, Any], event: dict[str, Any]
) -> Proposal | None:
    slot = entry.get("proposedNewTime")
    address = str((entry.get("emailAddress") or {}).get("address") or "")
    person = next((a for a in conversation.attendees if a.email.lower() == address.lower()), None)
    if not isinstance(slot, dict) or person is None:
        return None
    try:
        start, end = parse_graph_date_time(slot["start"]), parse_graph_date_time(slot["end"])
    except (KeyError, TypeError, ValueError):
        return None  # not a timeSlot: nothing anyone could accept
    if not (start < end and within_time_range(start) and within_time_range(end)):
        return None
    if (start, end) == (conversation.start, conversation.end):
        return None  # the meeting is at that time already
    status = entry.get("status") or {}
    answered = str(status.get("time") or "")
    when = answered if answered and not answered.startswith(_NEVER) else None
    # Graph gives when they answered; without it, when Outlook last changed the event.
    try:
        proposed_at = parse_timestamp(when or str(event.get("lastModifiedDateTime") or ""))
    except ValueError:
        return None
    return Proposal(
        id=proposal_id(person.email, start, end, proposed_at),
        email=person.email,
        name=person.name,
        user_id=person.user_id,
        start=start,
        end=end,
        response=str(status.get("response") or "none"),
        proposed_at=proposed_at,
    )


def open_proposals(conversation: Conversation) -> list[Proposal]:
    return [p for p in conversation.proposals if not p.dismissed]


def open_one(conversation: Conversation, proposal_id: str) -> Proposal:
    found = next((p for p in open_proposals(conversation) if p.id == proposal_id), None)
    if found is None:
        raise ConversationNotFound("No such open proposal in this conversation.")
    return found


def dismissed(conversation: Conversation, proposal_id: str) -> Conversation:
    chosen = open_one(conversation, proposal_id)
    kept = tuple(replace(p, dismissed=True) if p == chosen else p for p in conversation.proposals)
    return replace(conversation, proposals=kept)


# --- as the API shows them ----------------------------------------------------------------------


def proposal_view(p: Proposal) -> dict[str, Any]:
    return {
        "id": p.id,
        "email": p.email,
        "name": p.name,
        "userId": p.user_id,
        "start": p.start.isoformat(),
        "end": p.end.isoformat(),
        "response": p.response,
        "proposedAt": p.proposed_at.isoformat(),
    }


def time_proposed_entry(conversation: Conversation, p: Proposal) -> dict[str, Any]:
    """A change feed entry for the organiser: an attendee proposed a new time."""
    return {
        "kind": "time_proposed",
        "conversationId": conversation.id,
        "title": conversation.title,
        "proposal": proposal_view(p),
    }


def to_json(proposals: tuple[Proposal, ...]) -> list[dict[str, Any]]:
    return [proposal_view(p) | {"dismissed": p.dismissed} for p in proposals]


def from_json(values: list[dict[str, Any]]) -> tuple[Proposal, ...]:
    return tuple(
        Proposal(
            id=str(v["id"]),
            email=str(v["email"]),
            name=v.get("name"),
            user_id=v.get("userId"),
            start=datetime.fromisoformat(v["start"]),
            end=datetime.fromisoformat(v["end"]),
            response=str(v.get("response") or "none"),
            proposed_at=datetime.fromisoformat(v["proposedAt"]),
            dismissed=bool(v.get("dismissed")),
        )
        for v in values
    )
