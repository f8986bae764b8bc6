"""bot/child/tune.py's own pieces: the ledger of trials asked and what it takes from measure.py. The tuning
itself runs on the real TVM through `perfbot tune` (tests/cli/test_tuning.py)."""

import json
import runpy

import pytest

from bot.child import MEASURE_SCRIPT, TUNE_SCRIPT

TUNE = runpy.run_path(str(TUNE_SCRIPT), run_name="tune")


def test_what_tune_takes_from_measure_is_measure_s_own():
    measure = runpy.run_path(str(MEASURE_SCRIPT), run_name="measure")
    for name in TUNE["SHARED"]:
        assert (TUNE[name].__module__, TUNE[name].__qualname__) == ("measure", measure[name].__qualname__)


def test_a_name_measure_no_longer_has_stops_tune_at_load(tmp_path):
    """A rename in measure.py must fail where tune.py loads it, not as None halfway through a tuning."""
    (tmp_path / "measure.py").write_text(MEASURE_SCRIPT.read_text().replace("def records_of(", "def records_in("))
    (tmp_path / "tune.py").write_text(TUNE_SCRIPT.read_text())
    with pytest.raises(KeyError, match="records_of"):
        runpy.run_path(str(tmp_path / "tune.py"), run_name="tune")


def test_the_ledger_starts_empty_and_reads_back_what_was_written(tmp_path):
    assert TUNE["read_asked"](str(tmp_path)) == {}
    TUNE["write_asked"](str(tmp_path), {"0x1f": 64, "0x2e": 8})
    assert TUNE["read_asked"](str(tmp_path)) == {"0x1f": 64, "0x2e": 8}
    assert [p.name for p in tmp_path.iterdir()] == [TUNE["ASKED_FILE"]]


def test_a_ledger_write_stopped_before_its_rename_leaves_the_previous_ledger(tmp_path):
    TUNE["write_asked"](str(tmp_path), {"0x1f": 64})
    (tmp_path / (TUNE["ASKED_FILE"] + ".tmp")).write_text('{"0x1f": 64, "0x2')  # the stop: half a file
    assert TUNE["read_asked"](str(tmp_path)) == {"0x1f": 64}
    TUNE["write_asked"](str(tmp_path), {"0x1f": 64, "0x2e": 8})
    assert json.loads((tmp_path / TUNE["ASKED_FILE"]).read_text()) == {"0x1f": 64, "0x2e": 8}
