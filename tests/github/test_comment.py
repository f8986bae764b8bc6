"""The PR comment's markdown, compared with golden files in tests/expected_md/.

Set PERFBOT_UPDATE_GOLDEN=1 to rewrite the golden files from the current
output (then read the diff before committing it).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from bot.devices import Device, Rpc
from bot.github import comment
from bot.stats import Comparison
from bot.verdicts import DeviceReport, PrReport, Row

EXPECTED = Path(__file__).with_name("expected_md")
DASHBOARD = "https://perf.example.org/tvm"

RPI4 = Device(
    name="rpi4",
    description="Raspberry Pi 4, Cortex-A72",
    arch="aarch64",
    target={"kind": "llvm", "mtriple": "aarch64-linux-gnu"},
    rpc=Rpc("127.0.0.1", 9190, "rpi4"),
    threads=4,
    tflite_baseline=False,
)
JETSON = Device(
    name="jetson",
    description="Jetson Nano, Cortex-A57",
    arch="aarch64",
    target={"kind": "llvm", "mtriple": "aarch64-linux-gnu"},
    threads=4,
)
QEMU = Device(
    name="qemu-a72",
    description="Cortex-A72 under qemu-aarch64",
    arch="aarch64",
    target={"kind": "llvm", "mtriple": "aarch64-linux-gnu"},
    emulated=True,
)


def judged(verdict: str, change: float, rounds: int, width: float = 0.02) -> Comparison:
    """A timed verdict as bot.stats.judge_rounds gives it: the change, its interval, the rounds, a 2% margin."""
    final = verdict == "undecided"
    return Comparison(verdict, change, change - width, change + width, None, rounds, rounds, 0.02, "", final=final)


def row(
    workload,
    verdict="unchanged",
    *,
    base=10.0,
    pr=None,
    change=None,
    status="ok",
    base_status="ok",
    scheme="uint8",
    layout="NHWC",
    ratio=0.8,
    diff=0.0,
    mismatch=None,
    error=None,
    emulated=False,
    same_code=False,
    rounds=8,
    width=0.015,
) -> Row:
    change = change if change is not None else {"slower": 0.12, "faster": -0.09}.get(verdict, 0.004)
    pr = pr if pr is not None else (None if status not in ("ok", "wrong_result") else base * (1 + change))
    comparison = judged(verdict, change, rounds, width) if status == "ok" and base else None
    return Row(
        workload=workload,
        scheme=scheme,
        layout=layout,
        pipeline="default",
        status=status,
        base_status=base_status,
        base_ms=base,
        pr_ms=pr,
        ratio=ratio if pr else None,
        max_abs_diff=diff if status in ("ok", "wrong_result") else None,
        mismatch_fraction=mismatch,
        error=error,
        comparison=None if same_code else comparison,
        emulated=emulated,
        same_code=same_code,
        paired=True,
        confirmed=None,
    )


def golden(name: str, text: str) -> None:
    path = EXPECTED / name
    if os.environ.get("PERFBOT_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"{path} is missing: run with PERFBOT_UPDATE_GOLDEN=1 to write it"
    assert text == path.read_text()


def pr(devices, **fields) -> PrReport:
    return PrReport(
        repo="apache/tvm",
        number=17321,
        title="[Relax][ARM] NHWC conv2d schedule",
        head_sha="3f2a9c81d0e4b5a6c7d8e9f00112233445566778",
        base_ref="main",
        base_sha="a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
        devices=devices,
        **fields,
    )


def test_summary_and_tables_for_two_devices():
    rpi4 = DeviceReport(
        RPI4,
        tvm_version="0.27.0",
        rows=[
            row("qconv_147x147x32_64_3x3_s1_valid", "slower", base=212.4),
            row("qconv_147x147x32_64_3x3_s1_valid", "slower", base=198.0, scheme="int8", layout="NCHW"),
            row("qconv_17x17x128_128_1x7_s1_same", status="wrong_result", diff=37, mismatch=0.41, pr=8.8, base=8.7),
            *[
                row("qconv_35x35x192_64_1x1_s1_same", base=4.2 + i / 10, scheme=s, layout=lay)
                for i, (s, lay) in enumerate([(s, lay) for s in ("uint8", "int8") for lay in ("NHWC", "NCHW")])
            ],
            row("qconv_17x17x128_128_1x7_s1_same", base=8.7, scheme="int8"),
            row("qconv_17x17x128_128_1x7_s1_same", "undecided", base=9.1, layout="NCHW", change=0.14, width=0.4,
                rounds=24),
            row("qconv_17x17x128_128_1x7_s1_same", "undecided", base=9.0, scheme="int8", layout="NCHW", change=0.02,
                width=0.006, rounds=24),
        ],
    )  # fmt: skip
    jetson = DeviceReport(
        JETSON, tvm_version="0.27.0", pending=2, running=1, rows=[row(f"qconv_{i}", base=3.0 + i) for i in range(8)]
    )
    built = pr([rpi4, jetson])
    assert built.summary() == "2 slower, 1 wrong result, 2 undecided, 13 unchanged, on 2 devices; 3 jobs pending"
    assert (rpi4.state, jetson.state) == ("failure", "pending")
    assert comment.status_description(rpi4) == "2 slower, 1 wrong result, 2 undecided, 5 unchanged"
    noisy, at_margin = sorted((r for r in rpi4.rows if r.verdict == "undecided"), key=lambda r: r.scheme)[::-1]
    assert noisy.verdict_text == "noisy: -26%..+54% (±2%)" and noisy.rounds == 24
    assert at_margin.verdict_text == "at the margin: +1.4%..+2.6% (±2%)"
    assert comment.status_description(jetson) == "1 running, 2 queued"
    golden("two_devices.md", comment.comment(built, "perfbot", DASHBOARD))


def test_failures_show_their_last_lines_and_emulated_devices_are_not_judged():
    trace = (
        "Traceback (most recent call last):\n"
        + "".join(f'  File "tvm/relax/op_{i}.py", line {i}, in f{i}\n' for i in range(30))
        + '  File "tvm/topi/arm_cpu/conv2d_alter_op.py", line 120\n    assert kernel_layout == "HWIO"\nAssertionError'
    )
    rpi4 = DeviceReport(
        RPI4,
        tvm_version="0.27.0",
        rows=[
            row("qconv_147x147x32_64_3x3_s1_valid", status="compile_error", error=trace),
            row(
                "qconv_17x17x128_128_1x7_s1_same",
                status="crash",
                base_status="crash",
                error="worker died with SIGSEGV\n```\nnot a fence breaker\n```",
            ),
            row("qconv_35x35x192_64_1x1_s1_same", "faster", base=4.1),
            row("qconv_8x8x2048_320_1x1_s1_same", base=None, pr=1.5),
        ],
    )
    qemu = DeviceReport(
        QEMU,
        tvm_version="0.27.0",
        rows=[
            row("qconv_147x147x32_64_3x3_s1_valid", "slower", base=3100.0, change=0.4, emulated=True),
            row("qconv_35x35x192_64_1x1_s1_same", status="wrong_result", diff=128, mismatch=0.9, emulated=True),
        ],
    )
    broken = DeviceReport(JETSON, failed_jobs=["environment_error: pip:apache-tvm==0.99 has no such release"])
    built = pr([rpi4, qemu, broken])
    assert [r.verdict for r in qemu.rows] == ["emulated", "wrong_result"]
    assert (rpi4.state, qemu.state, broken.state) == ("failure", "failure", "error")
    text = comment.comment(built, "perfbot", DASHBOARD)
    assert "AssertionError" in text and "op_29.py" in text and "op_3.py" not in text
    golden("failures.md", text)


def test_a_fork_pr_waiting_for_approval_and_a_closed_pr():
    golden("fork_waiting.md", comment.comment(pr([], awaiting_approval=True), "perfbot", None))
    closed = pr([DeviceReport(RPI4, cancelled=["pull request closed"], rows=[row("qconv_a")])], closed=True)
    text = comment.comment(closed, "tvm-perf", DASHBOARD)
    assert text.startswith("<!-- tvm-perf:report -->\n") and "This pull request is closed" in text
    assert "Comment `@tvm-perf help` for commands" in text


@pytest.mark.parametrize("text, ticks", [("plain", 3), ("has ``` inside", 4), ("````` five", 6)])
def test_fences_are_longer_than_any_backticks_inside(text, ticks):
    fenced = comment.fence(text)
    assert fenced.startswith("`" * ticks + "\n") and fenced.endswith("\n" + "`" * ticks)
    assert not fenced.startswith("`" * (ticks + 1))


def test_a_huge_report_fits_in_a_github_comment():
    error = "x" * 1400
    rows = [row(f"qconv_{i}", status="compile_error", error=error + f"\nerror {i}") for i in range(400)]
    text = comment.comment(pr([DeviceReport(RPI4, rows=rows)]), "perfbot", DASHBOARD)
    assert len(text) <= 65536
    assert text.startswith("<!-- perfbot:report -->\n### perfbot: 400 compile errors, on 1 device")


def test_status_descriptions_fit_githubs_limit():
    long = DeviceReport(RPI4, failed_jobs=["environment_error: " + "very long " * 40])
    assert long.state == "error" and len(comment.status_description(long)) <= 140
    cancelled = DeviceReport(RPI4, cancelled=["cancelled by @alice"])
    assert (cancelled.state, comment.status_description(cancelled)) == ("error", "cancelled by @alice")


def full_suite_rows(device: int) -> list[Row]:
    """Every item of the `full` suite (44 conv configurations and Inception-v3, both schemes, both layouts)."""
    from bot.engine.suite.suites import get_suite

    rows = []
    for n, workload in enumerate(get_suite("full").workloads):
        for layout in ("NHWC", "NCHW"):
            kind = (n * 2 + (layout == "NCHW") + device) % 29
            base = 1.0 + (n % 17) * 3.7
            if kind == 0:
                rows.append(row(workload.name, "slower", base=base, scheme=workload.scheme, layout=layout))
            elif kind == 1:
                trace = "\n".join(f"  File 'tvm/relax/pass_{i}.py', line {i}" for i in range(40)) + "\nTVMError: x"
                rows.append(
                    row(workload.name, status="compile_error", error=trace, scheme=workload.scheme, layout=layout)
                )
            elif kind < 9:
                rows.append(row(workload.name, base=base, scheme=workload.scheme, layout=layout))
            else:
                rows.append(row(workload.name, base=base, scheme=workload.scheme, layout=layout, same_code=True))
    return rows


def test_the_full_suite_on_four_devices_fits_and_folds_what_needs_no_look():
    boards = [dataclasses.replace(RPI4, name=f"board{i}", description=f"Board {i}, Cortex-A72") for i in range(4)]
    built = pr([DeviceReport(board, tvm_version="0.27.0", rows=full_suite_rows(i)) for i, board in enumerate(boards)])
    assert all(len(d.rows) == 180 for d in built.devices)
    text = comment.comment(built, "perfbot", DASHBOARD)
    assert len(text) <= 65536
    assert "cut to fit" not in text and text.count("<details><summary>") == 8  # per device: folded rows, failures
    assert text.count("same code") > 400 and "**slower than +2%**" in text
    golden("full_four_devices.md", text)


def test_a_python_only_pr_that_changed_nothing_measured_is_same_code_everywhere():
    rows = [row(f"qconv_{i}", base=3.0 + i, same_code=True, layout=lay) for i in range(3) for lay in ("NHWC", "NCHW")]
    device = DeviceReport(RPI4, tvm_version="0.27.0", rows=rows)
    assert device.state == "success" and comment.status_description(device) == "6 same code"
    golden("same_code.md", comment.comment(pr([device]), "perfbot", DASHBOARD))


def test_a_build_error_shows_the_end_of_the_build_log():
    log = (
        "\n".join(f"[{i}/612] Building CXX object src/x{i}.cc.o" for i in range(30)) + "\nerror: 'Foo' was not declared"
    )
    rows = [row(f"qconv_{i}", status="build_error", base_status="ok", error=f"native build of 3f2a9c81d0 failed\n{log}")
            for i in range(2)]  # fmt: skip
    device = DeviceReport(RPI4, rows=rows)
    text = comment.comment(pr([device]), "perfbot", DASHBOARD)
    assert device.state == "failure" and "**new build error**" in text and "error: 'Foo' was not declared" in text
    golden("build_error.md", text)


def test_a_closed_pr_golden():
    closed = pr([DeviceReport(RPI4, cancelled=["pull request closed"], rows=[row("qconv_a")])], closed=True)
    golden("closed.md", comment.comment(closed, "perfbot", DASHBOARD))


def test_a_report_too_big_even_folded_is_cut_at_a_row_and_says_so():
    error = "x" * 1400
    rows = [row(f"qconv_{i:04d}_{'y' * 40}", status="compile_error", error=error) for i in range(900)]
    text = comment.comment(pr([DeviceReport(RPI4, rows=rows)]), "perfbot", DASHBOARD)
    assert len(text) <= 65536 and text.rstrip().endswith(
        "(cut to fit GitHub's comment size limit: the dashboard has every row)"
    )
    assert text.rstrip().splitlines()[-3].startswith("| `qconv_")  # cut between rows, never inside one
    golden("cut_to_fit.md", text)


def test_tvm_against_tflite_picks_the_best_configuration_per_workload():
    """The story's question, per device: default, tuned and TFLite, and which configuration TVM does best with."""
    story, pointwise = "qconv_147x147x32_64_3x3_s1_valid", "qconv_35x35x192_64_1x1_s1_same"
    rows = []
    for workload, tflite, timings in (
        (story, 2.9, {("NHWC", "default"): 270.0, ("NCHW", "default"): 266.0, ("NCHW", "tuned"): 12.0}),
        (pointwise, 0.1, {("NHWC", "default"): 9.1, ("NHWC", "tuned"): 0.08, ("NCHW", "tuned"): 0.09}),
    ):
        for (layout, pipeline), ms in timings.items():
            rows.append(dataclasses.replace(row(workload, layout=layout, base=ms, pr=ms, same_code=True),
                                            pipeline=pipeline, tflite_ms=tflite))  # fmt: skip
    untuned = dataclasses.replace(row(pointwise, layout="NCHW", base=0.01, pr=0.01), pipeline="tuned", untuned=True)
    report = PrReport("apache/tvm", 7, "t", "a" * 40, "main", "b" * 40, [DeviceReport(JETSON, rows=[*rows, untuned])])
    text = comment.comment(report, "perfbot", DASHBOARD)
    golden("against_tflite.md", text)
    assert "TVM against TFLite: TVM's best configuration beats TFLite on 1 of 2 workloads" in text
    assert f"| `{story}` | uint8 | 266.00 | 12.00 | 2.90 | NCHW/tuned | 4.14 |" in text
    assert f"| `{pointwise}` | uint8 | 9.10 | 0.08 | 0.10 | NHWC/tuned | 0.80 |" in text  # not the untuned 0.01
    emulated = PrReport("apache/tvm", 7, "t", "a" * 40, "main", "b" * 40, [DeviceReport(QEMU, rows=rows)])
    assert "TVM against TFLite" not in comment.comment(emulated, "perfbot", DASHBOARD)


