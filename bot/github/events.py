"""The GitHub events the bot acts on, as plain dataclasses parsed from webhook payloads.

Only the fields the bot uses are kept, all of them JSON-friendly scalars, so that
an event survives `dataclasses.asdict` -> JSON -> `Event(**fields)` unchanged
(the bot keeps events in its inbox table before handling them).

`parse` answers None for events and actions the bot ignores, and raises
`BadPayload` (a ValueError) naming the first missing or mistyped field, so the
webhook receiver can answer 400 without guessing.
"""

from __future__ import annotations

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
class PullRequestEvent:
    action: str
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
    merged: bool
    draft: bool
    html_url: str


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


Event = PullRequestEvent | CommentEvent | PushEvent | PingEvent


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
    base_repo = p.text("repository.full_name")
    head_repo = p.text("pull_request.head.repo.full_name") if p.object_or_none("pull_request.head.repo") else None
    return PullRequestEvent(
        action=action,
        repo=base_repo,
        number=p.integer("pull_request.number"),
        title=p.text("pull_request.title"),
        author=p.text("pull_request.user.login"),
        head_sha=p.text("pull_request.head.sha"),
        head_repo=head_repo,
        head_ref=p.text("pull_request.head.ref"),
        base_ref=p.text("pull_request.base.ref"),
        base_sha=p.text("pull_request.base.sha"),
        is_fork=is_fork(base_repo, head_repo),
        state=p.text("pull_request.state"),
        merged=bool(p.get("pull_request.merged")),
        draft=bool(p.get("pull_request.draft")),
        html_url=p.text("pull_request.html_url"),
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
