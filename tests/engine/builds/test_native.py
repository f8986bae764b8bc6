"""Native builds and overlays for real: git worktrees, cmake and the C compiler on a stand-in tree.

The stand-in's "TVM" is one C function and a Python package that loads it
(tests/engine/builds/standin.py); everything perfbot does around it is real:
the persistent build worktree and build folder, the staging and rename,
the per-commit sparse worktree, the import check with the commit's own
python/ and the key's libraries, the broken-build note, the cleanup.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.engine import builds, environment, envs
from bot.engine.builds import aarch64, native, overlays
from bot.errors import BuildFailed
from tests.engine.builds import standin

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(autouse=True)
def no_pip_packages(monkeypatch):
    """The stand-in imports only the standard library: nothing to pip install into its interpreter."""
    monkeypatch.setattr(environment, "CHILD_PACKAGES", ())
    monkeypatch.setattr(environment, "TVM_PYTHON_PACKAGES", ())


def native_of(env: environment.Environment) -> int:
    """What the commit's TVM reports of its native library, run as perfbot's children run it."""
    out = subprocess.run(
        [str(env.python), "-c", "import tvm; print(tvm.__version__, tvm.native(), tvm.__file__)"],
        env={**os.environ, **env.variables}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    version, number, where = out.stdout.split()
    assert where.startswith(env.variables["PYTHONPATH"])  # the commit's own python/, not anything installed
    return version, int(number)


@pytest.mark.usefixtures("build_tools")
def test_a_commit_is_built_once_and_a_python_only_commit_reuses_its_native_build(tmp_path):
    checkout, cache = tmp_path / "tvm", tmp_path / "cache"
    first = standin.tree(checkout, version="0.0.1", native=7)
    lines = []
    env = builds.environment(checkout, first, cache, lines.append)
    assert native_of(env) == ("0.0.1", 7)
    assert any(line.startswith("cmake --build") for line in lines) and env.build["how"] == "cmake"
    assert not list(native.root(cache).glob("*.staging"))

    python_only = standin.tree(checkout, version="0.0.2", native=7)  # the checkout moves on
    lines.clear()
    newer = builds.environment(checkout, python_only, cache, lines.append)
    assert not any(line.startswith("cmake") for line in lines), lines  # no C++ build at all
    assert newer.build["native_key"] == env.build["native_key"] and newer.python == env.python
    assert native_of(newer) == ("0.0.2", 7) and native_of(env) == ("0.0.1", 7)  # both commits still there

    changed = standin.tree(checkout, version="0.0.3", native=8)
    rebuilt = builds.environment(checkout, changed, cache)
    assert rebuilt.build["native_key"] != env.build["native_key"] and native_of(rebuilt) == ("0.0.3", 8)
    assert rebuilt.python == env.python  # one environment for both native builds: it holds no TVM of its own
    assert native_of(env) == ("0.0.1", 7)  # the first native build is kept, by its key

    listed = builds.cached(cache)
    arm = ["aarch64", "aarch64"] if aarch64.compiler_version() else []  # one per runtime: native 7, native 8
    assert [r.what for r in listed] == ["native", "native", *arm, "overlay", "overlay", "overlay"]
    assert {r.commit for r in listed if r.what == "overlay"} == {first, python_only, changed}
    assert all(r.size_bytes > 0 for r in listed)


@pytest.mark.usefixtures("build_tools")
def test_a_failed_build_is_a_build_error_remembered_until_a_rebuild(tmp_path):
    checkout, cache = tmp_path / "tvm", tmp_path / "cache"
    bad = standin.tree(checkout, broken=True)
    with pytest.raises(BuildFailed) as first:
        builds.environment(checkout, bad, cache)
    message = str(first.value)
    assert message.splitlines()[0].startswith(f"native build of {bad[:10]} failed: `cmake --build` failed")
    assert "runtime.c" in message  # the end of the build log: where the compiler said what is wrong
    assert (
        not list(native.root(cache).glob("*.staging"))
        and native.find(cache, builds.resolve(checkout, bad).native_key) is None
    )

    log = native.root(cache) / f"{builds.resolve(checkout, bad).native_key}.log"
    stamp = log.stat().st_mtime_ns
    with pytest.raises(BuildFailed, match="failed before: .* --rebuild"):
        builds.environment(checkout, bad, cache)
    assert log.stat().st_mtime_ns == stamp  # not built again

    fixed_tree = checkout / "src" / "runtime" / "runtime.c"
    fixed_tree.write_text("int tvm_native(void) { return 1; }\n")  # a local edit: the commit is still broken
    with pytest.raises(BuildFailed):
        builds.environment(checkout, bad, cache, rebuild=True)
    assert log.stat().st_mtime_ns != stamp  # rebuild asked: built again (and failed again, from the commit)


@pytest.mark.usefixtures("build_tools")
def test_a_commit_whose_python_does_not_import_is_a_build_error_and_leaves_no_overlay(tmp_path):
    checkout, cache = tmp_path / "tvm", tmp_path / "cache"
    standin.tree(checkout)
    (checkout / "python" / "tvm" / "__init__.py").write_text("raise ImportError('tvm: broken on purpose')\n")
    standin.git(checkout, "commit", "-qam", "break the python package")
    with pytest.raises(
        BuildFailed, match="its TVM does not import over native build .*: ImportError: tvm: broken on purpose"
    ):
        builds.environment(checkout, "HEAD", cache)
    sha = standin.git(checkout, "rev-parse", "HEAD")
    assert not (overlays.root(cache) / sha).exists()
    assert sha not in standin.git(checkout, "worktree", "list")  # no stale worktree in the user's checkout
    with pytest.raises(BuildFailed, match="did not import before"):
        builds.environment(checkout, "HEAD", cache)


def test_missing_build_tools_are_named_with_the_install_line(tmp_path, monkeypatch):
    checkout, cache = tmp_path / "tvm", tmp_path / "cache"
    sha = standin.tree(checkout)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(
        BuildFailed,
        match=r"missing build tools: cmake, a C\+\+ compiler, ninja or make, llvm-config \(LLVM 15 or later\)",
    ):
        builds.environment(checkout, sha, cache)


@pytest.mark.usefixtures("build_tools")
def test_a_full_disk_during_a_build_is_one_line_and_leaves_nothing_half_built(tmp_path):
    """The cache on a 2 MB tmpfs, in a mount namespace of its own (works for root and for users)."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed for this test")
    checkout, cache = tmp_path / "tvm", tmp_path / "cache"
    sha = standin.tree(checkout)
    (checkout / "src" / "runtime" / "big.c").write_text(
        "".join(f"int f{i}(void) {{ return {i}; }}\n" for i in range(20000))
    )
    standin.git(checkout, "add", "-A")
    standin.git(checkout, "commit", "-qm", "a lot of code")
    sha = standin.git(checkout, "rev-parse", "HEAD")
    cache.mkdir()
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[3])!r})
        from pathlib import Path
        from bot.engine import builds, environment
        from bot.errors import BuildFailed
        environment.CHILD_PACKAGES = environment.TVM_PYTHON_PACKAGES = ()
        try:
            builds.environment(Path({str(checkout)!r}), {sha!r}, Path({str(cache)!r}))
        except BuildFailed as e:
            print("BUILDFAILED", str(e).splitlines()[0])
    """)
    inner = f'mount -t tmpfs -o size=2m tmpfs {cache} && {sys.executable} -c "$SCRIPT"; ls -A {cache}/builds/native'
    out = subprocess.run(["unshare", "-rm", "sh", "-c", inner], env={**os.environ, "SCRIPT": script},
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    failed = [line for line in out.stdout.splitlines() if line.startswith("BUILDFAILED")]
    assert failed and "no space left on device" in failed[0], out.stdout + out.stderr
    left = out.stdout.split(failed[0])[-1].split()
    assert (
        not [name for name in left if name.endswith(".staging")]
        and len([n for n in left if not n.endswith((".log", ".lock"))]) == 0
    )


def test_a_release_stands_for_a_native_build_only_when_its_runtime_sources_are_the_commits(tmp_path):
    checkout, cache = tmp_path / "tvm", tmp_path / "cache"
    commit = builds.resolve(checkout, standin.tree(checkout))  # the stand-in's src/ is not the release's
    with pytest.raises(BuildFailed, match=r"its native sources differ from python:.* in \d+ file\(s\) \(src/runtime/"):
        native.register_wheel(commit, envs.python(sys.executable, cache), cache)
    assert native.find(cache, commit.native_key) is None
    forced = native.register_wheel(commit, envs.python(sys.executable, cache), cache, force=True)
    assert forced.how == "wheel" and forced.info["forced"] and (forced.lib / "libtvm_runtime.so").is_file()
    assert native.find(cache, commit.native_key) == forced
