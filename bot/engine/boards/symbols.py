"""Which function an address of an AArch64 ELF file is in: the file's symbol table, read with binutils' nm.

The cross toolchain the emulated board needs (`gcc-aarch64-linux-gnu`)
brings `aarch64-linux-gnu-nm`, which reads AArch64 files and demangles C++
names (TFLite's kernels are C++); `llvm-nm` reads any architecture and is
taken when it is not there. A file without a full symbol table (Debian's
stripped python3.11) falls back to its dynamic symbols; a file without either
is one function named after the file. Tables are kept per file (path, size,
time), so a run reads each library once.
"""

from __future__ import annotations

import bisect
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

NM_TOOLS = ("aarch64-linux-gnu-nm", "llvm-nm", "nm")
#: nm's letters for code: text (local and global), weak, indirect.
FUNCTION_TYPES = set("tTwWi")


@dataclass(frozen=True)
class Symbol:
    start: int
    size: int
    name: str


@dataclass(frozen=True)
class Table:
    """The functions of one file, by start address."""

    symbols: tuple[Symbol, ...]

    def function_at(self, address: int) -> str | None:
        """The function an address is in: the nearest symbol at or below it, if the address is within its size."""
        starts = [s.start for s in self.symbols]
        i = bisect.bisect_right(starts, address) - 1
        while i >= 0:
            symbol = self.symbols[i]
            if symbol.size == 0 or address < symbol.start + symbol.size:
                return symbol.name
            if i == 0 or self.symbols[i - 1].start != symbol.start:
                return None
            i -= 1
        return None


def nm_tool() -> str | None:
    return next((shutil.which(t) for t in NM_TOOLS if shutil.which(t)), None)


def table(path: Path) -> Table:
    """The function symbols of an ELF file (empty when it has none, or cannot be read)."""
    try:
        st = os.stat(path)
    except OSError:
        return Table(())
    return _table(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=64)
def _table(path: str, size: int, mtime_ns: int) -> Table:
    tool = nm_tool()
    if tool is None:
        return Table(())
    for extra in ([], ["-D"]):
        try:
            out = subprocess.run(
                [tool, "--defined-only", "-S", "-C", *extra, path],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return Table(())
        symbols = parse_nm(out.stdout)
        if symbols:
            return Table(tuple(sorted(symbols, key=lambda s: (s.start, -s.size))))
    return Table(())


def parse_nm(text: str) -> list[Symbol]:
    """Function symbols from `nm -S -C` lines: `ADDRESS [SIZE] TYPE NAME` (a demangled name may have spaces)."""
    found = []
    for line in text.splitlines():
        parts = line.split(" ", 3)
        if len(parts) >= 4 and len(parts[2]) == 1 and _hex(parts[1]) is not None:
            address, size, kind, name = parts[0], parts[1], parts[2], parts[3]
        elif len(parts) >= 3 and len(parts[1]) == 1:
            address, size, kind, name = parts[0], "0", parts[1], " ".join(parts[2:])
        else:
            continue
        if kind in FUNCTION_TYPES and _hex(address) is not None:
            found.append(Symbol(int(address, 16), int(size, 16), name.split("@@")[0].split("@")[0]))
    return found


def _hex(text: str) -> int | None:
    try:
        return int(text, 16)
    except ValueError:
        return None


def short_name(name: str) -> str:
    """A demangled C++ name without its parameter list: `ns::f<T>(int, float) const` -> `ns::f<T>`."""
    text = name.removesuffix(" const")
    if not text.endswith(")"):
        return text
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            return text[:i] if i > 0 else text
    return text
