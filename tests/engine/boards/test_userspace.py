"""The emulated board's user space: one-line readiness messages, an idempotent setup, and its parts.

The user space itself is made once per machine for the slow tests (tests/emulated_board.py and tests/conftest.py,
`qemu_cache`); the test at the end runs AArch64 Python in it under qemu.
"""

import json
import os
import subprocess
import zipfile
from pathlib import Path

import pytest

from bot.engine.boards import userspace
from bot.errors import DeviceUnavailable
from tests.emulated_board import needs_tools


def fake_bin(tmp_path: Path, *tools: str, crti: str = "/usr/aarch64-linux-gnu/lib/crti.o") -> Path:
    """A PATH with stand-ins: the cross compiler answers -print-file-name=crti.o with `crti`."""
    folder = tmp_path / "bin"
    folder.mkdir(exist_ok=True)
    for tool in tools:
        body = f"echo {crti}" if tool == userspace.CROSS_COMPILER else "exit 0"
        (folder / tool).write_text(f"#!/bin/sh\n{body}\n")
        (folder / tool).chmod(0o755)
    return folder


def one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text and text.startswith("qemu-aarch64: ")
    return text


# ------------------------------------------------------------------------------------------ check_ready


def test_missing_qemu_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(fake_bin(tmp_path)))
    with pytest.raises(DeviceUnavailable) as e:
        userspace.check_ready(tmp_path)
    assert one_line(e) == ("qemu-aarch64: qemu-aarch64 not found on PATH; install it with `apt-get install qemu-user`")


def test_missing_cross_compiler_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(fake_bin(tmp_path, userspace.QEMU)))
    with pytest.raises(DeviceUnavailable) as e:
        userspace.check_ready(tmp_path)
    assert one_line(e) == (
        "qemu-aarch64: aarch64-linux-gnu-gcc not found on PATH; install it with `apt-get install gcc-aarch64-linux-gnu`"
    )


def test_a_cross_compiler_without_the_c_library_names_that_package(tmp_path, monkeypatch):
    """gcc-aarch64-linux-gnu installed without recommends compiles but cannot link: no crti.o."""
    monkeypatch.setenv("PATH", str(fake_bin(tmp_path, userspace.QEMU, userspace.CROSS_COMPILER, crti="crti.o")))
    with pytest.raises(DeviceUnavailable) as e:
        userspace.check_ready(tmp_path)
    assert "install it with `apt-get install libc6-dev-arm64-cross`" in one_line(e)


def test_without_a_user_space_it_says_which_command_prepares_one(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(fake_bin(tmp_path, userspace.QEMU, userspace.CROSS_COMPILER)))
    with pytest.raises(DeviceUnavailable) as e:
        userspace.check_ready(tmp_path / "empty-cache")
    assert one_line(e).endswith("prepare it with `perfbot device setup qemu-aarch64`")


def test_a_user_space_made_for_another_tvm_asks_for_a_refresh(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(fake_bin(tmp_path, userspace.QEMU, userspace.CROSS_COMPILER)))
    root = userspace.folder(tmp_path)
    make_user_space(root)
    old = userspace.wanted() | {"wheels": {**userspace.WHEELS, "apache-tvm": "0.25.0"}}
    (root / userspace.MARKER).write_text(json.dumps({"wanted": old}))
    with pytest.raises(DeviceUnavailable) as e:
        userspace.check_ready(tmp_path)
    assert "made for apache-tvm 0.25.0" in one_line(e) and "`perfbot device setup qemu-aarch64`" in str(e.value)
    (root / userspace.MARKER).write_text(json.dumps({"wanted": userspace.wanted() | {"format": 0}}))
    with pytest.raises(DeviceUnavailable, match="made with other versions than this perfbot wants"):
        userspace.check_ready(tmp_path)
    (root / userspace.MARKER).write_text(json.dumps({"wanted": userspace.wanted()}))
    monkeypatch.setattr(userspace, "_counting_plugin", lambda cache_dir, root, say: None)  # tests/.../test_plugin.py
    userspace.check_ready(tmp_path)


def test_without_arm64_in_apt_a_user_is_told_the_one_line_to_run_as_root(tmp_path, monkeypatch):
    folder = fake_bin(tmp_path)
    (folder / "dpkg").write_text("#!/bin/sh\necho i386\n")  # --print-foreign-architectures
    (folder / "dpkg").chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(DeviceUnavailable) as e:
        userspace.ensure_arm64_apt(lambda line: None)
    assert one_line(e) == (
        "qemu-aarch64: apt does not know arm64 packages; run `sudo dpkg --add-architecture "
        "arm64 && sudo apt-get update`, then `perfbot device setup qemu-aarch64` again"
    )


# ------------------------------------------------------------------------------------------ setup: staging and marker


def make_user_space(root: Path) -> None:
    userspace.python_path(root).parent.mkdir(parents=True, exist_ok=True)
    userspace.python_path(root).write_bytes(b"\x7fELF stand-in")


