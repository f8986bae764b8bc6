"""One way from an env spec to the TVM under test: which maker each spec goes to, and bad specs in one line."""

import sys
from pathlib import Path

import pytest

from bot.engine import builds, envs, subjects
from bot.engine.runner import Subject
from bot.errors import BuildFailed, EnvironmentBroken, UnknownName
from tests.engine.builds import standin


def test_no_spec_is_the_interpreter_perfbot_runs_in():
    assert envs.default() == f"python:{sys.executable}"
    env = subjects.provision(None, None)
    assert env.python == Path(sys.executable) and env.key == f"python:{sys.executable}"


@pytest.mark.parametrize(
    "spec, error, text",
    [
        ("conda:tvm", UnknownName, "expected python:PATH, pip:REQUIREMENT or source:CHECKOUT@SHA"),
        ("pip:", UnknownName, "expected"),
        ("source:/tmp", UnknownName, "expected"),
        ("python:/no/such/python", EnvironmentBroken, "python:/no/such/python: no executable interpreter"),
        ("source:/tmp@abc1234", UnknownName, "/tmp: not a git checkout (expected a clone of apache/tvm or a fork)"),
        ("source:/nonexistent@abc1234", UnknownName, "/nonexistent: no such folder (expected a TVM git checkout)"),
    ],
)
def test_bad_specs_are_one_line(tmp_path, spec, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")) as caught:
        subjects.provision(spec, tmp_path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("spec", ["pip:apache-tvm==0.26.0", "source:/tmp@abc1234"])
def test_what_is_built_needs_a_cache_folder(spec):
    with pytest.raises(EnvironmentBroken, match="no cache folder.*PERFBOT_CACHE"):
        subjects.provision(spec, None)


def test_a_subject_carries_its_environment_and_where_it_came_from():
    subject = subjects.subject(None, None, kind="pr", repo="apache/tvm", sha="a" * 40, pr=7)
    assert isinstance(subject, Subject) and subject.python == Path(sys.executable)
    assert (subject.kind, subject.repo, subject.pr, subject.env) == ("pr", "apache/tvm", 7, f"python:{sys.executable}")
    assert subject.runtime == subject.env  # no source build: the environment is what runs the modules


def test_an_unbuilt_commit_is_a_subject_that_names_it_and_runs_nothing():
    subject = subjects.unbuilt(kind="pr", sha="b" * 40, pr=3)
    assert subject.env == f"unbuilt:{'b' * 40}" and not subject.python.exists() and subject.pr == 3


def test_a_source_spec_comes_from_the_build_cache_and_a_bare_requirement_is_a_pip_release(tmp_path, monkeypatch):
    checkout = tmp_path / "tvm"
    sha = standin.tree(checkout)
    commit = builds.resolve(checkout, sha)
    asked = []
    monkeypatch.setattr(subjects, "provision", lambda spec, cache, say=None: asked.append(spec) or envs.python(
        sys.executable, cache))  # fmt: skip
    with pytest.raises(BuildFailed, match="native sources differ from python:"):
        subjects.native_from(commit, "apache-tvm==0.27.0.post1", tmp_path / "cache")
    assert asked == ["pip:apache-tvm==0.27.0.post1"]
