"""bot.github.events against the project's own payloads, GitHub's example payloads (where they are), and broken ones."""

from __future__ import annotations

import copy
import json

import pytest

from bot.github import events
from bot.github.events import BadPayload, CommentEvent, PingEvent, PullRequest, PullRequestEvent, PushEvent
from tests.fake_github.fixtures import project_payload, project_payloads, shared_payloads

HANDLED = ("pull_request", "issue_comment", "push", "ping")
IGNORED = ("check_run", "check_suite")


def expected_event(kind: str, payload: dict):
    """What `events.parse` should give for a payload, read from the payload by hand."""
    action = payload.get("action")
    if kind == "pull_request":
        if action not in events.PULL_REQUEST_ACTIONS:
            return None
        pr = payload["pull_request"]
        head_repo = (pr["head"].get("repo") or {}).get("full_name")
        return PullRequestEvent(
            action=action,
            pull=PullRequest(
                repo=payload["repository"]["full_name"],
                number=pr["number"],
                title=pr["title"],
                author=pr["user"]["login"],
                head_sha=pr["head"]["sha"],
                head_repo=head_repo,
                head_ref=pr["head"]["ref"],
                base_ref=pr["base"]["ref"],
                base_sha=pr["base"]["sha"],
                is_fork=head_repo != pr["base"]["repo"]["full_name"],
                state=pr["state"],
                merged=bool(pr["merged"]),
                draft=pr["draft"],
                url=pr["html_url"],
                updated_at=pr["updated_at"],
            ),
        )
    if kind == "issue_comment":
        if action not in events.COMMENT_ACTIONS:
            return None
        comment = payload["comment"]
        return CommentEvent(
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
    if kind == "push":
        return PushEvent(
            repo=payload["repository"]["full_name"],
            ref=payload["ref"],
            after=payload["after"],
            before=payload["before"],
            default_branch=payload["repository"]["default_branch"],
            deleted=payload["deleted"],
        )
    return PingEvent(
        zen=payload["zen"], hook_id=payload["hook_id"], repo=(payload.get("repository") or {}).get("full_name")
    )


# The project's own payloads (tests/fixtures/github): everywhere ----------------------------


@pytest.mark.parametrize("kind,name", project_payloads(*HANDLED))
def test_every_payload_parses_to_what_it_says(kind, name):
    payload = project_payload(kind, name)
    assert events.parse(kind, payload) == expected_event(kind, payload)


@pytest.mark.parametrize("kind,name", project_payloads(*IGNORED))
def test_check_runs_and_suites_are_ignored(kind, name):
    assert events.parse(kind, project_payload(kind, name)) is None


@pytest.mark.parametrize("kind,name", project_payloads(*HANDLED))
def test_an_event_survives_the_inbox_round_trip(kind, name):
    """The bot keeps events as (kind, JSON) in its inbox and rebuilds them from that."""
    event = events.parse(kind, project_payload(kind, name))
    if event is not None:
        assert events.decode(*events.encode(event)) == event


def test_the_payloads_cover_what_the_bot_acts_on():
    names = {f"{kind}/{name}" for kind, name in project_payloads(*HANDLED)}
    parsed = [events.parse(kind, project_payload(kind, name)) for kind, name in project_payloads(*HANDLED)]
    actions = {e.action for e in parsed if isinstance(e, PullRequestEvent)}
    assert actions >= {
        "opened",
        "synchronize",
        "reopened",
        "closed",
        "edited",
        "ready_for_review",
        "converted_to_draft",
    }
    assert (
        "pull_request/assigned.json" in names
        and events.parse("pull_request", project_payload("pull_request", "assigned.json")) is None
    )
    assert {e.pull.is_fork for e in parsed if isinstance(e, PullRequestEvent)} == {True, False}
    assert {e.is_pull_request for e in parsed if isinstance(e, CommentEvent)} == {True, False}


def test_a_new_branch_push_and_a_tag_deletion():
    new_branch = events.parse("push", project_payload("push", "new-branch.json"))
    assert (new_branch.ref, new_branch.deleted, new_branch.before) == ("refs/heads/release-0.1", False, "0" * 40)
    deleted_tag = events.parse("push", project_payload("push", "tag-deleted.json"))
    assert (deleted_tag.ref, deleted_tag.deleted, deleted_tag.after) == ("refs/tags/v0.1", True, "0" * 40)


def test_an_organization_ping_has_no_repository():
    ping = events.parse("ping", project_payload("ping", "organization.json"))
    assert ping.repo is None and ping.hook_id == 2342


def test_a_comment_written_with_windows_line_ends_keeps_them():
    event = events.parse("issue_comment", project_payload("issue_comment", "created.json"))
    assert event.body == "Looks good.\r\n@perfbot rerun device=rpi4\r\n" and event.is_pull_request


def test_a_pull_request_from_a_fork_is_a_fork():
    payload = project_payload("pull_request", "opened.json")
    payload["pull_request"]["head"]["repo"]["full_name"] = "someone/octo-repo"
    event = events.parse("pull_request", payload)
    assert event.pull.is_fork and event.pull.head_repo == "someone/octo-repo"


def test_a_pull_request_whose_fork_was_deleted_is_a_fork():
    payload = project_payload("pull_request", "synchronize.fork.json")
    payload["pull_request"]["head"]["repo"] = None
    event = events.parse("pull_request", payload)
    assert event.pull.is_fork and event.pull.head_repo is None


# GitHub's own example payloads (../shared/fixtures/github): where they are --------------------


@pytest.mark.shared_fixtures
@pytest.mark.parametrize("kind,name", shared_payloads(*HANDLED))
def test_githubs_example_payloads_parse_to_what_they_say(github_fixtures_dir, kind, name):
    payload = json.loads((github_fixtures_dir / "webhooks" / kind / name).read_text())
    event = events.parse(kind, payload)
    assert event == expected_event(kind, payload)
    if event is not None:
        assert events.decode(*events.encode(event)) == event


@pytest.mark.shared_fixtures
@pytest.mark.parametrize("kind,name", shared_payloads(*IGNORED))
def test_githubs_check_run_and_suite_examples_are_ignored(github_fixtures_dir, kind, name):
    assert events.parse(kind, json.loads((github_fixtures_dir / "webhooks" / kind / name).read_text())) is None


def test_same_repository_in_another_case_is_not_a_fork():
    assert not events.is_fork("Apache/TVM", "apache/tvm")
    assert events.is_fork("apache/tvm", "alice/tvm")
    assert events.is_fork("apache/tvm", None)


def test_a_comment_on_a_pull_request_from_the_fake_parses(fake_github):
    fake_github.add_repo("apache/tvm")
    number = fake_github.add_pull("apache/tvm", author="alice")
    comment_id = fake_github.add_comment("apache/tvm", number, "bob", "@perfbot rerun")
    payload = fake_github.issue_comment_event(comment_id)  # its schema: test_fake_github.py
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
    "pull_request": "synchronize.fork.json",
    "issue_comment": "created.json",
    "push": "new-branch.json",
    "ping": "repository.json",
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
def test_a_missing_field_is_named(kind, path):
    payload = project_payload(kind, EXAMPLE[kind])
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
def test_a_mistyped_field_is_named(kind, path, value, expected):
    payload = project_payload(kind, EXAMPLE[kind])
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
