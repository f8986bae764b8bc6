"""The project's own GitHub payloads (tests/fixtures/github) against GitHub's, and the rules for test data.

The payloads are checked against octokit/webhooks' JSON schemas and GitHub's example payloads where
../shared/fixtures/github is; the rules (tests/fake_github/fixtures.py) are checked by running pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fake_github.fixtures import project_payload, project_payloads
from tests.test_fake_github import shape_differences

ROOT = Path(__file__).resolve().parents[2]
#: (event, action) pairs octokit/webhooks has a schema for in the shared folder.
SCHEMAS = (
    {("pull_request", a) for a in ("opened", "synchronize", "reopened", "closed", "labeled", "edited")}
    | {("issue_comment", a) for a in ("created", "edited", "deleted")}
    | {("ping", None)}
)
#: Our payload -> GitHub's example payload of the same event and action.
EXAMPLES = {
    "pull_request/opened.json": "pull_request/opened.payload.json",
    "pull_request/synchronize.fork.json": "pull_request/synchronize.payload.json",
    "pull_request/closed.merged.json": "pull_request/closed.payload.json",
    "pull_request/reopened.fork.json": "pull_request/reopened.payload.json",
    "pull_request/labeled.json": "pull_request/labeled.payload.json",
    "issue_comment/created.json": "issue_comment/created.payload.json",
    "issue_comment/edited.json": "issue_comment/edited.payload.json",
    "push/main.json": "push/1.payload.json",
    "ping/repository.json": "ping/payload.json",
    "check_run/completed.json": "check_run/completed.payload.json",
}


def with_schema():
    found = []
    for event, name in project_payloads("pull_request", "issue_comment", "ping"):
        action = project_payload(event, name).get("action")
        if (event, action) in SCHEMAS:
            found.append((event, name))
    return found


@pytest.mark.parametrize("event, name", with_schema())
def test_our_payloads_match_githubs_schemas(validate_webhook, event, name):
    payload = project_payload(event, name)
    validate_webhook(event, payload.get("action") or "event", payload)


def test_most_of_our_payloads_have_a_schema_to_meet():
    assert len(with_schema()) >= 11


@pytest.mark.parametrize("ours, theirs", sorted(EXAMPLES.items()))
def test_our_payloads_have_the_fields_githubs_examples_have(github_fixtures_dir, ours, theirs):
    github = json.loads((github_fixtures_dir / "webhooks" / theirs).read_text())
    payload = project_payload(*ours.split("/"))
    # Fields GitHub added to some deliveries only (an app installation, an organization) need not be in ours.
    for optional in ("installation", "organization", "enterprise"):
        github.pop(optional, None)
    differences = [d for d in shape_differences(github, payload) if not d.endswith((".organization missing",))]
    if ours.startswith("check_run/"):  # ours is a minimal check run: the bot only has to ignore it
        differences = [d for d in differences if not d.startswith("$.check_run")]
    assert differences == []


# The rules ------------------------------------------------------------------------------------


def run_pytest(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_without_the_shared_folder_every_project_test_runs_and_the_extra_checks_are_deselected():
    out = run_pytest("tests/github/test_events.py", env={"PERFBOT_GITHUB_FIXTURES": "/nonexistent"})
    assert out.returncode == 0, out.stdout + out.stderr
    assert " skipped" not in out.stdout and "SKIPPED" not in out.stdout
    assert "deselected" in out.stdout
    assert "perfbot: GitHub's own data is not at /nonexistent" in out.stdout


def test_a_test_skipped_for_missing_test_data_fails(tmp_path):
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import pytest\n"
        "def test_needs_data():\n"
        "    pytest.skip('fixture file tests/fixtures/github/x.json not found')\n"
        "def test_needs_a_tool():\n"
        "    pytest.skip('no actionlint installed')\n"
    )
    out = run_pytest("-p", "tests.fake_github.fixtures", str(probe), "--rootdir", str(tmp_path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "1 failed, 1 skipped" in out.stdout and "skipped for missing test data" in out.stdout


def test_a_shared_folder_that_is_there_but_incomplete_fails_its_checks(tmp_path):
    (tmp_path / "webhooks").mkdir()
    out = run_pytest(
        "tests/github/test_fixtures.py::test_our_payloads_match_githubs_schemas",
        env={"PERFBOT_GITHUB_FIXTURES": str(tmp_path)},
    )
    assert out.returncode == 1 and "has no replay/" in out.stdout, out.stdout
