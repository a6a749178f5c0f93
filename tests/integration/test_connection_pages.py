"""Connections of one organisation read page by page (the timer resuming a switched-on org)."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.connections.model import Connection, MicrosoftAccount
from shared.connections.repository import ConnectionRepository
from shared.storage.account import StorageAccount
from shared.storage.entities import EntityTable

pytestmark = pytest.mark.integration


@pytest.fixture
def repository(storage: StorageAccount) -> ConnectionRepository:
    name = "c" + uuid.uuid4().hex[:12]
    storage.table_service().create_table(name)
    return ConnectionRepository(EntityTable(storage.table(name)))


def connection(org_id: str, user_id: str) -> Connection:
    now = datetime.now(UTC)
    account = MicrosoftAccount(user_id, "tenant", f"{user_id}.tenant", f"{user_id}@x.test", user_id)
    return Connection(org_id, user_id, account, now, now + timedelta(days=270))


def test_pages_cover_every_connection_of_the_organisation_once_and_no_other(repository):
    users = ["a", "a b", "a/b", "a%2F", "b#1", "b", "c?", "zed"]  # keys that need escaping too
    for user in users:
        repository.put(connection("org-1", user), None, None)
    repository.put(connection("org-2", "other"), None, None)

    seen: list[str] = []
    cursor = ""
    pages = 0
    while cursor is not None:
        page, cursor = repository.page_of_organisation("org-1", cursor, 3)
        seen += [c.user_id for c in page]
        pages += 1

    assert sorted(seen) == sorted(users)
    assert pages == 3
    assert all(c.org_id == "org-1" for c in repository.page_of_organisation("org-1", "", 10)[0])
