"""Pending pushes and Graph's Retry-After: answered at once, tried again no earlier than asked.

The real service, repository and schedule on Azurite; Graph answers from a script, so that the
clock and each Retry-After are exact.
"""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from shared.caller import Caller
from shared.conversations.model import PENDING_SINCE, SyncState
from shared.conversations.repository import ConversationRepository, EventIndex, RecordRepository
from shared.conversations.requests import parse_new_conversation
from shared.conversations.service import ConversationService
from shared.graph.client import GraphClient
from shared.storage.account import StorageAccount
from shared.storage.entities import EntityTable
from shared.sync.schedule import PUSH_CONVERSATION, WorkSchedule

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 2, 8, 0, 0, 250_000, tzinfo=UTC)
CALLER = Caller(user_id="u-manager", org_id="org", email="manager@contoso.com")
BODY = {
    "type": "check_in",
    "title": "Weekly check-in",
    "attendees": [{"email": "alex@contoso.com"}],
    "start": "2026-12-07T09:00:00",
    "end": "2026-12-07T09:30:00",
    "timeZone": "Europe/London",
}
EVENT = {"id": "event-1", "iCalUId": "ical-1", "webLink": "https://outlook.test/event-1"}


class Graph:
    """A session answering each request with the next scripted (status, body, Retry-After)."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, Any], int | None]] = []
        self.calls: list[str] = []

    def answer(
        self, status: int, body: dict[str, Any] | None = None, retry_after: int | None = None
    ):
        self.script.append((status, body or {"error": {"code": "TooManyRequests"}}, retry_after))

    def request(self, method: str, url: str, **_: Any) -> requests.Response:
        self.calls.append(f"{method} {url.rsplit('/v1.0/', 1)[1]}")
        status, body, retry_after = self.script.pop(0)
        response = requests.Response()
        response.status_code = status
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        response._content = json.dumps(body).encode()
        return response


class Connections:
    def syncs_for(self, org_id: str, user_id: str) -> bool:
        return True

    def access_token(self, org_id: str, user_id: str) -> str:
        return "token"

    def token_renewal(self, org_id: str, user_id: str) -> Callable[[], str]:
        return lambda: "renewed token"


class World:
    def __init__(self, storage: StorageAccount) -> None:
        def table() -> EntityTable:
            name = "p" + uuid.uuid4().hex[:12]
            storage.table_service().create_table(name)
            return EntityTable(storage.table(name))

        self.now = NOW
        self.graph = Graph()
        self.slept: list[float] = []
        self.schedule_table = table()
        self.schedule = WorkSchedule(self.schedule_table)
        self.service = ConversationService(
            repository=ConversationRepository(table(), table(), table()),
            records=RecordRepository(table()),
            events=EventIndex(table()),
            schedule=self.schedule,
            connections=Connections(),
            graph=lambda token, renew_token=None: GraphClient(
                "https://graph.test/v1.0",
                token,
                renew_token=renew_token,
                session=self.graph,
                sleep=self.slept.append,
            ),
            app_link=lambda conversation_id: f"https://app.test/conversations/{conversation_id}",
            clock=lambda: self.now,
        )

    def push_items(self) -> list[datetime]:
        return [
            item.due
            for item in self.schedule.due(PUSH_CONVERSATION, self.now + timedelta(days=1), 100)
        ]

    def timer(self) -> None:
        """What the maintenance timer does with the push items due now."""
        for item in self.schedule.due(PUSH_CONVERSATION, self.now, 100):
            self.service.push_pending(
                item.properties["OrgId"], item.properties["ConversationId"], item.due
            )

    def state(self, conversation_id: str) -> SyncState:
        stored = self.service.repository.get("org", conversation_id)
        assert stored is not None
        return stored.conversation.sync_state


@pytest.fixture
def world(storage: StorageAccount) -> World:
    return World(storage)


def create(world: World) -> dict[str, Any]:
    view, created = world.service.create(CALLER, parse_new_conversation(BODY), None)
    assert created
    return view


def test_a_throttled_create_makes_one_attempt_and_is_due_once_retry_after_is_over(world):
    world.graph.answer(429, retry_after=5)

    view = create(world)

    assert view["sync"]["state"] == "pending"
    assert (world.graph.calls, world.slept) == (["POST me/events"], [])
    assert world.push_items() == [datetime(2026, 11, 2, 8, 0, 6, tzinfo=UTC)]  # 08:00:05.25 up


def test_the_timer_leaves_it_alone_until_then_and_pushes_it_after(world):
    world.graph.answer(429, retry_after=5)
    conversation_id = create(world)["id"]

    world.timer()
    assert world.graph.calls == ["POST me/events"]

    world.now = NOW + timedelta(seconds=6)
    world.graph.answer(201, EVENT)
    world.timer()

    assert world.graph.calls == ["POST me/events", "POST me/events"]
    assert world.state(conversation_id) is SyncState.SYNCED
    assert world.push_items() == []


def test_throttled_again_the_timer_moves_the_item_to_the_new_retry_after(world):
    world.graph.answer(429, retry_after=5)
    conversation_id = create(world)["id"]
    world.now = NOW + timedelta(seconds=6)
    world.graph.answer(429, retry_after=60)  # beyond the client's budget: no sleep

    world.timer()

    assert world.state(conversation_id) is SyncState.PENDING
    assert world.push_items() == [datetime(2026, 11, 2, 8, 1, 7, tzinfo=UTC)]  # 08:01:06.25 up
    assert world.slept == []


def test_without_retry_after_the_push_is_due_at_once(world):
    world.graph.answer(503, {"error": {"code": "ServiceUnavailable"}})

    create(world)

    assert world.push_items() == [PENDING_SINCE]
    assert world.slept == []


def test_removing_a_throttled_conversation_takes_its_item_with_it(world):
    world.graph.answer(429, retry_after=300)
    conversation_id = create(world)["id"]
    stored = world.service.repository.get("org", conversation_id)
    assert stored is not None

    world.service.remove(stored.conversation)  # e.g. deleted in Outlook meanwhile

    assert world.push_items() == []
