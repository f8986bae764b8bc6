"""The GitHub events the bot acts on, as plain dataclasses parsed from webhook payloads.

Only the fields the bot uses are kept, all of them JSON-friendly, so that an
event survives `encode` -> JSON -> `decode` unchanged (the bot keeps events in
its inbox table before handling them, under the stable kind names of `KINDS`).
A pull request has one shape, `PullRequest`, whether a webhook, a REST answer
or a poll brought it; the poll's own events (`PullSeen`, `PullGone`,
`BaseHead`, `CommentSeen`) live here beside the webhook's.

`parse` answers None for events and actions the bot ignores, and raises
`BadPayload` (a ValueError) naming the first missing or mistyped field, so the
webhook receiver can answer 400 without guessing.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from bot.errors import PerfbotError

#: pull_request actions the bot cares about: new code, closing, base/title edits, draft state.
PULL_REQUEST_ACTIONS = frozenset(
    {"opened", "synchronize", "reopened", "closed", "edited", "ready_for_review", "converted_to_draft"}
)
#: issue_comment actions parsed; the bot acts on "created" (an edit does not re-run a command).
COMMENT_ACTIONS = frozenset({"created", "edited"})


class BadPayload(PerfbotError, ValueError):
    "A webhook payload lacks a field the bot needs, or has it with the wrong type"


@dataclass(frozen=True)
class PullRequest:
    """A pull request as GitHub has it: the one shape for webhook payloads, REST answers and polls.

    `updated_at` is GitHub's own time of the PR's last change (a push, a comment, an edit), never the
    bot's clock: the bot takes a new head's time from it (see bot.github.approval).
    """

    repo: str
    number: int
    title: str
    author: str
    head_sha: str
    head_repo: str | None  # None when the fork was deleted
    head_ref: str
    base_ref: str
    base_sha: str
    is_fork: bool
    state: str
    draft: bool = False
    merged: bool = False
    url: str = ""
    updated_at: str = ""  # ISO 8601, as GitHub gives it

    def row(self) -> dict:
        """The pull_requests row's fields that come from GitHub."""
        return {
            "repo": self.repo,
            "number": self.number,
            "title": self.title,
            "author": self.author,
            "head_sha": self.head_sha,
            "head_repo": self.head_repo,
            "head_ref": self.head_ref,
            "base_ref": self.base_ref,
            "base_sha": self.base_sha,
            "is_fork": self.is_fork,
            "state": self.state,
            "url": self.url,
        }

    @classmethod
    def from_api(cls, data: Any, where: str = "GitHub's pull request") -> PullRequest:
        """From a REST pull request object (GET /pulls/N, an entry of GET /pulls or /commits/SHA/pulls)."""
        if not isinstance(data, dict):
            raise BadPayload(f"{where}: expected a JSON object, got {_type_name(data)}")
        p = _Fields(data, where)
        return _pull(p, "", p.text("base.repo.full_name"))


@dataclass(frozen=True)
class PullRequestEvent:
    action: str
    pull: PullRequest


@dataclass(frozen=True)
class CommentEvent:
    action: str
    repo: str
    number: int
    is_pull_request: bool
    comment_id: int
    author: str
    author_association: str
    body: str
    html_url: str
    created_at: str = ""  # ISO 8601, as GitHub gives it


@dataclass(frozen=True)
class PushEvent:
    repo: str
    ref: str
    after: str
    before: str
    default_branch: str | None
    deleted: bool


@dataclass(frozen=True)
class PingEvent:
    zen: str
    hook_id: int
    repo: str | None  # None for an organization's hook


# What a poll finds (bot.github.poll): the same inbox, the same handlers as webhook events.


@dataclass(frozen=True)
class PullSeen:
    """Polling found a PR new or changed."""

    pull: PullRequest


@dataclass(frozen=True)
class PullGone:
    """Polling found a PR no longer open."""

    repo: str
    number: int


@dataclass(frozen=True)
class BaseHead:
    """Polling found a new head of the base branch."""

    repo: str
    sha: str


@dataclass(frozen=True)
class CommentSeen:
    """Polling found a new PR comment."""

    repo: str
    number: int
    comment_id: int
    author: str
    body: str
    action: str = "created"
    is_pull_request: bool = True
    created_at: str = ""


Event = PullRequestEvent | CommentEvent | PushEvent | PingEvent | PullSeen | PullGone | BaseHead | CommentSeen

#: The inbox keeps an event as (kind, JSON): stable names, so renaming a class never strands queued rows.
KINDS: dict[str, type] = {
    "pull_request": PullRequestEvent,
    "comment": CommentEvent,
    "push": PushEvent,
    "ping": PingEvent,
    "poll:pull_seen": PullSeen,
    "poll:pull_gone": PullGone,
    "poll:base_head": BaseHead,
    "poll:comment_seen": CommentSeen,
}
_KIND_OF = {cls: kind for kind, cls in KINDS.items()}


def encode(event: Event) -> tuple[str, str]:
    """(kind, JSON) for the inbox."""
    return _KIND_OF[type(event)], json.dumps(dataclasses.asdict(event))


