"""pytest fixtures: a running fake GitHub, and the folder of real GitHub data to check it against."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fake_github.server import FakeGitHub

FIXTURES_VARIABLE = "PERFBOT_GITHUB_FIXTURES"


def default_fixtures_dir() -> Path:
    """../shared/fixtures/github next to the repository root."""
    return (Path(__file__).parents[2] / ".." / "shared" / "fixtures" / "github").resolve()


@pytest.fixture
def fake_github():
    """A fake GitHub REST API on 127.0.0.1 (random port), stopped after the test."""
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture(scope="session")
def github_fixtures_dir() -> Path:
    """Recorded GitHub exchanges, webhook payloads and schemas, read in place (never copied)."""
    path = Path(os.environ.get(FIXTURES_VARIABLE) or default_fixtures_dir())
    if not (path / "replay").is_dir() or not (path / "webhooks").is_dir():
        pytest.skip(
            f"GitHub fixtures not found at {path}: set {FIXTURES_VARIABLE} to the folder that holds "
            f"replay/, webhooks/ and schemas/ (default ../shared/fixtures/github)"
        )
    return path


@pytest.fixture(scope="session")
def validate_webhook(github_fixtures_dir):
    """validate(event, action, payload): check a payload against octokit/webhooks' schema for it.

    The schemas' relative $refs resolve through a registry keyed by each schema's $id;
    their non-standard keyword tsAdditionalProperties is ignored, as draft-07 ignores unknown keywords.
    """
    import json

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
