"""Pushes to Outlook as durable work: the outbox of the conversations' Graph writes.

Before Graph is called, a work item says that the conversation must reach Outlook; only once
Outlook has caught up and that is stored does the item go. If the process dies in between, or
storage fails after Graph answered, the maintenance timer finds the item and pushes again, and
the push is idempotent: a create carries a transactionId (Graph drops a second create with the
same one and answers the first event), a PATCH sends the whole schedule and location, and a
cancel of an event already gone (404) counts as done.

Items are due PUSH_GRACE after they are written, so the timer leaves a user's request the time
to push in line; one lane per organisation keeps pushes fair across organisations. A push that
cannot proceed until someone acts (the organisation switched Outlook off, the organiser
disconnected or must reconnect) is parked by organiser, and resumed when that changes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from shared.conversations.model import PENDING_SINCE, Conversation
from shared.schedule import WorkKind, WorkSchedule
from shared.storage.keys import table_key

# Longer than a request's own push takes (one Graph attempt, a token refresh), shorter than any
# user would wait for the timer to finish a push that died.
PUSH_GRACE = timedelta(minutes=2)
_KIND = WorkKind.PUSH_CONVERSATION


class PushOutbox:
    def __init__(self, schedule: WorkSchedule, clock: Callable[[], datetime]) -> None:
        self._schedule = schedule
        self._clock = clock

    def intend(self, conversation: Conversation) -> datetime:
        """Record that the conversation is about to be pushed: the timer's item, due once the
        grace is over. Returns its due time, which the conversation must remember."""
        due = not_before(self._clock(), PUSH_GRACE.total_seconds())
        self._add(conversation, due)
        return due

    def retry(self, conversation: Conversation, retry_after: float | None) -> datetime:
        """An item for a push that failed for now: due at once, or once Retry-After is over."""
        due = PENDING_SINCE if retry_after is None else not_before(self._clock(), retry_after)
        self._add(conversation, due)
        return due

    def forget(self, conversation: Conversation, due: datetime) -> None:
        """The item due at `due` is done (or was never the conversation's own)."""
        self.forget_key(conversation.org_id, conversation.id, due)

    def forget_key(self, org_id: str, conversation_id: str, due: datetime) -> None:
        self._schedule.remove(_KIND, due, table_key(org_id, conversation_id), lane=org_id)

    def park(self, conversation: Conversation) -> None:
        self._schedule.park(
            _KIND,
            _key(conversation),
            lane=conversation.org_id,
            holder=conversation.organiser_id,
            OrgId=conversation.org_id,
            ConversationId=conversation.id,
        )

    def unpark(self, conversation: Conversation) -> None:
        self._schedule.unpark(
            _KIND, _key(conversation), lane=conversation.org_id, holder=conversation.organiser_id
        )

    def resume_later(self, org_id: str, organiser_id: str | None) -> None:
        """Have the timer resume the parked pushes of an organiser, or of a whole organisation."""
        ids = {"OrgId": org_id} | ({"UserId": organiser_id} if organiser_id else {})
        key = table_key(org_id, organiser_id) if organiser_id else table_key(org_id)
        self._schedule.add(WorkKind.RESUME_PUSHES, self._clock(), key, **ids)

    def resume(self, org_id: str, organiser_id: str | None, limit: int) -> int:
        """Parked pushes of an organiser (or of the whole organisation) due again at once."""
        return self._schedule.resume(
            _KIND, PENDING_SINCE, lane=org_id, holder=organiser_id, limit=limit
        )

    def _add(self, conversation: Conversation, due: datetime) -> None:
        self._schedule.add(
            _KIND,
            due,
            _key(conversation),
            lane=conversation.org_id,
            OrgId=conversation.org_id,
            ConversationId=conversation.id,
        )


def _key(conversation: Conversation) -> str:
    return table_key(conversation.org_id, conversation.id)


def not_before(now: datetime, seconds: float) -> datetime:
    """now + seconds, rounded up to the whole second the schedule keys by."""
    moment = now.astimezone(UTC) + timedelta(seconds=max(0.0, seconds))
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)
