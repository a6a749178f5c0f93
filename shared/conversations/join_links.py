"""Teams links that Graph's create or PATCH answer lacked, fetched later as durable work.

Graph can answer a Teams event before its online meeting is provisioned: `onlineMeeting` is null
or has no `joinUrl`, and a later read of the event has it (Graph facts: onlineMeetingInfo; the
event resource). The push then leaves a timer item that reads the event again, with backoff, a
bounded number of times: the link found is stored and told on the change feed; none after the
last try, and the conversation says it has no Teams link (`teams_unavailable`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from shared.schedule import WorkKind, WorkSchedule
from shared.storage.keys import table_key

# When each read is due, from the push that lacked the link: the next timer run, then backing
# off; about five hours in all, then it is given up on.
BACKOFF = (
    timedelta(0),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
)
_KIND = WorkKind.FETCH_JOIN_URL


class JoinLinkFetches:
    def __init__(self, schedule: WorkSchedule, clock: Callable[[], datetime]) -> None:
        self._schedule = schedule
        self._clock = clock

    def fetch_later(self, org_id: str, conversation_id: str, attempt: int = 0) -> bool:
        """Have the timer read the event for its link (the `attempt`th read); False once the
        reads are used up."""
        if attempt >= len(BACKOFF):
            return False
        self._schedule.add(
            _KIND,
            self._clock() + BACKOFF[attempt],
            table_key(org_id, conversation_id),
            OrgId=org_id,
            ConversationId=conversation_id,
            Attempt=attempt,
        )
        return True
