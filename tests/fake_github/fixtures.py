"""pytest fixtures and rules for GitHub test data: a running fake GitHub, the project's own payloads,
and the folder of real GitHub data (../shared/fixtures/github) to check both against.

Two kinds of data, two rules:

- The project's own webhook payloads live in tests/fixtures/github/webhooks/ (see generate.py
  there). Every test that reads them runs everywhere, a fresh clone included; a missing file is a
  failure, never a skip.
- GitHub's own data (example payloads, JSON schemas, PyGithub's recorded exchanges) is read in
  place from $PERFBOT_GITHUB_FIXTURES, default ../shared/fixtures/github, and never copied. Tests
  that need it (they use the `github_fixtures_dir` fixture, or carry the `shared_fixtures` mark) are
  extra checks: where the folder does not exist at all (a fresh clone with nothing beside it, or
  PERFBOT_GITHUB_FIXTURES=/nonexistent) they are deselected and the summary says so; where it
  exists they run, and a file missing from it fails them.

A test skipped because a fixture is missing is turned into a failure, so a suite that should have
run a check can never pass without it (.ci/run checks the skip reasons as well).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.fake_github.server import FakeGitHub

FIXTURES_VARIABLE = "PERFBOT_GITHUB_FIXTURES"
SHARED_MARK = "shared_fixtures"
SHARED_FIXTURES = ("github_fixtures_dir", "validate_webhook")
PROJECT_DIR = Path(__file__).parents[1] / "fixtures" / "github"
#: Skip reasons that mean "a fixture is missing": these skips fail instead.
MISSING_FIXTURE = re.compile(r"fixture|shared/|no examples", re.IGNORECASE)


def default_fixtures_dir() -> Path:
    """../shared/fixtures/github next to the repository root."""
    return (Path(__file__).parents[2] / ".." / "shared" / "fixtures" / "github").resolve()


def shared_fixtures_path() -> Path:
    return Path(os.environ.get(FIXTURES_VARIABLE) or default_fixtures_dir())


def shared_fixtures_present() -> bool:
    """Whether GitHub's own data is beside the repository (absent by design when the folder does not exist)."""
    return shared_fixtures_path().exists()


# The project's own payloads -----------------------------------------------------------------


def project_payloads(*events: str) -> list[tuple[str, str]]:
    """(event, name) of every project payload of these events, e.g. ("pull_request", "opened.json")."""
    found = [
        (event, path.name) for event in events for path in sorted((PROJECT_DIR / "webhooks" / event).glob("*.json"))
    ]
    if not found:
        raise FileNotFoundError(f"no project payloads for {', '.join(events)} under {PROJECT_DIR / 'webhooks'}")
    return found


def project_payload(event: str, name: str) -> dict:
    """A project payload (a fresh copy); a missing one fails the test, it is never skipped."""
    path = PROJECT_DIR / "webhooks" / event / name
    if not path.is_file():
        pytest.fail(f"missing project test data {path} (tests/fixtures/github/generate.py writes it)")
    return json.loads(path.read_text())


def shared_payloads(*events: str) -> list:
    """(event, name) of GitHub's example payloads, for tests marked shared_fixtures; a placeholder when absent."""
    root = shared_fixtures_path() / "webhooks"
    found = [(event, path.name) for event in events for path in sorted((root / event).glob("*.json"))]
    if found:
        return found
    # Absent: one placeholder the collection rule deselects (present but empty: the test fails on it).
    return [pytest.param(None, None, id="shared-data", marks=pytest.mark.shared_fixtures)]


# Collection and reporting rules ---------------------------------------------------------------


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        f"{SHARED_MARK}: checks against GitHub's own data in ${FIXTURES_VARIABLE} (../shared/fixtures/github)",
    )


def _needs_shared(item) -> bool:
    return item.get_closest_marker(SHARED_MARK) is not None or any(
        name in getattr(item, "fixturenames", ()) for name in SHARED_FIXTURES
    )


def pytest_collection_modifyitems(config, items) -> None:
    if shared_fixtures_present():
        return
    dropped = [item for item in items if _needs_shared(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not _needs_shared(item)]
    config.stash[_ABSENT] = len(dropped)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    absent = config.stash.get(_ABSENT, 0)
    if absent:
        terminalreporter.write_line(
            f"perfbot: GitHub's own data is not at {shared_fixtures_path()} (set {FIXTURES_VARIABLE}): "
            f"{absent} extra checks against it were deselected; every project test ran"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if MISSING_FIXTURE.search(reason):
            report.outcome = "failed"
            report.longrepr = f"skipped for missing test data, which must not happen: {reason}"


_ABSENT = pytest.StashKey[int]()


# Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def fake_github():
    """A fake GitHub REST API on 127.0.0.1 (random port), stopped after the test."""
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture(scope="session")
def github_fixtures_dir() -> Path:
    """GitHub's recorded exchanges, webhook payloads and schemas, read in place (never copied)."""
    path = shared_fixtures_path()
    for part in ("replay", "webhooks", "schemas"):
        if not (path / part).is_dir():
            pytest.fail(f"{path} exists but has no {part}/: GitHub's own test data is incomplete ({FIXTURES_VARIABLE})")
    return path


@pytest.fixture(scope="session")
def validate_webhook(github_fixtures_dir):
    """validate(event, action, payload): check a payload against octokit/webhooks' schema for it.

    The schemas' relative $refs resolve through a registry keyed by each schema's $id;
    their non-standard keyword tsAdditionalProperties is ignored, as draft-07 ignores unknown keywords.
    """
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    root = github_fixtures_dir / "schemas" / "api.github.com"
    resources = []
    for path in root.rglob("*.schema.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7)))
    registry = Registry().with_resources(resources)

    def validate(event: str, action: str, payload: dict) -> None:
        name = "event" if event == "ping" else action
        schema = json.loads((root / event / f"{name}.schema.json").read_text())
        Draft7Validator(schema, registry=registry).validate(payload)

    return validate


@pytest.fixture
def world(fake_github, tmp_path):
    """The bot's real parts (store on disk, PyGithub, inbox, outbox, queue) around a fake GitHub with apache/tvm."""
    from tests.fake_github.world import REPO, World

    fake_github.add_repo(REPO)
    w = World(fake_github, tmp_path)
    yield w
    w.close()
