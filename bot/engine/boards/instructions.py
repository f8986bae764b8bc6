"""One inference's instruction count on the emulated board, split by function, and the compiled module's size.

The board's server sends the plugin's counts per code block, each placed in
the file it was loaded from at the file's own address
(bot/child/qemu_server.py). Here each block gets its function's name from
the file's symbol table (bot/engine/boards/symbols.py) and a group:

- `kernel`: the compiled model, TVM's code for this item: one entry per
  PrimFunc (its packed-function wrapper `__tvm_ffi_NAME` and its body
  `NAME_compute_` together);
- `tvm runtime`: libtvm_runtime and libtvm_ffi (the Relax VM, allocation,
  packed calls);
- `tflite`: TFLite's interpreter and its kernels (XNNPACK, ruy), by their
  C++ names without parameter lists;
- `python` and `system`: the interpreter that made the call, and libc,
  libstdc++ and the dynamic loader.

Small entries are folded into one `(other)` per group, so that a result row
keeps every kernel and the functions that matter (`FOLD_BELOW`).

The compiled module's statistics come from the same symbol table of the
library perfbot linked: `kernels`, its PrimFuncs, and `code_bytes`, the
bytes of all its functions (machine code only; the weights and the VM's
bytecode are data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.engine.boards import symbols

KERNEL, RUNTIME, TFLITE, PYTHON, SYSTEM, UNMAPPED = "kernel", "tvm runtime", "tflite", "python", "system", "unmapped"
#: Functions below this share of the total are folded into their group's `(other)` (kernels never are).
FOLD_BELOW = 1e-4
OTHER = "(other)"
#: The compiled model's exported PrimFuncs are `__tvm_ffi_NAME`; these two are the library's own data.
_LIBRARY_DATA = ("__tvm_ffi__library_bin", "__tvm_ffi__library_ctx")


@dataclass(frozen=True)
class Count:
    """What one inference executed: the total, and per `group:function` (see the module docstring)."""

    total: int
    functions: dict[str, int] = field(default_factory=dict)

    def group_totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for key, n in self.functions.items():
            group = key.split(":", 1)[0]
            totals[group] = totals.get(group, 0) + n
        return totals


@dataclass(frozen=True)
class ModuleStats:
    """The compiled module as linked for the board: how many PrimFuncs it has and how many bytes of code."""

    kernels: int
    code_bytes: int


def attribute(raw: dict, library: str | Path | None = None, library_name: str = "model.so") -> Count:
    """A Count from the board's per-block counts; `library` is this host's copy of the uploaded model.

    The uploaded model's file lives in the board's session folder (gone when the session ended): any
    block in a file named `library_name` that is not on this host is placed in `library` instead.
    """
    functions: dict[str, int] = {}
    for path, address, n in raw.get("blocks", []):
        local = (
            Path(library) if library and Path(path).name == library_name and not Path(path).is_file() else Path(path)
        )
        if library and local == Path(library):
            key = f"{KERNEL}:{kernel_name(symbols.table(local).function_at(address))}"
        else:
            key = _key(local, symbols.table(local).function_at(address) if path != "?" else None)
        functions[key] = functions.get(key, 0) + int(n)
    return Count(int(raw["total"]), fold(functions, int(raw["total"])))


def kernel_name(symbol: str | None) -> str:
    """A PrimFunc's name from either of its two symbols: `__tvm_ffi_conv2d` and `conv2d_compute_` are `conv2d`."""
    if symbol is None:
        return "(unnamed)"
    return symbol.removeprefix("__tvm_ffi_").removesuffix("_compute_")


def group_of(path: Path) -> str:
    name = path.name
    if str(path) == "?":
        return UNMAPPED
    if name.startswith(("libtvm", "libtvm_ffi")):
        return RUNTIME
    if "litert" in name.lower() or name.startswith(("_pywrap_", "libLiteRt")):
        return TFLITE
    if name.startswith(("python", "libpython")) or ".cpython-" in name or name.startswith("libffi"):
        return PYTHON
    return SYSTEM


def _key(path: Path, symbol: str | None) -> str:
    group = group_of(path)
    if group == UNMAPPED:
        return f"{UNMAPPED}:{OTHER}"
    return f"{group}:{symbols.short_name(symbol) if symbol else path.name}"


def fold(functions: dict[str, int], total: int) -> dict[str, int]:
    """Every kernel, and other functions of at least FOLD_BELOW of the total; the rest as `group:(other)`."""
    kept: dict[str, int] = {}
    for key, n in sorted(functions.items(), key=lambda kv: -kv[1]):
        group = key.split(":", 1)[0]
        if group == KERNEL or n >= FOLD_BELOW * total:
            kept[key] = kept.get(key, 0) + n
        else:
            other = f"{group}:{OTHER}"
            kept[other] = kept.get(other, 0) + n
    return kept


def module_stats(library: str | Path) -> ModuleStats | None:
    """PrimFuncs and code bytes of a linked model library, or None when it has no symbols to tell."""
    table = symbols.table(Path(library))
    if not table.symbols:
        return None
    kernels = {
        s.name.removeprefix("__tvm_ffi_")
        for s in table.symbols
        if s.name.startswith("__tvm_ffi_") and s.name not in _LIBRARY_DATA
    }
    return ModuleStats(kernels=len(kernels), code_bytes=sum(s.size for s in table.symbols))
