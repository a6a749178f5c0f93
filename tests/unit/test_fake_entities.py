"""The fake entity table keeps EntityTable's contract: the same tests as against Azurite."""

import pytest

from tests.fakes import FakeEntityTable
from tests.integration.test_entities import (
    test_a_delete_guarded_by_a_stale_etag_is_refused,
    test_created_entities_are_read_back_by_their_keys,
    test_creating_the_same_keys_twice_is_refused,
    test_ranges_stay_inside_one_partition_in_key_order,
    test_replacing_a_deleted_entity_says_it_is_gone,
    test_the_second_of_two_writers_with_the_same_etag_loses,
)

__all__ = [
    "test_a_delete_guarded_by_a_stale_etag_is_refused",
    "test_created_entities_are_read_back_by_their_keys",
    "test_creating_the_same_keys_twice_is_refused",
    "test_ranges_stay_inside_one_partition_in_key_order",
    "test_replacing_a_deleted_entity_says_it_is_gone",
    "test_the_second_of_two_writers_with_the_same_etag_loses",
]


@pytest.fixture
def table() -> FakeEntityTable:
    return FakeEntityTable("fake")


def test_values_come_back_as_azure_tables_gives_them(table):
    from datetime import datetime, timedelta, timezone

    local = datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    table.create("p", "r", {"when": local, "gone": None, "blob": b"\x00"})
    stored = table.get("p", "r").properties
    assert stored == {"when": local, "blob": b"\x00"}
    assert stored["when"].utcoffset() == timedelta(0)
    with pytest.raises(TypeError):
        table.create("p", "s", {"list": [1]})
