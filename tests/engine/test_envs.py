"""TVM environments: specs, the pip recipe, source build plans, the cache, and builds that fail.

The pip tests build real environments from the package index; the source test builds a
stand-in TVM tree with the real git, cmake and Ninja.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.engine import envs
from bot.errors import EnvironmentBroken, UnknownName

#: Environments worth keeping between test sessions (a release's takes 10 s to 2 min to build).
SHARED_CACHE = Path(os.environ.get("PERFBOT_TEST_CACHE", Path.home() / ".cache" / "perfbot-test"))


def fake_python(tmp_path: Path, body: str) -> Path:
    """An executable that stands in for an interpreter: a shell script."""
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


# -- specs and python: -----------------------------------------------------------------


def test_default_is_the_interpreter_perfbot_runs_in():
    assert envs.default() == f"python:{sys.executable}"
    env = envs.provision(envs.default(), None)
    assert env.python == Path(sys.executable) and env.key == f"python:{sys.executable}"


@pytest.mark.parametrize(
    "spec, error, text",
    [
        ("conda:tvm", UnknownName, "expected python:PATH, pip:REQUIREMENT or source:CHECKOUT@SHA"),
        ("pip:", UnknownName, "expected"),
        ("python:/no/such/python", EnvironmentBroken, "python:/no/such/python: no executable interpreter"),
        ("source:/tmp@not-a-sha", UnknownName, "'not-a-sha' is not a commit SHA"),
        ("source:/nonexistent@abc1234", EnvironmentBroken, "is not a git checkout"),
    ],
)
def test_bad_specs_are_one_line(tmp_path, spec, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")) as caught:
        envs.provision(spec, tmp_path)
    assert "\n" not in str(caught.value)


def test_an_interpreter_without_tvm_is_refused_with_its_error_and_a_log(tmp_path):
    python = fake_python(
        tmp_path,
        "echo 'Traceback (most recent call last):' >&2\n"
        "echo \"ModuleNotFoundError: No module named 'tvm'\" >&2\nexit 1",
    )
    with pytest.raises(EnvironmentBroken) as caught:
        envs.provision(f"python:{python}", tmp_path / "cache")
    message = str(caught.value)
    assert message.startswith(
        f"python:{python}: TVM does not import: ModuleNotFoundError: No module named 'tvm'; log: "
    )
    log = Path(message.rsplit("log: ", 1)[1])
    assert log.is_file() and log.parent == tmp_path / "cache" / "envs" and "Traceback" in log.read_text()


def test_an_interpreter_that_crashes_on_import_names_the_signal(tmp_path):
    python = fake_python(tmp_path, "kill -SEGV $$")
    with pytest.raises(EnvironmentBroken, match="TVM does not import: killed by signal 11"):
        envs.provision(f"python:{python}", None)


def test_the_real_interpreter_reports_its_tvm_and_tvm_ffi():
    ok, output = envs.probe(Path(sys.executable))
    import tvm
    import tvm_ffi

    assert ok and envs.probed_versions(output) == (tvm.__version__, tvm_ffi.__version__)


# -- pip: the recipe -------------------------------------------------------------------


def test_pip_recipe_pins_the_known_companion_and_what_the_worker_imports():
    packages = envs.pip_requirements("apache-tvm==0.25.0")
    assert packages[:2] == ["apache-tvm==0.25.0", "apache-tvm-ffi==0.1.12"]
    for needed in ("numpy", "tflite>=2.18", "xgboost-cpu", "tornado", "psutil", "cloudpickle"):
        assert needed in packages
    assert envs.pip_requirements("apache-tvm[rpc]==0.27.0.post1")[:2] == [
        "apache-tvm[rpc]==0.27.0.post1",
        "apache-tvm-ffi==0.1.14.post0",
    ]


@pytest.mark.parametrize(
    "requirement, first",
    [
        ("apache-tvm==0.25.0 apache-tvm-ffi==0.1.11", ["apache-tvm==0.25.0", "apache-tvm-ffi==0.1.11"]),
        ("apache-tvm==0.25.0 apache-tvm-ffi>=0.1.15", ["apache-tvm==0.25.0", "apache-tvm-ffi>=0.1.15"]),
        ("apache-tvm", ["apache-tvm", "numpy"]),  # no release pinned: pip chooses, the import check judges
        ("apache-tvm==9.9.9", ["apache-tvm==9.9.9", "numpy"]),  # unknown release: no companion to add
    ],
)
def test_a_companion_the_spec_names_itself_is_left_alone(requirement, first):
    assert envs.pip_requirements(requirement)[:2] == first


def test_a_known_broken_pair_is_refused_before_any_download(tmp_path):
    with pytest.raises(
        EnvironmentBroken, match="segfaults inside MetaSchedule tuning; use apache-tvm-ffi==0.1.14.post0"
    ):
        envs.provision("pip:apache-tvm==0.27.0.post1 apache-tvm-ffi==0.1.15.post2", tmp_path)
    assert not (tmp_path / "envs").exists()


def test_a_built_environment_with_a_known_broken_pair_is_refused(tmp_path):
    """pip resolved a range to a bad companion: the check after the build catches it."""
    python = fake_python(tmp_path, "echo tvm 0.27.0.post1 tvm-ffi 0.1.15.post2")
    with open(tmp_path / "log", "w") as log:
        assert envs._check("pip:x", python, log) == (
            "apache-tvm 0.27.0.post1 with apache-tvm-ffi 0.1.15.post2 segfaults inside MetaSchedule tuning"
        )
        assert envs._check("pip:x", fake_python(tmp_path, "echo tvm 0.27.0.post1 tvm-ffi 0.1.14.post0"), log) is None


def test_pip_environments_need_a_cache_folder():
    with pytest.raises(EnvironmentBroken, match="no cache folder.*PERFBOT_CACHE"):
        envs.provision("pip:apache-tvm==0.26.0", None)


# -- source: the plan (a dry run) ---------------------------------------------------------


def test_source_plan_runs_the_steps_a_tvm_pr_build_runs(tmp_path):
    plan = envs.source_plan(Path("/src/tvm"), "abc1234", tmp_path, jobs=16, ccache=True)
    commands = [" ".join(step) for step in plan.commands]
    src = plan.staging / "src"
    assert commands[:4] == [
        "git -C /src/tvm fetch --quiet origin abc1234",
        f"git clone --quiet --shared --no-checkout /src/tvm {src}",
        f"git -C {src} checkout --quiet --detach abc1234",
        f"git -C {src} submodule update --init --recursive --quiet",
    ]
    configure, build = plan.commands[4], plan.commands[5]
    assert configure[:7] == ("cmake", "-S", str(src), "-B", str(src / "build"), "-G", "Ninja")
    assert "-DUSE_LLVM=llvm-config --ignore-libllvm --link-static" in configure
    assert "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache" in configure and "-DUSE_RPC=ON" in configure
    assert build == ("cmake", "--build", str(src / "build"), "--parallel", "16")
    assert commands[-2].endswith(f"pip install --disable-pip-version-check --progress-bar off {src}/3rdparty/tvm-ffi")
    assert "'../../../../src/python\\n'" in commands[-1]  # relative: survives the rename into place
    assert plan.python_in == "venv/bin/python"


def test_source_plan_keys_folders_and_ccache(tmp_path):
    one = envs.source_plan(Path("/src/tvm"), "abc1234", tmp_path, ccache=True)
    again = envs.source_plan(Path("/src/tvm"), "abc1234", tmp_path, ccache=True)
    other = envs.source_plan(Path("/src/tvm"), "def5678", tmp_path, ccache=True)
    assert one.key == "source:/src/tvm@abc1234" and one == again
    assert one.folder == envs.folder_for(one.key, tmp_path) and one.folder.parent == tmp_path / "envs"
    assert one.staging.parent == one.folder.parent and one.staging != one.folder  # rename, not copy
    assert other.folder != one.folder
    assert one.ccache_dir == other.ccache_dir == tmp_path / "ccache"  # one ccache for every commit
    assert one.env == {
        "CCACHE_DIR": str(tmp_path / "ccache"),
        "CCACHE_BASEDIR": str(one.staging),
        "CCACHE_NOHASHDIR": "true",
    }
    assert str(one.staging) not in one.recipe and "abc1234" in one.recipe


def test_source_plan_without_ccache_or_fetch(tmp_path):
    plan = envs.source_plan(Path("/src/tvm"), "abc1234", tmp_path, ccache=False, fetch=False)
    flat = [" ".join(c) for c in plan.commands]
    assert not any("ccache" in c for c in flat) and plan.env == {} and plan.ccache_dir is None
    assert flat[0].startswith("git clone")


def git(*args, cwd):
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
        },
    )
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True).stdout.strip()


def stand_in_tvm(root: Path, version: str) -> str:
    """A git tree shaped like TVM's: CMakeLists.txt, python/tvm, 3rdparty/tvm-ffi. Returns the commit."""
    (root / "python" / "tvm").mkdir(parents=True, exist_ok=True)
    (root / "3rdparty" / "tvm-ffi" / "tvm_ffi").mkdir(parents=True, exist_ok=True)
    (root / "CMakeLists.txt").write_text(
        'cmake_minimum_required(VERSION 3.16)\nproject(stand_in NONE)\nfile(WRITE ${CMAKE_BINARY_DIR}/lib/built "")\n'
    )
    (root / "python" / "tvm" / "__init__.py").write_text(f"__version__ = {version!r}\n")
    (root / "3rdparty" / "tvm-ffi" / "tvm_ffi" / "__init__.py").write_text("__version__ = '0.0.1'\n")
    (root / "3rdparty" / "tvm-ffi" / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "apache-tvm-ffi"\nversion = "0.0.1"\n[tool.setuptools]\npackages = ["tvm_ffi"]\n'
    )
    if not (root / ".git").exists():
        git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    return git("commit", "-q", "-m", version, cwd=root)