COUNTING = Device(
    name="qemu-aarch64",
    description="Cortex-A72 emulated by qemu-aarch64 on this host, instruction counts not time",
    arch="aarch64",
    target={"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mcpu": "cortex-a72"},
    rpc=Rpc("127.0.0.1", 9190, "qemu-aarch64"),
    tflite_baseline=False,
    emulated=True,
    metric="instructions",
    bring_up="qemu-aarch64",
)


def test_a_counting_board_shows_counts_where_they_moved_and_never_time():
    """Rows judged from result rows as the runner records them (tests/results.counted), beside a timed board."""
    from bot.store import Store
    from bot.verdicts import judge
    from tests.results import counted

    seven = "qconv_17x17x128_128_1x7_s1_same"
    doubled = {"kernel:conv2d": 252_007_696, "kernel:quantize": 76_013, "system:libc.so.6": 23_361}
    before = {"kernel:conv2d": 126_003_848, "kernel:quantize": 76_013, "system:libc.so.6": 23_118}
    results = [
        counted(seven, 126_103_000, 252_107_070, functions=doubled, base_functions=before, layout="NHWC")
        | {"kernels": 7, "code_bytes": 43_908, "compile_s": 1.21, "base_compile_s": 0.98, "base_code_bytes": 41_412},
        counted(seven, 86_161_825, 86_161_825 + 2_100, layout="NCHW"),
        counted("qconv_35x35x192_64_1x1_s1_same", None, None, same_code=True, layout="NHWC"),
        counted("qconv_35x35x192_64_1x1_s1_same", None, None, same_code=True, layout="NCHW"),
        counted("qconv_147x147x32_64_3x3_s1_valid", 1_017_877_319, 967_000_000, layout="NHWC"),
    ]
    rows = judge(Store.memory(), COUNTING.name, [{"pipeline": "default", **r} for r in results], emulated=True)
    board = DeviceReport(
        COUNTING,
        tvm_version="0.27.0.post1",
        device_runtime="apache-tvm 0.27.0.post1",
        emulator="qemu-aarch64 7.2.22 -cpu cortex-a72, counting plugin icount-cdf7c9da1865.so",
        rows=rows,
    )
    rpi4 = DeviceReport(RPI4, tvm_version="0.27.0", rows=[row("qconv_35x35x192_64_1x1_s1_same", base=4.2)])
    built = pr([board, rpi4])
    assert (
        built.summary() == "1 with more instructions, 1 with fewer instructions, 2 unchanged, 2 same code, on 2 devices"
    )
    assert board.state == "failure" and comment.status_description(board) == (
        "1 with more instructions, 1 with fewer instructions, 1 unchanged, 2 same code"
    )
    text = comment.comment(built, "perfbot", DASHBOARD)
    counting_section = text.split("#### ")[1]
    assert " ms" not in counting_section and "instruction counts on emulated AArch64, not time" in counting_section
    golden("counting_board.md", text)


