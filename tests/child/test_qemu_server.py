"""The emulated board's server script, its pure parts with the host's Python: where a counted block belongs.

The script runs under qemu in the AArch64 user space and never imports perfbot, so it is loaded here by
path. The whole server is exercised for real in tests/engine/test_counting.py and
tests/engine/boards/test_emulated_server.py.
"""

import importlib.util
import sys

from bot.child import QEMU_SERVER_SCRIPT

spec = importlib.util.spec_from_file_location("qemu_server_under_test", QEMU_SERVER_SCRIPT)
server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(server)


def test_a_block_is_placed_at_its_files_own_address():
    """A shared object's load address is taken off (its symbols start at 0); an executable's is not."""
    maps = [
        (0x400000, 0x916000, "/root/usr/bin/python3.11", 0),  # ET_EXEC: not relocated
        (0x55009A0000, 0x5500B2C000, "/root/lib/libc.so.6", 0x55009A0000),
        (0x5519800000, 0x551980C000, "/tmp/rpc/model.so", 0x5519800000),
    ]
    lines = ["401000 3 10", "55009a0100 2 5", "5519800040 4 100", "5519800040 1 7", "7fff0000 1 1"]
    assert server.placed(lines, maps) == [
        ["/root/lib/libc.so.6", 0x100, 10],
        ["/root/usr/bin/python3.11", 0x401000, 30],
        ["/tmp/rpc/model.so", 0x40, 407],  # two translations of one block add up
        ["?", 0x7FFF0000, 1],
    ]


def test_this_processes_mappings_have_files_and_biases():
    found = server.mappings()
    executable = [m for m in found if m[2] == sys.executable or m[2].endswith("/python3.11")]
    assert found and all(start < end for start, end, _, _ in found)
    assert all(path.startswith("/") for _, _, path, _ in found)
    assert executable or any(".so" in path for _, _, path, _ in found)


def test_elf_types_are_read_from_the_header(tmp_path):
    exe = tmp_path / "exe"
    exe.write_bytes(b"\x7fELF" + bytes(12) + (2).to_bytes(2, "little"))
    dyn = tmp_path / "lib.so"
    dyn.write_bytes(b"\x7fELF" + bytes(12) + (3).to_bytes(2, "little"))
    text = tmp_path / "text"
    text.write_text("not an ELF file at all")
    assert (server.elf_type(str(exe)), server.elf_type(str(dyn)), server.elf_type(str(text))) == (2, 3, None)
    assert server.elf_type(str(tmp_path / "gone")) is None
