"""Where a network's time or instructions go, and TVM's best against TFLite, from result rows as the store has them."""

from __future__ import annotations

import pytest

from bot.breakdown import (
    OTHER_KERNELS,
    OUTSIDE_KERNELS,
    best_configs,
    breakdown,
    kernel_kinds,
    kind_of,
    metric_of,
)
from tests.results import ok

PARTS = {"qconv_a": 3, "qconv_b": 1}


def timed(workload, median, tflite, layout="NHWC", pipeline="default", **extra) -> dict:
    return ok(workload, [median], tflite=tflite, layout=layout, pipeline=pipeline, **extra)


def counted(workload, n, tflite, layout="NHWC", pipeline="default", **extra) -> dict:
    """A counting board's row: instructions, no times (the board is never timed)."""
    return {"workload": workload, "scheme": "uint8", "layout": layout, "pipeline": pipeline, "status": "ok",
            "median_ms": None, "instructions": n, "tflite_instructions": tflite, **extra}  # fmt: skip


def test_the_rest_is_the_whole_minus_the_convs():
    rows = [timed("inception_v3", 100.0, 20.0), timed("qconv_a", 10.0, 2.0), timed("qconv_a", 8.0, 2.0, "NCHW"),
            timed("qconv_b", 20.0, 4.0)]  # fmt: skip
    bd = breakdown("inception_v3", "uint8", PARTS, rows)
    assert bd.metric == "time" and bd.whole == 100.0 and bd.convs == 3 * 8.0 + 20.0
    assert [p.workload for p in bd.parts] == ["qconv_a", "qconv_b"]  # largest share first
    assert not bd.rest.over and bd.rest.amount == pytest.approx(56.0) and bd.rest.share == pytest.approx(0.56)
    assert bd.rest_tflite.amount == pytest.approx(10.0) and bd.notes == []


def test_convs_that_sum_to_more_than_the_network_give_no_negative_rest():
    """Inception-v3 on this project's machine: the standalone convs summed to 101.2% of the network."""
    rows = [timed("inception_v3", 11_800.0, 90.0), timed("qconv_a", 3_000.0, 20.0), timed("qconv_b", 2_942.0, 10.0)]
    bd = breakdown("inception_v3", "uint8", PARTS, rows)
    assert bd.convs == pytest.approx(11_942.0)
    assert bd.rest.over and bd.rest.amount == pytest.approx(142.0) and bd.rest.share == pytest.approx(0.012, abs=1e-4)
    assert not bd.rest_tflite.over  # TFLite's convs fit in its network
    assert bd.notes == [
        "TVM's convs, each measured alone, sum to 101.2% of the network's end-to-end time (142.00 ms more than "
        "the whole): each pays alone for what it shares inside the network, so there is no rest to show."
    ]


def test_a_counting_boards_rows_break_down_in_instructions_with_the_networks_own_kernel_kinds():
    functions = {"kernel:fused_conv2d3_add3_quantize3_tir_clip3_dequantize": 700, "kernel:fused_max_pool2d_dequantize": 100,
                 "kernel:dequantize": 100, "tvm runtime:(other)": 100}  # fmt: skip
    rows = [counted("inception_v3", 1000, 800, functions=functions), counted("inception_v3", 1200, 800, "NCHW"),
            counted("qconv_a", 100, 90), counted("qconv_b", 300, 250, pipeline="tuned")]  # fmt: skip
    assert metric_of(rows) == "instructions"
    bd = breakdown("inception_v3", "uint8", PARTS, rows)
    assert bd.metric == "instructions" and bd.whole == 1000 and bd.whole_tflite == 800
    assert {p.workload: (p.default, p.tuned, p.total) for p in bd.parts} == {
        "qconv_a": (100, None, 300),
        "qconv_b": (None, 300, 300),
    }
    assert bd.rest.amount == 400 and bd.goes == "instructions go"
    assert [(k.kind.split(" ")[0], k.functions, k.instructions, k.share) for k in bd.kinds] == [
        ("conv2d", 1, 700, 0.7),
        ("other", 1, 100, 0.1),
        ("outside", 1, 100, 0.1),
        ("pools", 1, 100, 0.1),
    ]


def test_a_timed_breakdown_has_no_kernel_kinds_and_a_named_metric_wins():
    rows = [timed("inception_v3", 100.0, 20.0, instructions=5, functions={"kernel:conv2d": 5})]
    assert breakdown("inception_v3", "uint8", PARTS, rows, "time").kinds == []
    assert breakdown("inception_v3", "uint8", PARTS, rows, "instructions").whole == 5


@pytest.mark.parametrize(
    "function, kind",
    [
        ("kernel:fused_conv2d10_add8_quantize10_tir_clip8_dequantize", "conv2d kernels"),
        ("kernel:fused_avg_pool2d3_cast7_dequantize", "pools"),
        ("kernel:max_pool2d", "pools"),
        ("kernel:fused_concatenate5_concatenate5_quantize74_dequantize246", "concatenations"),
        ("kernel:fused_matmul_add18_quantize85_dequantize", "classifier"),
        ("kernel:fused_softmax_quantize", "classifier"),
        ("kernel:transpose2", "layout transforms"),
        ("kernel:cast", OTHER_KERNELS),
        ("system:libc.so.6", OUTSIDE_KERNELS),
        ("python:(other)", OUTSIDE_KERNELS),
    ],
)
def test_a_kernels_kind_is_read_from_its_primfunc_name(function, kind):
    """Names as TVM 0.27's default pipeline gives Inception-v3's 133 PrimFuncs."""
    assert kind_of(function).startswith(kind)


def test_no_functions_no_kinds():
    assert kernel_kinds({}) == []


def test_best_configs_pick_the_fastest_or_the_fewest_instructions():
    times = [timed("w", 4.0, 2.0), timed("w", 3.0, 2.0, "NCHW"), timed("w", 1.0, 2.0, "NCHW", "tuned", untuned_tasks=2)]
    [best] = best_configs(times)
    assert (best.default, best.tuned, best.best_config, best.best, best.ratio) == (3.0, None, "NCHW/default", 3.0, 1.5)
    counts = [counted("w", 900, 1000), counted("w", 1100, 1000, "NCHW"), counted("w", 800, 1000, "NCHW", "tuned")]
    [best] = best_configs(counts)
    assert (best.metric, best.default, best.tuned, best.best_config, best.ratio) == (
        "instructions",
        900,
        800,
        "NCHW/tuned",
        0.8,
    )
