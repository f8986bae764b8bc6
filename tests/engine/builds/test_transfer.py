"""A native build moved to another host by its key: exported, verified on arrival, used without building.

The build is the stand-in tree's (tests/engine/builds/standin.py), made for real with cmake and the cross
compiler; the "other host" is a second cache folder.
"""

from __future__ import annotations

import io
import json
import subprocess
import tarfile

import pytest

from bot.engine import builds, environment
from bot.engine.builds import aarch64, native, transfer
from bot.errors import BadExport, UnknownName
from tests.engine.builds import standin
from tests.engine.builds.conftest import missing_build_tools

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(checkout, commit, native key, export file) of a stand-in commit built in the first host's cache (once)."""
    if missing_build_tools():
        pytest.skip(f"needs {', '.join(missing_build_tools())}")
    tmp_path = tmp_path_factory.mktemp("builder")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(environment, "CHILD_PACKAGES", ())
        patch.setattr(environment, "TVM_PYTHON_PACKAGES", ())
        checkout = tmp_path / "tvm"
        sha = standin.tree(checkout, native=5)
        env = builds.environment(checkout, sha, tmp_path / "builder")
        out = tmp_path / "build.tar.gz"
        transfer.export_build(tmp_path / "builder", env.build["native_key"], out)
    return checkout, sha, env.build["native_key"], out


def test_an_imported_build_serves_its_commits_with_no_build_on_the_board_host(exported, tmp_path):
    checkout, sha, key, archive = exported
    board = tmp_path / "board"
    manifest = transfer.import_build(board, archive)
    assert manifest["native_key"] == key and native.find(board, key).how == "cmake"
    env = builds.environment(checkout, sha, board, build_native=False)  # would refuse to compile anything
    out = subprocess.run([str(env.python), "-c", "import tvm; print(tvm.native())"], capture_output=True, text=True,
                         env={**env.variables, "PATH": "/usr/bin:/bin"}, check=True)  # fmt: skip
    assert out.stdout.strip() == "5" and str(board) in env.variables["TVM_LIBRARY_PATH"]
    if manifest["aarch64"]:  # the cross compiler was there on the build host
        folder = builds.aarch64_runtime(board, key)
        assert folder.name == manifest["aarch64"] and aarch64.is_aarch64(folder / "lib" / "libtvm_runtime.so")
    assert transfer.import_build(board, archive)["native_key"] == key  # again: kept, nothing replaced


def rewrite(archive, out, change):
    """A copy of an export with `change(name, data) -> (name, data) | None` applied to each member."""
    with tarfile.open(archive) as source, tarfile.open(out, "w:gz") as target:
        for member in source.getmembers():
            changed = change(member.name, source.extractfile(member).read())
            if changed is not None:
                info = tarfile.TarInfo(changed[0])
                info.size = len(changed[1])
                target.addfile(info, io.BytesIO(changed[1]))
    return out


def flip_library_byte(name, data):
    return (name, data[:-1] + bytes([data[-1] ^ 1])) if name.endswith("libtvm_runtime.so") else (name, data)


def other_python(name, data):
    return (
        (name, json.dumps({**json.loads(data), "python": "3.99"}).encode()) if name == "manifest.json" else (name, data)
    )


@pytest.mark.parametrize(
    "change, message",
    [
        (flip_library_byte, r"libtvm_runtime.so does not match its manifest \(damaged or altered on the way\)"),
        (lambda n, d: None if n.endswith("libtvm_runtime.so") and n.startswith("native/") else (n, d),
         "is in its manifest but not in the archive"),
        (lambda n, d: (n, d) if n != "manifest.json" else None, "no manifest.json"),
        (other_python, r"built for Python 3.99, this host runs 3\.\d+"),
        (lambda n, d: ("../../evil.so" if n.startswith("native/") and n.endswith(".so") else n, d), "is not part of"),
    ],
)  # fmt: skip
def test_a_damaged_or_foreign_export_is_refused_in_one_line_and_nothing_is_written(exported, tmp_path, change, message):
    _, _, key, archive = exported
    bad = rewrite(archive, tmp_path / "bad.tar.gz", change)
    board = tmp_path / "board"
    with pytest.raises(BadExport, match=message) as caught:
        transfer.import_build(board, bad)
    assert "\n" not in str(caught.value)
    assert (
        native.find(board, key) is None and not list(native.root(board).glob("*"))
        if native.root(board).exists()
        else True
    )


def test_not_an_archive_and_unknown_keys_are_one_line(tmp_path):
    junk = tmp_path / "junk.tar"
    junk.write_text("not a tar file")
    with pytest.raises(BadExport, match="not a perfbot build export"):
        transfer.import_build(tmp_path / "board", junk)
    with pytest.raises(UnknownName, match="no native build 0123abcd in"):
        transfer.export_build(tmp_path / "cache", "0123abcd", tmp_path / "out.tar")
    assert not (tmp_path / "out.tar").exists()