def test_the_comment_names_which_tvm_each_side_was_and_where_the_code_changed():
    slower = row("qconv_17x17x128_128_1x7_s1_same", "slower")
    slower.changed_functions = ["(VM program and constants)", "fused_conv2d_add", "fused_conv2d_add_compute"]
    same = row("qconv_35x35x192_64_1x1_s1_same", same_code=True)
    same.changed_functions = []
    device = DeviceReport(
        JETSON,
        tvm_version="0.26.0",
        device_runtime="apache-tvm 0.27.0.post1",
        built="TVM 0.26.0 built from 3f2a9c81d0 (native libraries: cmake)",
        base_built="TVM 0.26.0 built from a1b2c3d4e5 (native libraries: cmake)",
        rows=[slower, same],
    )
    text = comment.comment(pr([device]), "perfbot", DASHBOARD)
    assert "built and measured side by side" not in text  # said per device, by what each side was
    assert "PR side: TVM 0.26.0 built from 3f2a9c81d0 (native libraries: cmake); base side: TVM 0.26.0 built" in text
    assert "modules run by apache-tvm 0.27.0.post1" in text  # the board's runtime is another build
    assert "Where the code changed (1 item)" in text and "`fused_conv2d_add`, `fused_conv2d_add_compute`" in text
    golden("code_changed.md", text)


