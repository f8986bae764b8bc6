"""The python: and pip: environments: interpreters, the pip recipe, the cache, and builds that fail.

The pip tests build real environments from the package index. Specs (which maker a spec goes to)
are tests/engine/test_subjects.py's.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.engine import environment, envs
from bot.errors import EnvironmentBroken

#: Environments worth keeping between test sessions (a release's takes 10 s to 2 min to build).
SHARED_CACHE = Path(os.environ.get("PERFBOT_TEST_CACHE", Path.home() / ".cache" / "perfbot-test"))


def fake_python(tmp_path: Path, body: str) -> Path:
    """An executable that stands in for an interpreter: a shell script."""
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


# -- python: ----------------------------------------------------------------------------


def test_an_interpreter_without_tvm_is_refused_with_its_error_and_a_log(tmp_path):
    python = fake_python(
        tmp_path,
        "echo 'Traceback (most recent call last):' >&2\n"
        "echo \"ModuleNotFoundError: No module named 'tvm'\" >&2\nexit 1",
    )
    with pytest.raises(EnvironmentBroken) as caught:
        envs.python(str(python), tmp_path / "cache")
    message = str(caught.value)
    assert message.startswith(
        f"python:{python}: TVM does not import: ModuleNotFoundError: No module named 'tvm'; log: "
    )
    log = Path(message.rsplit("log: ", 1)[1])
    assert log.is_file() and log.parent == tmp_path / "cache" / "envs" and "Traceback" in log.read_text()


def test_an_interpreter_that_crashes_on_import_names_the_signal(tmp_path):
    python = fake_python(tmp_path, "kill -SEGV $$")
    with pytest.raises(EnvironmentBroken, match="TVM does not import: killed by signal 11"):
        envs.python(str(python), None)


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
        envs.pip("apache-tvm==0.27.0.post1 apache-tvm-ffi==0.1.15.post2", tmp_path)
    assert not (tmp_path / "envs").exists()


def test_a_built_environment_with_a_known_broken_pair_is_refused(tmp_path):
    """pip resolved a range to a bad companion: the check after the build catches it."""
    python = fake_python(tmp_path, "echo tvm 0.27.0.post1 tvm-ffi 0.1.15.post2")
    with open(tmp_path / "log", "w") as log:
        assert envs._check("pip:x", python, log) == (
            "apache-tvm 0.27.0.post1 with apache-tvm-ffi 0.1.15.post2 segfaults inside MetaSchedule tuning"
        )
        assert envs._check("pip:x", fake_python(tmp_path, "echo tvm 0.27.0.post1 tvm-ffi 0.1.14.post0"), log) is None


# -- pip: real builds --------------------------------------------------------------------


def test_a_failed_build_is_remembered_not_retried_every_run(tmp_path, monkeypatch):
    """A real pip build that fails (no such release): reported with its log, then refused at once,
    retried when the recipe changes or with rebuild=True."""
    requirement = "apache-tvm==0.0.0.post999"
    spec = f"pip:{requirement}"
    with pytest.raises(EnvironmentBroken, match="failed with code") as first:
        envs.pip(requirement, tmp_path)
    note = envs.folder_for(spec, tmp_path).with_suffix(".broken")
    assert note.is_file() and "apache-tvm==0.0.0.post999" in note.read_text()
    assert str(note) in str(first.value)
    with pytest.raises(EnvironmentBroken, match=r"failed to build before \(`pip install .*--rebuild"):
        envs.pip(requirement, tmp_path)
    assert envs.status(spec, tmp_path) == "broken"
    with pytest.raises(EnvironmentBroken, match="failed with code"):
        envs.pip(requirement, tmp_path, rebuild=True)
    monkeypatch.setattr(environment, "CHILD_PACKAGES", ("numpy",))  # e.g. the table or the child scripts' needs changed
    with pytest.raises(EnvironmentBroken, match="failed with code"):
        envs.pip(requirement, tmp_path)
    assert not list((tmp_path / "envs").glob("*.staging*"))


@pytest.mark.slow
def test_a_release_and_its_known_bad_companion_really_fail_to_import(tmp_path):
    """apache-tvm 0.25.0 with apache-tvm-ffi 0.1.15.post2 (a range, so the table does not refuse it
    up front): built for real, and the import check reports the undefined symbol."""
    spec = "pip:apache-tvm==0.25.0 apache-tvm-ffi>=0.1.15.post2"
    with pytest.raises(EnvironmentBroken, match=r"TVM does not import: OSError: .*libtvm_runtime.so: undefined symbol"):
        envs.pip(spec.removeprefix("pip:"), tmp_path)
    assert envs.status(spec, tmp_path) == "broken"
    assert not (envs.folder_for(spec, tmp_path) / "bin").exists()


@pytest.mark.slow
def test_a_release_is_provisioned_with_its_companion_and_reused(tmp_path):
    """A real `pip:apache-tvm==0.26.0` environment, kept in ~/.cache/perfbot-test between sessions."""
    cache = SHARED_CACHE if SHARED_CACHE.parent.is_dir() else tmp_path
    lines = []
    env = envs.pip("apache-tvm==0.26.0", cache, say=lines.append)
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
    assert envs.pip("apache-tvm==0.26.0", cache, say=again.append) == env and again == []
