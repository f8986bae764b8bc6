"""TVM environments: specs, the pip recipe, the cache, and builds that fail."""

import sys
from pathlib import Path

import pytest

from bot import envs
from bot.errors import EnvironmentBroken, UnknownName


def test_default_is_the_interpreter_perfbot_runs_in():
    env = envs.provision(envs.default(), Path("/nonexistent"))
    assert env.python == Path(sys.executable) and env.key == f"python:{sys.executable}"


@pytest.mark.parametrize("spec, error, text", [
    ("conda:tvm", UnknownName, "expected python:PATH, pip:REQUIREMENT or source:CHECKOUT@SHA"),
    ("pip:", UnknownName, "expected"),
    ("python:/no/such/python", EnvironmentBroken, "python:/no/such/python: no executable interpreter"),
    ("source:/tmp@not-a-sha", UnknownName, "'not-a-sha' is not a commit SHA"),
    ("source:/nonexistent@abc1234", EnvironmentBroken, "is not a git checkout"),
])
def test_bad_specs_are_one_line(tmp_path, spec, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        envs.provision(spec, tmp_path)


def test_pip_recipe_pins_the_known_companion_and_what_the_worker_imports():
    packages = envs.pip_requirements("apache-tvm==0.25.0")
    assert packages[:2] == ["apache-tvm==0.25.0", "apache-tvm-ffi==0.1.12"]
    assert "tflite>=2.18" in packages and "xgboost-cpu" in packages
    assert envs.pip_requirements("apache-tvm==0.25.0 apache-tvm-ffi==0.1.11")[:2] == [
        "apache-tvm==0.25.0", "apache-tvm-ffi==0.1.11"]


def test_a_known_broken_pair_is_refused_before_any_download(tmp_path):
    with pytest.raises(EnvironmentBroken, match="segfaults inside MetaSchedule tuning; use apache-tvm-ffi==0.1.14.post0"):
        envs.provision("pip:apache-tvm==0.27.0.post1 apache-tvm-ffi==0.1.15.post2", tmp_path)
    assert not (tmp_path / "envs").exists()


def test_source_builds_run_the_steps_a_tvm_pr_build_runs(tmp_path):
    plan = envs.source_plan(Path("/src/tvm"), "abc1234", tmp_path / "stage", tmp_path / "ccache")
    commands = [" ".join(step) for step in plan]
    assert commands[1] == "git -C /src/tvm checkout --quiet --detach abc1234"
    assert any("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache" in c and "-DUSE_LLVM=" in c for c in commands)
    assert commands[-1].endswith("pip install --disable-pip-version-check --no-deps -e /src/tvm/python")
    assert envs.source_env(tmp_path / "ccache", tmp_path / "b")["CCACHE_DIR"] == str(tmp_path / "ccache")


def test_a_failed_build_is_remembered_not_retried_every_run(tmp_path):
    """A real pip build that fails (no such release): reported with its log, then refused at once."""
    spec = "pip:apache-tvm==0.0.0.post999"
    with pytest.raises(EnvironmentBroken, match="failed with code") as first:
        envs.provision(spec, tmp_path)
    note = envs.folder_for(spec, tmp_path).with_suffix(".broken")
    assert note.is_file() and "apache-tvm==0.0.0.post999" in note.read_text()
    assert str(note) in str(first.value)
    with pytest.raises(EnvironmentBroken, match="failed to build before.*--rebuild"):
        envs.provision(spec, tmp_path)
    assert not list((tmp_path / "envs").glob("*.staging*"))
