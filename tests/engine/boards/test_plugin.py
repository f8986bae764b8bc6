"""The counting plugin: built from its source, refused in one line when it cannot work, and exact when it does.

The exactness test runs a static AArch64 program whose counted region is a
loop of known length under the real qemu-aarch64 (Debian's qemu-user): the
count must grow by exactly the loop's instructions, and be the same in
another environment.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.child import QEMU_SERVER_SCRIPT
from bot.engine.boards import plugin
from bot.errors import DeviceUnavailable
from tests.emulated_board import needs_tools

needs_cc = pytest.mark.skipif(
    not any(shutil.which(c) for c in plugin.COMPILERS), reason="no C compiler: apt-get install gcc"
)


def test_the_markers_are_the_same_in_the_plugin_the_guest_and_the_check():
    source = plugin.SOURCE.read_text()
    defined = {name: int(value, 0) for name, value in re.findall(r"#define (\w+) (0x[0-9a-fA-F]+|\d+)", source)}
    assert (defined["PERFBOT_MARKER"], defined["MARK_START"], defined["MARK_STOP"]) == (
        plugin.MARKER,
        plugin.MARK_START,
        plugin.MARK_STOP,
    )
    guest = QEMU_SERVER_SCRIPT.read_text()
    assert (
        f"MARKER, MARK_START, MARK_STOP = {plugin.MARKER:#X}, {plugin.MARK_START}, {plugin.MARK_STOP}".replace(
            "0X", "0x"
        )
        in guest
    )


@needs_cc
def test_the_plugin_is_built_once_per_source(tmp_path, monkeypatch):
    said = []
    first = plugin.ensure(tmp_path, said.append)
    assert first.is_file() and first.parent == plugin.folder(tmp_path) and len(said) == 1
    assert plugin.ensure(tmp_path, said.append) == first and len(said) == 1  # kept
    monkeypatch.setattr(plugin, "FLAGS", (*plugin.FLAGS, "-g"))
    assert plugin.ensure(tmp_path) != first  # other flags (or another source): another file
    assert sorted(p.suffix for p in plugin.folder(tmp_path).iterdir()) == [".so", ".so"]  # nothing half-built


def test_without_a_compiler_it_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DeviceUnavailable) as e:
        plugin.ensure(tmp_path)
    assert str(e.value) == (
        "qemu-aarch64: building the instruction-counting plugin needs a C compiler; "
        "install one with `apt-get install gcc`"
    )


def fake_qemu(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "qemu-aarch64"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


@pytest.mark.parametrize(
    "body, message",
    [
        (
            "echo 'qemu-aarch64: -plugin: invalid option' >&2; exit 1",
            "cannot load TCG plugins (built without them); install QEMU 4.2 or newer with plugin support, "
            "e.g. Debian's `apt-get install qemu-user`",
        ),
        ("echo 'Could not load plugin /x.so: undefined symbol' >&2; exit 1", "did not count with the plugin: Could"),
        ("exit 0", "did not count with the plugin: exit code 0, no count written"),
    ],
)
def test_a_qemu_that_cannot_count_is_one_line_naming_it(tmp_path, body, message):
    qemu = fake_qemu(tmp_path, body)
    library = tmp_path / "icount-x.so"
    library.write_bytes(b"stand-in")
    with pytest.raises(DeviceUnavailable) as e:
        plugin.check_loads(library, lambda arg, args: [str(qemu), "-plugin", arg, *args], dict(os.environ))
    text = str(e.value)
    assert "\n" not in text and text.startswith(f"qemu-aarch64: {qemu} ") and message in text
    assert not library.with_suffix(".checked").exists()


def test_a_plugin_path_with_a_comma_is_refused(tmp_path):
    with pytest.raises(DeviceUnavailable, match="comma"):
        plugin.argument(tmp_path / "a,b.so", tmp_path)


LOOP = r"""
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 0;
    syscall(0x7e57, 1, 0);
    __asm__ volatile("1: subs %0, %0, #1\n b.ne 1b" : "+r"(n) :: "cc");
    syscall(0x7e57, 2, 1);
    return 0;
}
"""


@needs_tools
def test_counts_are_exact_and_repeat_in_another_environment(tmp_path):
    """The counted loop runs 2 instructions per turn: 1000 more turns are exactly 2000 more instructions."""
    source = tmp_path / "loop.c"
    source.write_text("#include <stdlib.h>\n" + LOOP)
    program = tmp_path / "loop"
    subprocess.run(["aarch64-linux-gnu-gcc", "-O1", "-static", "-o", program, source], check=True)
    library = plugin.ensure(tmp_path)

    def count(turns: int, **env) -> int:
        out = tmp_path / f"out-{turns}-{len(env)}"
        out.mkdir()
        subprocess.run(
            ["qemu-aarch64", "-cpu", "cortex-a72", "-plugin", plugin.argument(library, out), program, str(turns)],
            env={**os.environ, **env},
            check=True,
            timeout=60,
        )
        (found,) = out.glob("count-*-1.txt")
        return plugin.read_total(found)

    base = count(1000)
    assert count(2000) - base == 2000
    assert count(1000, PADDING="x" * 5000, OTHER="y") == base  # another environment, another stack: same count