def decode(kind: str, payload: str) -> Event:
    """The event `encode` kept; a kind this perfbot does not know is a BadPayload naming it."""
    cls = KINDS.get(kind)
    if cls is None:
        raise BadPayload(f"inbox event kind {kind!r}: expected one of {', '.join(KINDS)}")
    fields = json.loads(payload)
    if isinstance(fields.get("pull"), dict):
        fields["pull"] = PullRequest(**fields["pull"])
    return cls(**fields)


def parse(event_name: str, payload: Any) -> Event | None:
    """The event in `payload` (a decoded X-GitHub-Event delivery), or None when the bot ignores it."""
    if not isinstance(payload, dict):
        raise BadPayload(f"{event_name} payload: expected a JSON object, got {_type_name(payload)}")
    parser = _PARSERS.get(event_name)
    return parser(_Fields(payload, event_name)) if parser else None


def _pull_request(p: _Fields) -> PullRequestEvent | None:
    action = p.text("action")
    if action not in PULL_REQUEST_ACTIONS:
        return None
    return PullRequestEvent(action=action, pull=_pull(p, "pull_request.", p.text("repository.full_name")))


def _pull(p: _Fields, at: str, base_repo: str) -> PullRequest:
    """The PullRequest at path prefix `at` of a payload or REST object (every complaint names the path)."""
    head_repo = p.text(f"{at}head.repo.full_name") if p.object_or_none(f"{at}head.repo") else None
    return PullRequest(
        repo=base_repo,
        number=p.integer(f"{at}number"),
        title=p.text(f"{at}title"),
        author=p.text(f"{at}user.login")
        if at or p.object_or_none("user")
        else "ghost",  # REST: null for a deleted user
        head_sha=p.text(f"{at}head.sha"),
        head_repo=head_repo,
        head_ref=p.text(f"{at}head.ref"),
        base_ref=p.text(f"{at}base.ref"),
        base_sha=p.text(f"{at}base.sha"),
        is_fork=is_fork(base_repo, head_repo),
        state=p.text(f"{at}state"),
        draft=bool(p.get(f"{at}draft")),
        merged=bool(p.get(f"{at}merged")) or p.get(f"{at}merged_at") is not None,
        url=p.text(f"{at}html_url"),
        updated_at=p.text_or_none(f"{at}updated_at") or "",
    )


def _issue_comment(p: _Fields) -> CommentEvent | None:
    action = p.text("action")
    if action not in COMMENT_ACTIONS:
        return None
    return CommentEvent(
        action=action,
        repo=p.text("repository.full_name"),
        number=p.integer("issue.number"),
        is_pull_request=p.get("issue.pull_request") is not None,
        comment_id=p.integer("comment.id"),
        author=p.text("comment.user.login"),
        author_association=p.text_or_none("comment.author_association") or "NONE",
        body=p.text_or_none("comment.body") or "",
        html_url=p.text("comment.html_url"),
        created_at=p.text_or_none("comment.created_at") or "",
    )


def _push(p: _Fields) -> PushEvent:
    return PushEvent(
        repo=p.text("repository.full_name"),
        ref=p.text("ref"),
        after=p.text("after"),
        before=p.text("before"),
        default_branch=p.text_or_none("repository.default_branch"),
        deleted=bool(p.get("deleted")),
    )


def _ping(p: _Fields) -> PingEvent:
    return PingEvent(
        zen=p.text_or_none("zen") or "",
        hook_id=p.integer("hook_id"),
        repo=p.text("repository.full_name") if p.object_or_none("repository") else None,
    )


_PARSERS = {"pull_request": _pull_request, "issue_comment": _issue_comment, "push": _push, "ping": _ping}


def is_fork(base_repo: str, head_repo: str | None) -> bool:
    """A PR's code comes from elsewhere when its head repository differs from the base, or is gone."""
    return head_repo is None or head_repo.lower() != base_repo.lower()


class _Fields:
    """Dotted-path access to a payload that names the path and event in every complaint."""

    _MISSING = object()

    def __init__(self, payload: dict, event_name: str):
        self.payload = payload
        self.event_name = event_name

    def get(self, path: str, default: Any = None) -> Any:
        value = self._walk(path)
        return default if value is self._MISSING else value

    def _walk(self, path: str) -> Any:
        node: Any = self.payload
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                return self._MISSING
            node = node[key]
        return node

    def _require(self, path: str) -> Any:
        value = self._walk(path)
        if value is self._MISSING:
            raise BadPayload(f"{self.event_name} payload: missing {path}")
        return value

    def text(self, path: str) -> str:
        value = self._require(path)
        if not isinstance(value, str):
            raise BadPayload(f"{self.event_name} payload: {path} should be a string, got {_type_name(value)}")
        return value

    def text_or_none(self, path: str) -> str | None:
        value = self.get(path)
        if value is not None and not isinstance(value, str):
            raise BadPayload(f"{self.event_name} payload: {path} should be a string, got {_type_name(value)}")
        return value

    def object_or_none(self, path: str) -> dict | None:
        value = self.get(path)
        if value is not None and not isinstance(value, dict):
            raise BadPayload(f"{self.event_name} payload: {path} should be an object, got {_type_name(value)}")
        return value

    def integer(self, path: str) -> int:
        value = self._require(path)
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadPayload(f"{self.event_name} payload: {path} should be an integer, got {_type_name(value)}")
        return value


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )
