"""The local stack's movable clock: moves, the shared file, and the command line."""

import time

import pytest

from devtools import clock
from devtools.clock import ClockFile, parse_move


@pytest.mark.parametrize(
    ("move", "seconds"),
    [("+8d", 8 * 86400), ("-1h", -3600), ("+1d12h", 129600), ("+30m", 1800), ("+2w", 1209600),
     ("+90s", 90), ("+1.5h", 5400)],
)  # fmt: skip
def test_moves_are_read_in_seconds(move, seconds):
    assert parse_move(move) == seconds


@pytest.mark.parametrize("move", ["8d", "+", "+8", "+8y", "tomorrow", "+8d extra", "--1h"])
def test_anything_else_is_refused_with_the_accepted_forms(move):
    with pytest.raises(ValueError, match=r"\+8d, -1h"):
        parse_move(move)


def test_a_missing_file_is_real_time(tmp_path):
    shared = ClockFile(tmp_path / "clock.json")

    assert shared.offset_seconds() == 0
    assert abs(shared.now() - time.time()) < 5


def test_a_move_written_by_one_process_is_seen_by_another_reader_at_once(tmp_path):
    reader, writer = ClockFile(tmp_path / "clock.json"), ClockFile(tmp_path / "clock.json")
    assert reader.offset_seconds() == 0

    writer.set_offset(8 * 86400)
    assert reader.offset_seconds() == 8 * 86400
    writer.set_offset(3600)
    assert reader.offset_seconds() == 3600


def test_the_clock_never_goes_back_before_real_time(tmp_path):
    with pytest.raises(ValueError, match="before real time"):
        ClockFile(tmp_path / "clock.json").set_offset(-1)


def test_the_command_moves_shows_and_resets(tmp_path, capsys):
    state = ["--state-dir", str(tmp_path)]
    shared = ClockFile(tmp_path / clock.FILE_NAME)

    assert clock.main([*state, "+8d"]) == 0
    assert shared.offset_seconds() == 8 * 86400
    assert clock.main([*state, "-1h"]) == 0
    assert shared.offset_seconds() == 8 * 86400 - 3600
    assert clock.main([*state, "-9d"]) == 2, "never before real time"
    assert shared.offset_seconds() == 8 * 86400 - 3600
    assert clock.main([*state, "show"]) == 0
    assert "real time + 7 days, 23:00:00" in capsys.readouterr().out
    assert clock.main([*state, "reset"]) == 0
    assert shared.offset_seconds() == 0
    assert clock.main([*state, "next week"]) == 2
