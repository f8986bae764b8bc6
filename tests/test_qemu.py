"""The emulated device says what is missing, in one line, before anything is recorded."""

import os
import shutil

import pytest

from bot import qemu
from bot.errors import DeviceUnavailable


def test_missing_qemu_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DeviceUnavailable, match="qemu-aarch64-static not found on PATH; install it with "
                                                "`apt-get install qemu-user-static`"):
        qemu.check_ready(tmp_path)


def test_missing_cross_compiler_names_the_package(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "qemu-aarch64-static").write_text("#!/bin/sh\n")
    (fake / "qemu-aarch64-static").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    with pytest.raises(DeviceUnavailable, match="apt-get install gcc-aarch64-linux-gnu"):
        qemu.check_ready(tmp_path)


@pytest.mark.skipif(not (shutil.which("qemu-aarch64-static") and shutil.which("aarch64-linux-gnu-gcc")),
                    reason="qemu-user-static and gcc-aarch64-linux-gnu are not installed")
def test_without_a_user_space_it_says_which_command_prepares_one(tmp_path):
    with pytest.raises(DeviceUnavailable, match="perfbot device setup qemu-aarch64") as e:
        qemu.check_ready(tmp_path)
    assert "\n" not in str(e.value)
