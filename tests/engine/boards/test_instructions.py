"""A board's count split by function and group, and a linked module's kernels and code size.

The libraries here are compiled for AArch64 with the functions a TVM module
exports (`__tvm_ffi_NAME` and `NAME_compute_`); the counts are what the board
would send for them (bot/child/qemu_server.py).
"""

from pathlib import Path

from bot.engine.boards import instructions, symbols
from tests.emulated_board import needs_tools
from tests.engine.boards.test_symbols import cross_library

MODULE = """
int conv2d_compute_(int x) { int s = 0; for (int i = 0; i < x; i++) s += i * x; return s; }
int __tvm_ffi_conv2d(int x) { return conv2d_compute_(x) + 1; }
int quantize_compute_(int x) { return x / 3; }
int __tvm_ffi_quantize(int x) { return quantize_compute_(x) - 1; }
"""


def start_of(library: Path, name: str) -> int:
    return next(s.start for s in symbols.table(library).symbols if s.name == name)


@needs_tools
def test_kernels_are_named_by_primfunc_wrapper_and_body_together(tmp_path):
    library = cross_library(tmp_path, MODULE, "model.so")
    uploaded = "/tmp/rpc-session-gone/model.so"  # the board's copy: not on this host any more
    raw = {
        "total": 1_000_000,
        "blocks": [
            [uploaded, start_of(library, "conv2d_compute_"), 700_000],
            [uploaded, start_of(library, "__tvm_ffi_conv2d"), 100_000],
            [uploaded, start_of(library, "quantize_compute_"), 150],
            [str(library.with_name("libtvm_runtime.so")), 0x10, 40_000],
            ["/usr/lib/aarch64-linux-gnu/libc.so.6", 0x20, 159_000],
            ["?", 0x55, 850],
        ],
    }
    count = instructions.attribute(raw, library)
    assert count.total == 1_000_000
    assert count.functions == {
        "kernel:conv2d": 800_000,
        "kernel:quantize": 150,  # a kernel is never folded, however small
        "tvm runtime:libtvm_runtime.so": 40_000,  # a library with no symbols here: its file's name
        "system:libc.so.6": 159_000,
        "unmapped:(other)": 850,
    }
    assert count.group_totals() == {"kernel": 800_150, "tvm runtime": 40_000, "system": 159_000, "unmapped": 850}


@needs_tools
def test_module_statistics_count_primfuncs_and_code_bytes(tmp_path):
    library = cross_library(tmp_path, MODULE, "model.so")
    stats = instructions.module_stats(library)
    functions = [s for s in symbols.table(library).symbols if s.size]
    assert stats.kernels == 2 and stats.code_bytes == sum(s.size for s in functions) > 0


def test_small_functions_fold_into_their_group():
    functions = {"tflite:xnn_gemm": 9_000, "tflite:tiny": 1, "python:_PyEval": 900, "python:small": 3}
    assert instructions.fold(functions, total=10_000_000) == {
        "tflite:xnn_gemm": 9_000,
        "tflite:(other)": 1,
        "python:(other)": 903,
    }


def test_groups_follow_the_file_a_block_came_from():
    group = {name: instructions.group_of(Path(f"/x/{name}")) for name in (
        "libtvm_runtime.so", "libtvm_ffi.so", "libpywrap_litert_common.so", "python3.11",
        "_ctypes.cpython-311-aarch64-linux-gnu.so", "libc.so.6", "libstdc++.so.6.0.30")}  # fmt: skip
    assert group == {
        "libtvm_runtime.so": "tvm runtime",
        "libtvm_ffi.so": "tvm runtime",
        "libpywrap_litert_common.so": "tflite",
        "python3.11": "python",
        "_ctypes.cpython-311-aarch64-linux-gnu.so": "python",
        "libc.so.6": "system",
        "libstdc++.so.6.0.30": "system",
    }
