"""What a run prints as it goes: the bar's failure lines."""

import pytest

from bot import vocabulary
from bot.console import BarProgress
from bot.engine.runner import ItemResult, configs
from bot.engine.suite.suites import get_suite


def item(status: str, error: str | None) -> ItemResult:
    return ItemResult(workload=get_suite("smoke").workloads[0], config=configs(False)[0], status=status, error=error)


def test_a_failure_prints_its_first_line_as_written_even_with_brackets(capsys):
    with BarProgress() as bar:
        bar.start(2, "smoke on local")
        bar.done(item("crash", "[red]killed[/] by SIGSEGV at [0x1f]\nFatal Python error: Segmentation fault"))
        bar.done(item("ok", None))
    printed = capsys.readouterr().err
    assert "crash qconv_147x147x32_64_3x3_s1_valid/uint8 NHWC/default: [red]killed[/] by SIGSEGV at [0x1f]" in printed
    assert "Fatal Python error" not in printed and printed.count("qconv_147x147") == 1


def test_latencies_keep_two_significant_digits_below_a_tenth_of_a_millisecond():
    from bot.console import ms

    assert [ms(v) for v in (None, 0.0, 0.0043, 0.083, 0.15, 12.345, 1234.5)] == [
        "-", "0.00", "0.0043", "0.083", "0.15", "12.35", "1,234.50"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "value, text",
    [(61_245_480, "61.25 M"), (1_017_877_319, "1.018 G"), (36_792_043_907, "36.79 G"), (5_387, "5.387 k"),
     (999, "999"), (None, "-")],
)  # fmt: skip
def test_instruction_counts_read_with_four_significant_digits(value, text):
    assert vocabulary.instructions(value) == text


@pytest.mark.parametrize("change, text", [(0.124, "+12.4%"), (0.00004, "+0.004%"), (-0.02, "-2.0%"), (0.0, "+0.0%")])
def test_a_change_below_a_tenth_of_a_percent_keeps_three_decimals(change, text):
    assert vocabulary.change_percent(change) == text