@pytest.fixture
def fake_populate(monkeypatch):
    """setup() with everything but the downloading: counts calls, fails on request."""
    calls = []

    def populate(root, download_dir, say):
        calls.append(Path(root))
        assert Path(root).name == ".qemu-aarch64.staging" and not (Path(root) / userspace.MARKER).exists()
        make_user_space(root)
        (Path(root) / "site").mkdir()
        (Path(root) / "site" / "tvm.py").write_text("x" * 10000)
        if getattr(populate, "fail", None):
            raise populate.fail
        return {"wheels": dict(userspace.WHEELS)}

    populate.calls = calls
    populate.plugins = []
    monkeypatch.setattr(userspace, "populate", populate)
    monkeypatch.setattr(userspace, "_counting_plugin", lambda cache_dir, root, say: populate.plugins.append(root))
    return populate


def test_setup_builds_once_then_reuses_the_folder(tmp_path, fake_populate):
    lines = []
    first = userspace.setup(tmp_path, progress=lines.append)
    assert not first.reused and first.folder == tmp_path / "qemu-aarch64" and first.disk_bytes >= 10000
    marker = json.loads((first.folder / userspace.MARKER).read_text())
    assert marker["wanted"] == userspace.wanted() and marker["versions"]["wheels"] == userspace.WHEELS
    assert sorted(p.name for p in tmp_path.iterdir()) == [".qemu-aarch64.lock", "qemu-aarch64"]
    second = userspace.setup(tmp_path, progress=lines.append)
    assert second.reused and second.folder == first.folder and second.disk_bytes == first.disk_bytes
    assert len(fake_populate.calls) == 1 and "reusing" in lines[-1]
    assert fake_populate.plugins == [first.folder, second.folder]  # built and checked at every setup


def test_an_interrupted_setup_leaves_nothing_that_looks_ready(tmp_path, fake_populate, monkeypatch):
    fake_populate.fail = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        userspace.setup(tmp_path)
    assert not userspace.folder(tmp_path).exists() and not (tmp_path / ".qemu-aarch64.staging").exists()
    assert not userspace.is_set_up(tmp_path)
    monkeypatch.setenv("PATH", str(fake_bin(tmp_path, userspace.QEMU, userspace.CROSS_COMPILER)))
    with pytest.raises(DeviceUnavailable, match="perfbot device setup qemu-aarch64"):
        userspace.check_ready(tmp_path)


def test_a_killed_setup_is_cleared_and_redone(tmp_path, fake_populate):
    """A staging folder left by a killed setup, and a folder without a marker, are both not done."""
    stale = tmp_path / ".qemu-aarch64.staging"
    make_user_space(stale)
    make_user_space(userspace.folder(tmp_path))  # e.g. a copy without its marker
    report = userspace.setup(tmp_path)
    assert not report.reused and len(fake_populate.calls) == 1
    assert not stale.exists() and (report.folder / userspace.MARKER).is_file()


