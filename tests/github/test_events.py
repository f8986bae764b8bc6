"""bot.github.events against GitHub's own example payloads, and against payloads that are broken."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from bot.github import events
from bot.github.events import BadPayload, CommentEvent, PingEvent, PullRequest, PullRequestEvent, PushEvent
from tests.fake_github.fixtures import FIXTURES_VARIABLE, default_fixtures_dir

# Test ids come from the example files, so they are listed at collection time (the fixture reads them).
EXAMPLES_DIR = Path(os.environ.get(FIXTURES_VARIABLE) or default_fixtures_dir()) / "webhooks"
HANDLED = ("pull_request", "issue_comment", "push", "ping")
IGNORED = ("check_run", "check_suite")


def _examples(kinds):
    """(event, file name) for every example payload; collected from the default fixtures path."""
    found = [(kind, path.name) for kind in kinds for path in sorted((EXAMPLES_DIR / kind).glob("*.json"))]
    return found or [pytest.param(None, None, marks=pytest.mark.skip(reason=f"no examples under {EXAMPLES_DIR}"))]


def _load(github_fixtures_dir, kind, name):
    return json.loads((github_fixtures_dir / "webhooks" / kind / name).read_text())


@pytest.mark.parametrize("kind,name", _examples(HANDLED))
def test_every_example_payload_parses_to_what_it_says(github_fixtures_dir, kind, name):
    payload = _load(github_fixtures_dir, kind, name)
    event = events.parse(kind, payload)
    action = payload.get("action")
    if kind == "pull_request":
        if action not in events.PULL_REQUEST_ACTIONS:
            assert event is None
            return
        pr = payload["pull_request"]
        assert event == PullRequestEvent(
            action=action,
            pull=PullRequest(
                repo=payload["repository"]["full_name"],
                number=pr["number"],
                title=pr["title"],
                author=pr["user"]["login"],
                head_sha=pr["head"]["sha"],
                head_repo=pr["head"]["repo"]["full_name"],
                head_ref=pr["head"]["ref"],
                base_ref=pr["base"]["ref"],
                base_sha=pr["base"]["sha"],
                is_fork=pr["head"]["repo"]["full_name"] != pr["base"]["repo"]["full_name"],
                state=pr["state"],
                merged=bool(pr["merged"]),
                draft=pr["draft"],
                url=pr["html_url"],
                updated_at=pr["updated_at"],
            ),
        )
    elif kind == "issue_comment":
        if action not in events.COMMENT_ACTIONS:
            assert event is None
            return
        comment = payload["comment"]
        assert event == CommentEvent(
            action=action,
            repo=payload["repository"]["full_name"],
            number=payload["issue"]["number"],
            is_pull_request="pull_request" in payload["issue"],
            comment_id=comment["id"],
            author=comment["user"]["login"],
            author_association=comment["author_association"],
            body=comment["body"],
            html_url=comment["html_url"],
            created_at=comment["created_at"],
        )
    elif kind == "push":
        assert event == PushEvent(
            repo=payload["repository"]["full_name"],
            ref=payload["ref"],
            after=payload["after"],
            before=payload["before"],
            default_branch=payload["repository"]["default_branch"],
            deleted=payload["deleted"],
        )
    else:
        assert event == PingEvent(
            zen=payload["zen"], hook_id=payload["hook_id"], repo=(payload.get("repository") or {}).get("full_name")
        )


@pytest.mark.parametrize("kind,name", _examples(IGNORED))
def test_check_runs_and_suites_are_ignored(github_fixtures_dir, kind, name):
    assert events.parse(kind, _load(github_fixtures_dir, kind, name)) is None


@pytest.mark.parametrize("kind,name", _examples(HANDLED))
def test_an_event_survives_the_inbox_round_trip(github_fixtures_dir, kind, name):
    """The bot keeps events as (kind, JSON) in its inbox and rebuilds them from that."""
    event = events.parse(kind, _load(github_fixtures_dir, kind, name))
    if event is not None:
        assert events.decode(*events.encode(event)) == event


def test_a_new_branch_push_and_a_tag_deletion(github_fixtures_dir):
    new_branch = events.parse("push", _load(github_fixtures_dir, "push", "with-new-branch.payload.json"))
    assert (new_branch.ref, new_branch.deleted, new_branch.before) == ("refs/heads/master", False, "0" * 40)
    deleted_tag = events.parse("push", _load(github_fixtures_dir, "push", "payload.json"))
    assert (deleted_tag.ref, deleted_tag.deleted, deleted_tag.after) == ("refs/tags/simple-tag", True, "0" * 40)


def test_an_organization_ping_has_no_repository(github_fixtures_dir):
    ping = events.parse("ping", _load(github_fixtures_dir, "ping", "with-organization.payload.json"))
    assert ping.repo is None and ping.hook_id == 109948940


def test_a_pull_request_from_a_fork_is_a_fork(github_fixtures_dir):
    payload = _load(github_fixtures_dir, "pull_request", "opened.payload.json")
    payload["pull_request"]["head"]["repo"]["full_name"] = "someone/Hello-World"
    event = events.parse("pull_request", payload)
    assert event.pull.is_fork and event.pull.head_repo == "someone/Hello-World"


def test_a_pull_request_whose_fork_was_deleted_is_a_fork(github_fixtures_dir):
    payload = _load(github_fixtures_dir, "pull_request", "synchronize.payload.json")
    payload["pull_request"]["head"]["repo"] = None
    event = events.parse("pull_request", payload)
    assert event.pull.is_fork and event.pull.head_repo is None


def test_same_repository_in_another_case_is_not_a_fork():
    assert not events.is_fork("Apache/TVM", "apache/tvm")
    assert events.is_fork("apache/tvm", "alice/tvm")
    assert events.is_fork("apache/tvm", None)


def test_a_comment_on_a_pull_request_from_the_fake_matches_the_schema(fake_github, validate_webhook):
    fake_github.add_repo("apache/tvm")
    number = fake_github.add_pull("apache/tvm", author="alice")
    comment_id = fake_github.add_comment("apache/tvm", number, "bob", "@perfbot rerun")
    payload = fake_github.issue_comment_event(comment_id)
    validate_webhook("issue_comment", "created", payload)
    event = events.parse("issue_comment", payload)
    assert event == CommentEvent(
        action="created",
        repo="apache/tvm",
        number=number,
        is_pull_request=True,
        comment_id=comment_id,
        author="bob",
        author_association="NONE",
        body="@perfbot rerun",
        html_url=payload["comment"]["html_url"],
        created_at=payload["comment"]["created_at"],
    )


def test_unknown_events_are_ignored():
    assert events.parse("star", {"action": "created"}) is None
    assert events.parse("workflow_run", {}) is None


# Malformed payloads --------------------------------------------------------------------------

REQUIRED = {
    "pull_request": [
        "action",
        "repository.full_name",
        "pull_request.number",
        "pull_request.title",
        "pull_request.user.login",
        "pull_request.head.sha",
        "pull_request.head.ref",
        "pull_request.base.ref",
        "pull_request.base.sha",
        "pull_request.state",
        "pull_request.html_url",
    ],
    "issue_comment": [
        "action",
        "repository.full_name",
        "issue.number",
        "comment.id",
        "comment.user.login",
        "comment.html_url",
    ],
    "push": ["repository.full_name", "ref", "after", "before"],
    "ping": ["hook_id"],
}
EXAMPLE = {
    "pull_request": "synchronize.payload.json",
    "issue_comment": "created.payload.json",
    "push": "with-new-branch.payload.json",
    "ping": "payload.json",
}


def _without(payload: dict, path: str) -> dict:
    broken = copy.deepcopy(payload)
    *parents, last = path.split(".")
    node = broken
    for key in parents:
        node = node[key]
    del node[last]
    return broken


def _with(payload: dict, path: str, value) -> dict:
    broken = copy.deepcopy(payload)
    *parents, last = path.split(".")
    node = broken
    for key in parents:
        node = node[key]
    node[last] = value
    return broken


@pytest.mark.parametrize("kind,path", [(kind, path) for kind, paths in REQUIRED.items() for path in paths])
def test_a_missing_field_is_named(github_fixtures_dir, kind, path):
    payload = _load(github_fixtures_dir, kind, EXAMPLE[kind])
    with pytest.raises(BadPayload, match=f"{kind} payload: missing {path}$"):
        events.parse(kind, _without(payload, path))


@pytest.mark.parametrize(
    "kind,path,value,expected",
    [
        ("pull_request", "pull_request.number", "2", "an integer"),
        ("pull_request", "pull_request.number", True, "an integer"),
        ("pull_request", "pull_request.head.sha", 12, "a string"),
        ("pull_request", "pull_request.head.repo", "alice/tvm", "an object"),
        ("pull_request", "repository", [], "an object"),
        ("issue_comment", "comment.id", 1.5, "an integer"),
        ("issue_comment", "comment.body", {"text": "hi"}, "a string"),
        ("push", "after", None, "a string"),
        ("ping", "hook_id", "1", "an integer"),
    ],
)
def test_a_mistyped_field_is_named(github_fixtures_dir, kind, path, value, expected):
    payload = _load(github_fixtures_dir, kind, EXAMPLE[kind])
    with pytest.raises(BadPayload, match=f"should be {expected}|missing"):
        events.parse(kind, _with(payload, path, value))


@pytest.mark.parametrize("payload", [[], "text", 3, None])
def test_a_payload_that_is_not_an_object_is_refused(payload):
    with pytest.raises(ValueError, match="expected a JSON object"):
        events.parse("pull_request", payload)


def test_bad_payload_is_a_value_error_with_one_line():
    with pytest.raises(ValueError) as raised:
        events.parse("push", {"ref": "refs/heads/main"})
    assert "\n" not in str(raised.value)
