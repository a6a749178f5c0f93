import pytest

from shared.storage.keys import key_parts, table_key


def test_parts_holding_the_separator_never_make_the_same_key():
    assert table_key("o|x", "y") != table_key("o", "x|y")
    assert table_key("o%7Cx", "y") != table_key("o|x", "y")


@pytest.mark.parametrize(
    "parts",
    [("org", "user"), ("o|x", "y"), ("a/b", "c\\d#e?f"), ("50%", "%7C"), ("\x01\x85", "é✓")],
)
def test_the_parts_come_back_exactly(parts):
    assert key_parts(table_key(*parts)) == list(parts)


def test_plain_ids_are_kept_as_they_are():
    assert table_key("org-1", "u-42", "series") == "org-1|u-42|series"


def test_characters_azure_tables_forbids_never_reach_a_key():
    assert not set(table_key("a/b\\c#d?e\x00")) & set("/\\#?\x00")