def test_a_failed_refresh_keeps_the_old_folder(tmp_path, fake_populate, monkeypatch):
    userspace.setup(tmp_path)
    monkeypatch.setitem(userspace.WHEELS, "apache-tvm", "0.28.0")
    assert not userspace.is_set_up(tmp_path)
    fake_populate.fail = DeviceUnavailable("qemu-aarch64: pip download failed: no such version")
    with pytest.raises(DeviceUnavailable, match="no such version"):
        userspace.setup(tmp_path)
    old = json.loads((userspace.folder(tmp_path) / userspace.MARKER).read_text())
    assert old["wanted"]["wheels"]["apache-tvm"] == "0.27.0.post1"
    fake_populate.fail = None
    report = userspace.setup(tmp_path)
    assert (
        not report.reused and json.loads((report.folder / userspace.MARKER).read_text())["wanted"] == userspace.wanted()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [".qemu-aarch64.lock", "qemu-aarch64"]


# ------------------------------------------------------------------------------------------ setup: the parts


APT = {
    "python3.11": {
        "Package": "python3.11",
        "Version": "3.11.2-6",
        "Architecture": "arm64",
        "Multi-Arch": "allowed",
        "Depends": "python3.11-minimal (= 3.11.2-6), libpython3.11-stdlib (= 3.11.2-6), media-types | mime-support",
    },
    "python3.11-minimal": {
        "Package": "python3.11-minimal",
        "Version": "3.11.2-6",
        "Architecture": "arm64",
        "Pre-Depends": "libc6 (>= 2.35)",
        "Depends": "zlib1g (>= 1:1.2.0)",
    },
    "libpython3.11-stdlib": {
        "Package": "libpython3.11-stdlib",
        "Version": "3.11.2-6",
        "Architecture": "arm64",
        "Depends": "libc6, libssl3 | libssl1.1, dpkg (>= 1.17), tzdata",
    },
    "libc6": {
        "Package": "libc6",
        "Version": "2.36-9",
        "Architecture": "arm64",
        "Multi-Arch": "same",
        "Depends": "libgcc-s1",
    },
    "libgcc-s1": {
        "Package": "libgcc-s1",
        "Version": "12.2.0-14",
        "Architecture": "arm64",
        "Depends": "gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)",
    },
    "gcc-12-base": {"Package": "gcc-12-base", "Version": "12.2.0-14", "Architecture": "arm64"},
    "zlib1g": {"Package": "zlib1g", "Version": "1:1.2.13", "Architecture": "arm64", "Depends": "libc6:any"},
    "libssl3": {"Package": "libssl3", "Version": "3.0.11", "Architecture": "arm64", "Depends": "libc6"},
    "dpkg": {"Package": "dpkg", "Version": "1.21", "Architecture": "arm64", "Multi-Arch": "foreign", "Depends": "tar"},
}


def test_debian_dependencies_are_resolved_to_libraries_only():
    """First usable alternative; arch-all data (media-types, tzdata) and Multi-Arch: foreign tools are left out."""
    asked = []

    def show(names):
        asked.append(names)
        return [APT[n.split(":")[0]] for n in names if n.split(":")[0] in APT]

    debs = userspace.resolve_debs(("python3.11",), show=show)
    assert debs == {
        "gcc-12-base": "12.2.0-14",
        "libc6": "2.36-9",
        "libgcc-s1": "12.2.0-14",
        "libpython3.11-stdlib": "3.11.2-6",
        "libssl3": "3.0.11",
        "python3.11": "3.11.2-6",
        "python3.11-minimal": "3.11.2-6",
        "zlib1g": "1:1.2.13",
    }
    assert all(n.endswith(":arm64") for names in asked for n in names)
    assert len(asked) <= 5  # one apt-cache call per level, not per package
    assert userspace.deb_filename("zlib1g", "1:1.2.13") == "zlib1g_1%3a1.2.13_arm64.deb"


def test_a_root_apt_does_not_know_is_refused_with_the_command():
    with pytest.raises(DeviceUnavailable, match="sudo dpkg --add-architecture arm64"):
        userspace.resolve_debs(("python3.11",), show=lambda names: [])


def test_wheels_unpack_like_pip_into_a_site_folder(tmp_path):
    wheel = tmp_path / "demo_pkg-1.2-cp311-cp311-manylinux2014_aarch64.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("demo_pkg/__init__.py", "X = 1\n")
        info = zipfile.ZipInfo("demo_pkg/lib.so")
        info.external_attr = 0o755 << 16
        z.writestr(info, b"\x7fELF")
        z.writestr("demo_pkg-1.2.data/platlib/demo_extra.py", "Y = 2\n")
        z.writestr("demo_pkg-1.2.data/scripts/demo", "#!python\n")
        z.writestr("demo_pkg-1.2.dist-info/METADATA", "Name: demo-pkg\n")
    assert userspace.unzip_wheel(wheel, tmp_path / "site") == ("demo-pkg", "1.2")
    site = tmp_path / "site"
    assert sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()) == [
        "demo_extra.py",
        "demo_pkg-1.2.dist-info/METADATA",
        "demo_pkg/__init__.py",
        "demo_pkg/lib.so",
    ]
    assert os.access(site / "demo_pkg" / "lib.so", os.X_OK)


def test_absolute_symlinks_point_inside_the_user_space(tmp_path):
    (tmp_path / "lib" / "aarch64-linux-gnu").mkdir(parents=True)
    (tmp_path / "lib" / "aarch64-linux-gnu" / "ld-linux-aarch64.so.1").write_text("ld")
    (tmp_path / "lib" / "ld-linux-aarch64.so.1").symlink_to("/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1")
    (tmp_path / "lib" / "aarch64-linux-gnu" / "libz.so.1").symlink_to("libz.so.1.2.13")
    userspace.relative_symlinks(tmp_path)
    assert os.readlink(tmp_path / "lib" / "ld-linux-aarch64.so.1") == "aarch64-linux-gnu/ld-linux-aarch64.so.1"
    assert (tmp_path / "lib" / "ld-linux-aarch64.so.1").read_text() == "ld"
    assert os.readlink(tmp_path / "lib" / "aarch64-linux-gnu" / "libz.so.1") == "libz.so.1.2.13"


@needs_tools
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_setup_of_a_ready_user_space_is_quick_and_it_runs_aarch64_python(qemu_cache):
    report = userspace.setup(qemu_cache)
    assert report.reused and report.disk_bytes > 100e6  # nothing rebuilt (benchmarks/qemu_setup.py times it)
    userspace.check_ready(qemu_cache)
    root = userspace.folder(qemu_cache)
    out = subprocess.run(
        userspace.emulated_command(
            root, ["-c", "import platform, sys; print(platform.machine(), sys.version_info[:2] == (3, 11))"]
        ),
        env=userspace.emulated_env(root),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.split() == ["aarch64", "True"]
