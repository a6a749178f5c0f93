"""The rules of attendees' proposed times (shared/conversations/proposals.py), without I/O."""

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.conversations import proposals
from shared.conversations.model import Conversation, OutlookEdit, Participant, with_edit
from shared.errors import ConversationNotFound

START = datetime(2026, 6, 1, 9, tzinfo=UTC)
END = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
ALEX = "alex.wilber@contoso.com"


def conversation() -> Conversation:
    return Conversation(
        id="c1", org_id="o", type="check_in", title="Check-in", organiser_id="u-manager",
        organiser_email="adele.vance@contoso.com",
        attendees=(Participant(ALEX, "Alex", "u-alex"),),
        start=START, end=END, time_zone="UTC",
    )  # fmt: skip


def event(*entries: dict) -> dict:
    return {"lastModifiedDateTime": "2026-05-20T08:00:00Z", "attendees": list(entries)}


def alex(
    start: str | None = "2026-06-02T10:00:00",
    end: str = "2026-06-02T10:30:00",
    response: str = "tentativelyAccepted",
) -> dict:
    entry: dict[str, Any] = {
        "emailAddress": {"address": ALEX.upper(), "name": "Alex"},
        "status": {"response": response, "time": "2026-05-20T07:59:00Z"},
    }
    if start is not None:
        entry["proposedNewTime"] = {
            "start": {"dateTime": start, "timeZone": "UTC"},
            "end": {"dateTime": end, "timeZone": "UTC"},
        }
    return entry


def applied(c: Conversation, e: dict) -> Conversation:
    seen = proposals.seen_in(c, e)
    return c if seen is None else with_edit(c, OutlookEdit((seen,)))


def test_a_proposal_is_seen_with_who_which_time_and_when_it_was_answered():
    seen = proposals.seen_in(conversation(), event(alex()))
    assert seen is not None
    (p,) = seen.new
    assert (p.email, p.user_id, p.response) == (ALEX, "u-alex", "tentativelyAccepted")
    assert p.start == datetime(2026, 6, 2, 10, tzinfo=UTC)
    assert p.proposed_at == datetime(2026, 5, 20, 7, 59, tzinfo=UTC)


def test_the_same_state_read_again_changes_nothing():
    c = applied(conversation(), event(alex()))
    assert proposals.seen_in(c, event(alex())) is None


def test_a_dismissed_proposal_stays_dismissed_and_a_withdrawn_one_goes():
    c = applied(conversation(), event(alex()))
    (p,) = proposals.open_proposals(c)
    c = proposals.dismissed(c, p.id)
    assert proposals.open_proposals(c) == []
    assert proposals.seen_in(c, event(alex())) is None, "not told again"
    withdrawn = applied(c, event(alex(start=None, response="accepted")))
    assert withdrawn.proposals == ()


def test_a_proposal_of_the_current_time_or_by_a_stranger_is_no_proposal():
    same = alex(start="2026-06-01T09:00:00", end="2026-06-01T09:30:00")
    stranger = {**alex(), "emailAddress": {"address": "someone@else.example"}}
    assert proposals.seen_in(conversation(), event(same, stranger)) is None


def test_an_unknown_or_dismissed_proposal_cannot_be_answered():
    c = applied(conversation(), event(alex()))
    with pytest.raises(ConversationNotFound):
        proposals.open_one(c, "nope")
    (p,) = c.proposals
    with pytest.raises(ConversationNotFound):
        proposals.open_one(replace(c, proposals=(replace(p, dismissed=True),)), p.id)


def test_proposals_survive_storage_as_json():
    c = applied(conversation(), event(alex()))
    assert proposals.from_json(proposals.to_json(c.proposals)) == c.proposals