def test_the_same_code_on_another_runtime_is_not_called_a_code_change():
    """A runtime-only C++ PR: every item compiles to its base's code, and is measured because the runtimes differ."""
    slower = row("qconv_17x17x128_128_1x7_s1_same", "slower")
    slower.changed_functions, slower.runtime_only = [], True
    other = row("qconv_35x35x192_64_1x1_s1_same", "slower")
    other.changed_functions = ["fused_conv2d_add"]
    text = comment.comment(pr([DeviceReport(JETSON, rows=[slower, other])]), "perfbot", DASHBOARD)
    assert "1 item compiled to the same code on both sides, measured because the two sides' runtimes differ" in text
    assert "Where the code changed (1 item)" in text and "module globals" not in text
    assert slower.changed_text() == "none: another runtime" and other.changed_text() == "fused_conv2d_add"


def test_a_pr_run_of_a_build_perfbot_did_not_make_says_so():
    device = DeviceReport(JETSON, built="TVM 0.27.0.post1 from pip apache-tvm==0.27.0.post1: a release, not built "
                          "from a commit", rows=[row("qconv_a")])  # fmt: skip
    text = comment.comment(pr([device]), "perfbot", DASHBOARD)
    assert "a release, not built from a commit; no base build beside it." in text


def test_a_host_compiled_for_another_cpu_than_llvm_names_says_so_under_its_sides():
    """A virtual machine hiding AVX-512 from a Zen 4: the runner compiled for znver2 (bot/engine/boards/host.py),
    and the comment says so in the run's own words; a device compiled for LLVM's name says nothing."""
    local = Device(name="local", description="this machine", arch="x86_64", target="host")
    why = "LLVM names this CPU znver4, but it does not report all of znver4's features (archspec finds zen2)"
    fallback = DeviceReport(local, built="TVM 0.27.0", rows=[row("qconv_35x35x192_64_1x1_s1_same", "unchanged")],
                            cpu_fallback=f"{why}: compiled for znver2")  # fmt: skip
    text = comment.comment(pr([fallback]), "perfbot", DASHBOARD)
    assert f"\n{why}: compiled for znver2.\n" in text
    plain = dataclasses.replace(fallback, cpu_fallback=None)
    assert "compiled for" not in comment.comment(pr([plain]), "perfbot", DASHBOARD)