@pytest.mark.slow
def test_a_source_build_is_its_own_tree_built_checked_and_moved_into_place(tmp_path, monkeypatch):
    """The real executor on a stand-in tree: git, cmake and Ninja for real; TVM's C++ build is not run."""
    missing = [tool for tool in envs.SOURCE_TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"source builds need {', '.join(missing)}")
    monkeypatch.setattr(envs, "WORKER_PACKAGES", ())
    monkeypatch.setattr(envs, "TVM_PYTHON_PACKAGES", ())
    checkout, cache = tmp_path / "tvm", tmp_path / "cache"
    checkout.mkdir()
    first = stand_in_tvm(checkout, "0.0.first")
    lines = []
    env = envs.provision(f"source:{checkout}@{first}", cache, progress=lines.append)
    second = stand_in_tvm(checkout, "0.0.second")  # the checkout moves on; the first environment must not
    version = subprocess.run(
        [str(env.python), "-c", "import tvm, tvm_ffi; print(tvm.__file__, tvm.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert version == [str(env.python.parent.parent.parent / "src" / "python" / "tvm" / "__init__.py"), "0.0.first"]
    assert (env.python.parent.parent.parent / "src" / "build" / "lib" / "built").is_file()
    assert env.key == f"source:{checkout}@{first}" and any(line.startswith("cmake --build") for line in lines)
    assert not list((cache / "envs").glob("*.staging"))
    assert envs.provision(f"source:{checkout}@{first}", cache) == env  # cached: no second build
    newer = envs.provision(f"source:{checkout}@{second}", cache)
    assert newer.python != env.python
    with pytest.raises(EnvironmentBroken, match="failed with code"):
        envs.provision(f"source:{checkout}@{'0' * 40}", cache)  # a commit that is nowhere


# -- pip: real builds --------------------------------------------------------------------


def test_a_failed_build_is_remembered_not_retried_every_run(tmp_path, monkeypatch):
    """A real pip build that fails (no such release): reported with its log, then refused at once,
    retried when the recipe changes or with rebuild=True."""
    spec = "pip:apache-tvm==0.0.0.post999"
    with pytest.raises(EnvironmentBroken, match="failed with code") as first:
        envs.provision(spec, tmp_path)
    note = envs.folder_for(spec, tmp_path).with_suffix(".broken")
    assert note.is_file() and "apache-tvm==0.0.0.post999" in note.read_text()
    assert str(note) in str(first.value)
    with pytest.raises(EnvironmentBroken, match=r"failed to build before \(`pip install .*--rebuild"):
        envs.provision(spec, tmp_path)
    assert envs.status(spec, tmp_path) == "broken"
    with pytest.raises(EnvironmentBroken, match="failed with code"):
        envs.provision(spec, tmp_path, rebuild=True)
    monkeypatch.setattr(envs, "WORKER_PACKAGES", ("numpy",))  # e.g. the table or the worker's needs changed
    with pytest.raises(EnvironmentBroken, match="failed with code"):
        envs.provision(spec, tmp_path)
    assert not list((tmp_path / "envs").glob("*.staging*"))


@pytest.mark.slow
def test_a_release_and_its_known_bad_companion_really_fail_to_import(tmp_path):
    """apache-tvm 0.25.0 with apache-tvm-ffi 0.1.15.post2 (a range, so the table does not refuse it
    up front): built for real, and the import check reports the undefined symbol."""
    spec = "pip:apache-tvm==0.25.0 apache-tvm-ffi>=0.1.15.post2"
    with pytest.raises(EnvironmentBroken, match=r"TVM does not import: OSError: .*libtvm_runtime.so: undefined symbol"):
        envs.provision(spec, tmp_path)
    assert envs.status(spec, tmp_path) == "broken"
    assert not (envs.folder_for(spec, tmp_path) / "bin").exists()


@pytest.mark.slow
def test_a_release_is_provisioned_with_its_companion_and_reused(tmp_path):
    """A real `pip:apache-tvm==0.26.0` environment, kept in ~/.cache/perfbot-test between sessions."""
    cache = SHARED_CACHE if SHARED_CACHE.parent.is_dir() else tmp_path
    lines = []
    env = envs.provision("pip:apache-tvm==0.26.0", cache, progress=lines.append)
    ok, output = envs.probe(env.python)
    assert ok and envs.probed_versions(output) == ("0.26.0", "0.1.14.post0")
    out = subprocess.run(
        [str(env.python), "-c", "import tflite, xgboost, tornado, psutil, cloudpickle, numpy"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert envs.status(env.key, cache) == "ready"
    again = []
    assert envs.provision("pip:apache-tvm==0.26.0", cache, progress=again.append) == env and again == []
