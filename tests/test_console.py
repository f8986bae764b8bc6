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


def rendered(renderable) -> str:
    from rich.console import Console

    out = Console(width=250, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    out.print(renderable)
    return out.export_text()


def test_a_breakdown_whose_convs_exceed_the_network_says_by_how_much_never_a_negative_rest():
    from bot.breakdown import breakdown
    from bot.console import breakdown_table

    rows = [{"workload": w, "scheme": "uint8", "layout": "NHWC", "pipeline": "default", "status": "ok",
             "median_ms": ms, "tflite_median_ms": tflite} for w, ms, tflite in
            (("inception_v3", 11_800.0, 90.0), ("qconv_a", 3_000.0, 20.0), ("qconv_b", 2_942.0, 10.0))]  # fmt: skip
    text = rendered(breakdown_table(breakdown("inception_v3", "uint8", {"qconv_a": 3, "qconv_b": 1}, rows), "t"))
    assert "the rest" not in text and "-142" not in text and "-1.2%" not in text
    assert "the convs' sum over the whole" in text and "+142.00" in text and "+1.2%" in text
    assert "sum to 101.2% of the network's end-to-end time" in " ".join(text.split())  # the caption says why


def test_a_counted_run_prints_its_best_and_its_breakdown_in_instructions():
    from bot.breakdown import breakdown
    from bot.console import as_rows, best_table, breakdown_table
    from bot.engine.boards.instructions import Count
    from bot.engine.suite.workloads import Workload

    def counted(name: str, layout: str, n: int, functions=None) -> ItemResult:
        workload = Workload(name=name, scheme="uint8")
        config = next(c for c in configs(False) if c.layout == layout)
        return ItemResult(workload=workload, config=config, status="ok", instructions=Count(n, functions or {}),
                          tflite_instructions=Count(n * 2))  # fmt: skip

    network = {"kernel:fused_conv2d_add_quantize": 600_000_000, "kernel:fused_max_pool2d": 300_000_000,
               "system:libc.so.6": 100_000_000}  # fmt: skip
    rows = as_rows([counted("inception_v3", "NHWC", 1_000_000_000, network), counted("inception_v3", "NCHW", 1_100_000_000),
                    counted("qconv_a", "NHWC", 150_000_000), counted("qconv_b", "NHWC", 100_000_000)])  # fmt: skip
    best = rendered(best_table(rows, "best"))
    assert "default instructions" in best and "1.000 G" in best and "ms" not in best
    bd = breakdown("inception_v3", "uint8", {"qconv_a": 3, "qconv_b": 1}, rows)
    text = rendered(breakdown_table(bd, f"where Inception-v3 uint8's {bd.goes}"))
    assert "where Inception-v3 uint8's instructions go" in text and "count x TVM instructions" in text
    assert "450.0 M" in text and "45.0%" in text and "the rest: pools, concatenations, classifier" in text
    assert "by kernel kind" in text and "conv2d kernels" in text and "60.0%" in text and "30.0%" in text


def test_in_a_file_or_a_pipe_progress_is_a_line_per_item_counted_as_the_table_counts_them(capsys):
    from bot.console import LineProgress, progress

    assert isinstance(progress(), LineProgress)  # pytest's stderr is not a terminal
    with LineProgress() as lines:
        lines.start(2, "smoke on local")
        lines.done(item("ok", None))
        lines.done(item("crash", "killed by SIGSEGV\nmore"))
    printed = capsys.readouterr().err.splitlines()
    assert printed == [
        "smoke on local: 2 items",
        "1/2 qconv_147x147x32_64_3x3_s1_valid/uint8 NHWC/default ok",
        "2/2 qconv_147x147x32_64_3x3_s1_valid/uint8 NHWC/default crash: killed by SIGSEGV",
    ]


def test_a_pr_runs_verdict_table_says_what_the_comment_says_with_rounds_and_the_rerun():
    """What `perfbot run --base-env` ends with: bot/verdicts.py's rows of the recorded run, as a table."""
    from rich.console import Console

    from bot import devices, verdicts
    from bot.console import device_notes, verdict_table
    from bot.store import Store
    from tests.results import paired, rounds_of

    store = Store.memory()
    run = store.start_run(suite="smoke", device="local", kind="pr", pr=7, sha="f" * 40, base_sha="b" * 40, paired=1,
                          env="source:/src/tvm@" + "f" * 40, build_how="cmake", tvm_version="0.27.0",
                          base_env="source:/src/tvm@" + "b" * 40, base_build_how="cmake", base_tvm_version="0.27.0",
                          device_runtime="apache-tvm 0.27.0.post1")  # fmt: skip
    for result in (
        paired("qconv_slow", rounds_of(10.0, 0.3), changed_functions=["fused_conv2d"], layout="NHWC",
               pipeline="default"),
        paired("qconv_slow", rounds_of(10.0, 0.3, seed=1), attempt=2, layout="NHWC", pipeline="default"),
        paired("qconv_same", same_code=True, layout="NHWC", pipeline="default", changed_functions=[]),
    ):  # fmt: skip
        store.add_result(run, **result)
    report = verdicts.of_run(store, devices.load(None), run)
    device = report.devices[0]
    out = Console(width=200, record=True)
    out.print(verdict_table(device, "smoke on local"))
    text = out.export_text()
    slow = next(line for line in text.splitlines() if "qconv_slow" in line)
    cells = [c.strip() for c in slow.split("│")[1:-1]]
    assert cells[3] == "slower" and cells[6].startswith("+29.7% [") and cells[7] == "10" and cells[8] == "confirmed"
    assert cells[10] == "fused_conv2d"
    assert "same code" in text and verdicts.counts_text(device.counts) == "1 slower, 1 same code"
    assert device_notes(device) == [
        f"PR side: TVM 0.27.0 built from {'f' * 10} (native libraries: cmake); "
        f"base side: TVM 0.27.0 built from {'b' * 10} (native libraries: cmake)",
        "On local the modules ran on apache-tvm 0.27.0.post1, not on the compiling TVM's own runtime (0.27.0)",
    ]
