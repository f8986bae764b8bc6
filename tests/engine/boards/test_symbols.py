"""Symbol tables of AArch64 files: parsed from nm's lines, and real ones read from a cross-compiled library."""

import subprocess
from pathlib import Path

import pytest

from bot.engine.boards import symbols
from tests.emulated_board import needs_tools

NM = """\
0000000000000874 0000000000000ac4 T __tvm_ffi_add
0000000000004048 0000000000002500 t add_compute_
0000000000000820 t __do_global_dtors_aux
000000000000bc4a 000000000001ceb7 R __tvm_ffi__library_bin
0000000000003000 0000000000000040 T tflite::ops::builtin::conv::Eval<(tflite::ops::builtin::conv::KernelType)2>(TfLiteContext*, TfLiteNode*)
0000000000002000 0000000000000010 W PyObject_Call@@Base
"""


def test_nm_lines_give_functions_only_with_their_sizes_and_full_names():
    found = {s.name: (s.start, s.size) for s in symbols.parse_nm(NM)}
    assert found == {
        "__tvm_ffi_add": (0x874, 0xAC4),
        "add_compute_": (0x4048, 0x2500),
        "__do_global_dtors_aux": (0x820, 0),
        "tflite::ops::builtin::conv::Eval<(tflite::ops::builtin::conv::KernelType)2>(TfLiteContext*, TfLiteNode*)": (
            0x3000,
            0x40,
        ),
        "PyObject_Call": (0x2000, 0x10),  # the symbol version is not part of the name
    }


@pytest.mark.parametrize(
    "name, short",
    [
        ("f(int, float)", "f"),
        ("ns::g<T>(std::vector<int, std::allocator<int> > const&) const", "ns::g<T>"),
        ("tflite::ops::builtin::conv::Eval<(tflite::ops::builtin::conv::KernelType)2>(TfLiteContext*)",
         "tflite::ops::builtin::conv::Eval<(tflite::ops::builtin::conv::KernelType)2>"),
        ("xnn_qu8_gemm_minmax_ukernel", "xnn_qu8_gemm_minmax_ukernel"),
        ("(anonymous namespace)::h()", "(anonymous namespace)::h"),
    ],
)  # fmt: skip
def test_a_cxx_name_loses_its_parameter_list_only(name, short):
    assert symbols.short_name(name) == short


def test_an_address_is_in_the_function_whose_size_covers_it():
    table = symbols.Table(tuple(sorted(symbols.parse_nm(NM), key=lambda s: s.start)))
    assert table.function_at(0x874) == "__tvm_ffi_add" and table.function_at(0x874 + 0xAC3) == "__tvm_ffi_add"
    assert table.function_at(0x874 + 0xAC4) is None  # past its end, before the next function
    assert table.function_at(0x830) == "__do_global_dtors_aux"  # no size: up to the next symbol
    assert table.function_at(0x10) is None


def test_a_file_that_is_not_there_has_no_functions(tmp_path):
    assert symbols.table(tmp_path / "gone.so").symbols == ()


def cross_library(folder: Path, source: str, name: str = "lib.so") -> Path:
    (folder / "lib.c").write_text(source)
    library = folder / name
    subprocess.run(["aarch64-linux-gnu-gcc", "-O1", "-shared", "-fPIC", "-o", library, folder / "lib.c"], check=True)
    return library


@needs_tools
def test_a_real_aarch64_library_is_read_with_its_local_functions(tmp_path):
    library = cross_library(
        tmp_path, "static int helper(int x) { return x * 3; }\nint exported(int x) { return helper(x) + 1; }\n"
    )
    table = symbols.table(library)
    names = {s.name: s for s in table.symbols}
    assert "exported" in names and names["exported"].size > 0
    assert table.function_at(names["exported"].start + 4) == "exported"
