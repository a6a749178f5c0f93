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


def test_the_longest_keys_the_limits_allow_fit_azure_tables():
    from shared import limits

    worst_id = "%" * limits.MAX_HOST_ID  # every character escaped to three
    keys = [
        table_key(worst_id, worst_id, "series"),  # a user's recurring conversations
        table_key(worst_id, worst_id),  # change feed, idempotency, conversation index
        table_key("|" * limits.MAX_IDEMPOTENCY_KEY),
        table_key("/" * limits.MAX_ID),  # a conversation id (one of ours is a UUID)
        table_key("A" * limits.MAX_STATE),  # a sign-in state: base64url only
    ]
    assert [len(key) for key in keys if len(key) > limits.MAX_KEY_CHARS] == []
