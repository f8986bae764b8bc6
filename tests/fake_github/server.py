"""A fake GitHub REST API on 127.0.0.1 for tests: real HTTP, GitHub's shapes, faults on demand.

PyGithub (through bot.github.client) talks to it exactly as it talks to api.github.com:
tokens in the Authorization header, ETag / If-None-Match with 304 answers that
cost no rate limit, X-RateLimit-* headers, Link pagination, GitHub's error bodies.

Tests drive it through a small state API (add a repository, open a PR from a
fork, push to it, set a collaborator's permission, ...) and inspect what the
bot did (comments, reactions, statuses, and `requests`, the log of every
request it received). Faults are queued: `fail_next` (5xx), `secondary_limit_next`
(403/429 with Retry-After) and `exhaust_rate_limit` (the primary limit, answered
with GitHub's own 403 body until the reset time passes). `stop()` is an outage
(connection refused, open keep-alive connections cut); `start()` again serves on
the same port. `not_modified()` lists the conditional requests answered 304.
"""

from __future__ import annotations

import calendar
import hashlib
import itertools
import json
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from tests.fake_github import shapes

ZERO_SHA = "0" * 40
ROLES = ("none", "read", "triage", "write", "maintain", "admin")


def iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass
class Commit:
    sha: str
    parents: list[str]
    message: str
    author: str
    date: str


@dataclass
class Repo:
    full_name: str
    id: int
    default_branch: str
    owner_type: str
    description: str | None
    created_at: str
    updated_at: str
    pushed_at: str
    parent: str | None = None
    branches: dict[str, str] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)  # login (lower case) -> role
    statuses: dict[str, list[dict]] = field(default_factory=dict)  # sha -> newest first


@dataclass
class Pull:
    repo: str
    number: int
    id: int
    title: str
    body: str | None
    author: str
    author_association: str
    fork: str | None  # the head repository when it is a fork
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    created_at: str
    updated_at: str
    commits: list[str]
    state: str = "open"
    draft: bool = False
    merged: bool = False
    closed_at: str | None = None
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    head_deleted: bool = False
    comment_count: int = 0

    @property
    def head_repo(self) -> str | None:
        return None if self.head_deleted else (self.fork or self.repo)


@dataclass
class Comment:
    id: int
    repo: str
    number: int
    author: str
    body: str
    author_association: str
    created_at: str
    updated_at: str
    reactions: list[dict] = field(default_factory=list)


@dataclass
class Request:
    """One request as the fake received it, for assertions."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int | None = None

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD")


@dataclass
class _Fault:
    kind: str  # "status" | "secondary"
    count: int
    status: int
    match: str | None
    retry_after: int | None = 1
    after_write: bool = False

    def applies(self, method: str, path: str) -> bool:
        return self.count > 0 and (self.match is None or re.search(self.match, f"{method} {path}") is not None)


@dataclass
class _Identity:
    kind: str  # "anonymous" | "token" | "installation" | "jwt"
    login: str | None
    bucket: str


@dataclass
class _Bucket:
    limit: int
    remaining: int
    reset: int  # unix seconds, as the X-RateLimit-Reset header says
    resets_at: float | None = None  # when it really resets, if not at `reset`


class HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None, doc: str = ""):
        super().__init__(message)
        self.status, self.message, self.headers, self.doc = status, message, headers or {}, doc


@dataclass
class _Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    paginated: tuple[list, dict] | None = None  # (all items, query) when the body is a page of a list


class FakeGitHub:
    """GitHub's REST API for the endpoints perfbot uses; start() it, point GITHUB_API_URL at `url`."""

    def __init__(
        self,
        *,
        token: str | None = None,
        login: str = "perfbot",
        allow_anonymous: bool = True,
        rate_limit: int = 5000,
        anonymous_rate_limit: int = 60,
    ):
        self.token = token or "ghp_fake" + secrets.token_hex(16)
        self.login = login
        self.allow_anonymous = allow_anonymous
        self.rate_limit_total = rate_limit
        self.anonymous_rate_limit = anonymous_rate_limit
        self.requests: list[Request] = []
        self._lock = threading.RLock()
        self._ids = itertools.count(1000)
        self._users: dict[str, tuple[str, int, str]] = {}  # lower login -> (login, id, type)
        self._tokens: dict[str, str] = {}  # token -> login
        self._installation_tokens: dict[str, tuple[str, float]] = {}  # token -> (login, expires)
        self._app: dict | None = None
        self._repos: dict[str, Repo] = {}
        self._commits: dict[str, Commit] = {}
        self._pulls: dict[tuple[str, int], Pull] = {}
        self._comments: dict[int, Comment] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._faults: list[_Fault] = []
        self._created = iso(time.time() - 86400 * 365)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0  # kept across stop() and start(), so a "GitHub outage" ends at the same address
        self._connections: set = set()
        self._clock_offset = 0.0
        self.add_token(self.token, login)

    # Time ------------------------------------------------------------------------------------

    def now(self) -> float:
        """GitHub's clock for what it records (created_at, updated_at, commit dates); see `advance`."""
        return time.time() + self._clock_offset

    def advance(self, seconds: float) -> None:
        """Move GitHub's clock on, so that what happens next is recorded `seconds` later (whole seconds
        matter: GitHub's times have no fractions). Rate limits keep real time."""
        with self._lock:
            self._clock_offset += seconds

    # Lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        """Serve on 127.0.0.1: a free port the first time, the same port after a stop()."""
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-github", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering, as in an outage: the port refuses connections and open keep-alive ones are cut."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None
            with self._lock:
                connections, self._connections = list(self._connections), set()
            for connection in connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        """The API base URL, what GITHUB_API_URL would hold."""
        return f"http://127.0.0.1:{self.port}"

    # State API: who is who -------------------------------------------------------------------

    def add_token(self, token: str, login: str) -> None:
        with self._lock:
            self._tokens[token] = login
            self._user(login)

    def configure_app(self, app_id: int, public_key_pem: str, installation_id: int, slug: str = "perfbot") -> None:
        """Accept RS256 JWTs whose `iss` is `app_id`, signed by the key whose public half is given."""
        with self._lock:
            self._app = {"id": int(app_id), "key": public_key_pem, "installation": int(installation_id), "slug": slug}
            self._user(f"{slug}[bot]", "Bot")

    def installation_tokens(self) -> list[str]:
        return list(self._installation_tokens)

    def _user(self, login: str, kind: str = "User") -> tuple[str, int, str]:
        with self._lock:
            key = login.lower()
            if key not in self._users:
                self._users[key] = (login, next(self._ids), kind)
            return self._users[key]

    # State API: repositories, commits, pull requests ---------------------------------------

    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        owner_type: str = "Organization",
        description: str | None = "A fake repository",
    ) -> str:
        """A repository with one commit on its default branch; returns that commit's sha."""
        with self._lock:
            now = iso(self.now())
            owner = full_name.split("/")[0]
            self._user(owner, owner_type)
            self._repos[full_name.lower()] = Repo(
                full_name, next(self._ids), default_branch, owner_type, description, self._created, now, now
            )
            return self.push(full_name, default_branch, message="Initial commit", author=owner)

    def fork(self, full_name: str, owner: str) -> str:
        """A user's fork of a repository; returns the fork's full name."""
        with self._lock:
            parent = self.repo(full_name)
            name = f"{owner}/{full_name.split('/')[1]}"
            self._user(owner)
            now = iso(self.now())
            fork = Repo(
                name,
                next(self._ids),
                parent.default_branch,
                "User",
                parent.description,
                now,
                now,
                now,
                parent=parent.full_name,
                branches=dict(parent.branches),
            )
            self._repos[name.lower()] = fork
            return name

    def repo(self, full_name: str) -> Repo:
        try:
            return self._repos[full_name.lower()]
        except KeyError:
            raise KeyError(f"fake GitHub has no repository {full_name}; add_repo() it first") from None

    def push(
        self,
        full_name: str,
        branch: str,
        *,
        message: str = "A change",
        author: str | None = None,
        parent: str | None = None,
        sha: str | None = None,
    ) -> str:
        """A new commit on `branch` (created if new, from `parent` or the default branch); returns its sha.

        `sha` names the commit after one of a real git repository (tests that build real commits)."""
        with self._lock:
            repo = self.repo(full_name)
            base = parent or repo.branches.get(branch) or repo.branches.get(repo.default_branch)
            now = self.now()
            sha = sha or hashlib.sha1(f"{full_name}:{branch}:{next(self._ids)}:{now}".encode()).hexdigest()
            self._commits[sha] = Commit(sha, [base] if base else [], message, author or self.login, iso(now))
            repo.branches[branch] = sha
            repo.pushed_at = repo.updated_at = iso(now)
            return sha

    def add_pull(
        self,
        full_name: str,
        *,
        author: str,
        head_ref: str | None = None,
        fork: bool = False,
        title: str | None = None,
        body: str | None = "",
        draft: bool = False,
        commits: int = 1,
        author_association: str | None = None,
        shas: list[str] | None = None,
    ) -> int:
        """Open a PR with `commits` new commits on a branch (in the author's fork when `fork`); its number.

        `shas` names those commits after a real git repository's (then `commits` is their number)."""
        with self._lock:
            repo = self.repo(full_name)
            number = 1 + max((n for (r, n) in self._pulls if r == repo.full_name.lower()), default=0)
            head_ref = head_ref or f"pr-{number}"
            head_full = repo.full_name
            if fork:
                head_full = f"{author}/{repo.full_name.split('/')[1]}"
                if head_full.lower() not in self._repos:
                    self.fork(repo.full_name, author)
            base_sha = repo.branches[repo.default_branch]
            given, shas = list(shas or []), []
            for i in range(len(given) or commits):
                shas.append(
                    self.push(
                        head_full,
                        head_ref,
                        message=f"PR {number} change {i + 1}",
                        author=author,
                        parent=shas[-1] if shas else base_sha,
                        sha=given[i] if given else None,
                    )
                )
            self._user(author)
            now = iso(self.now())
            association = author_association or ("CONTRIBUTOR" if fork else "MEMBER")
            self._pulls[(repo.full_name.lower(), number)] = Pull(
                repo.full_name,
                number,
                next(self._ids),
                title or f"PR {number}",
                body,
                author,
                association,
                head_full if fork else None,
                head_ref,
                shas[-1],
                repo.default_branch,
                base_sha,
                now,
                now,
                shas,
                draft=draft,
            )
            return number

    def pull(self, full_name: str, number: int) -> Pull:
        try:
            return self._pulls[(full_name.lower(), number)]
        except KeyError:
            raise KeyError(f"fake GitHub has no pull request {full_name}#{number}") from None

    def push_pull(self, full_name: str, number: int, *, message: str | None = None) -> str:
        """A new commit on the PR's head branch; returns the new head sha."""
        with self._lock:
            pull = self.pull(full_name, number)
            sha = self.push(
                pull.fork or pull.repo,
                pull.head_ref,
                message=message or f"PR {number} update",
                author=pull.author,
                parent=pull.head_sha,
            )
            pull.head_sha = sha
            pull.commits.append(sha)
            pull.base_sha = self.repo(pull.repo).branches[pull.base_ref]
            pull.updated_at = iso(self.now())
            return sha

    def close_pull(self, full_name: str, number: int, *, merged: bool = False) -> None:
        with self._lock:
            pull = self.pull(full_name, number)
            now = iso(self.now())
            pull.state, pull.closed_at, pull.updated_at = "closed", now, now
            if merged:
                pull.merged, pull.merged_at = True, now
                pull.merge_commit_sha = self.push(
                    pull.repo, pull.base_ref, message=f"Merge #{number}", author=pull.author
                )

    def reopen_pull(self, full_name: str, number: int) -> None:
        with self._lock:
            pull = self.pull(full_name, number)
            pull.state, pull.closed_at, pull.updated_at = "open", None, iso(self.now())

    def delete_head_repo(self, full_name: str, number: int) -> None:
        """The PR's fork was deleted: GitHub then answers head.repo = null."""
        with self._lock:
            self.pull(full_name, number).head_deleted = True

    def set_permission(self, full_name: str, login: str, role: str) -> None:
        """A collaborator's role: admin, maintain, write, triage, read or none."""
        if role not in ROLES:
            raise ValueError(f"role {role!r}: expected one of {', '.join(ROLES)}")
        with self._lock:
            self._user(login)
            self.repo(full_name).collaborators[login.lower()] = role

    # State API: conversation -------------------------------------------------------------

    def add_comment(
        self, full_name: str, number: int, author: str, body: str, author_association: str | None = None
    ) -> int:
        """A comment by someone on a PR (e.g. a command); returns its id."""
        with self._lock:
            pull = self.pull(full_name, number)
            self._user(author, "Bot" if author.endswith("[bot]") else "User")
            role = self.repo(full_name).collaborators.get(author.lower())
            association = author_association or ("COLLABORATOR" if role in ("write", "maintain", "admin") else "NONE")
            now = iso(self.now())
            comment = Comment(next(self._ids), pull.repo, number, author, body, association, now, now)
            self._comments[comment.id] = comment
            pull.comment_count += 1
            pull.updated_at = now
            return comment.id

    def edit_comment(self, comment_id: int, body: str) -> None:
        with self._lock:
            comment = self._comments[comment_id]
            comment.body, comment.updated_at = body, iso(self.now())

    def delete_comment(self, comment_id: int) -> None:
        with self._lock:
            comment = self._comments.pop(comment_id)
            self.pull(comment.repo, comment.number).comment_count -= 1

    def comments(self, full_name: str, number: int) -> list[Comment]:
        with self._lock:
            return [c for c in self._comments.values() if c.repo.lower() == full_name.lower() and c.number == number]

    def comment(self, comment_id: int) -> Comment:
        return self._comments[comment_id]

    def reactions(self, comment_id: int) -> list[str]:
        """The reactions' contents on a comment, in the order given."""
        return [r["content"] for r in self._comments[comment_id].reactions]

    def statuses(self, full_name: str, sha: str) -> list[dict]:
        """Commit statuses on a sha, newest first, as records (context, state, description, target_url)."""
        return list(self.repo(full_name).statuses.get(sha, []))

    def latest_statuses(self, full_name: str, sha: str) -> dict[str, dict]:
        """context -> the newest status record for it, what GitHub shows on the PR."""
        latest: dict[str, dict] = {}
        for record in self.statuses(full_name, sha):
            latest.setdefault(record["context"], record)
        return latest

    # State API: faults and rate limits -------------------------------------------------------

    def fail_next(
        self, count: int = 1, *, status: int = 502, match: str | None = None, after_write: bool = False
    ) -> None:
        """Answer the next `count` requests (matching the regex `match` on "METHOD /path") with `status`.

        With `after_write`, the request is carried out first and only the answer is lost,
        as when GitHub times out after saving a comment.
        """
        with self._lock:
            self._faults.append(_Fault("status", count, status, match, after_write=after_write))

    def secondary_limit_next(
        self, count: int = 1, *, retry_after: int | None = 1, status: int = 403, match: str | None = None
    ) -> None:
        """GitHub's secondary rate limit: 403 (or 429) for the next `count` requests, with Retry-After,
        or (retry_after None) without it, as GitHub also answers: then only the primary limit's
        X-RateLimit-* headers come along, with requests remaining and a reset up to an hour away."""
        with self._lock:
            self._faults.append(_Fault("secondary", count, status, match, retry_after=retry_after))

    def clear_faults(self) -> None:
        """Answer normally again (faults queued by fail_next and secondary_limit_next are dropped)."""
        with self._lock:
            self._faults.clear()

    def exhaust_rate_limit(self, reset_in: float = 3.0, token: str | None = None) -> int:
        """Use up the primary rate limit of `token` (default: the main token) until `reset_in` seconds pass."""
        with self._lock:
            bucket = self._bucket(f"token:{token or self.token}", self.rate_limit_total)
            bucket.remaining = 0
            now = time.time()
            bucket.reset = int(now + reset_in + 0.999)  # GitHub announces whole seconds...
            bucket.resets_at = now + reset_in  # ... this one frees up after exactly reset_in, never later
            return bucket.reset

    def remaining(self, token: str | None = None) -> int:
        """The primary rate limit left for `token` (default: the main token; "anonymous" for none)."""
        with self._lock:
            key = "anonymous" if token == "anonymous" else f"token:{token or self.token}"
            limit = self.anonymous_rate_limit if key == "anonymous" else self.rate_limit_total
            return self._bucket(key, limit).remaining

    def _bucket(self, key: str, limit: int) -> _Bucket:
        bucket = self._buckets.get(key)
        now = time.time()
        if bucket is None or now >= (bucket.resets_at if bucket.resets_at is not None else bucket.reset):
            bucket = self._buckets[key] = _Bucket(limit, limit, int(now) + 3600)
        return bucket

    # Request log ---------------------------------------------------------------------------

    def not_modified(self) -> list[Request]:
        """The conditional requests answered 304 (which GitHub does not count against the rate limit)."""
        return [r for r in self.requests if r.status == 304]

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.is_write]

    def requests_to(self, method: str, pattern: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # Webhook payloads -----------------------------------------------------------------------

    def pull_request_event(self, full_name: str, number: int, action: str, sender: str | None = None) -> dict:
        """A pull_request webhook payload for the PR as the fake has it now."""
        with self._lock:
            pull = self.pull(full_name, number)
            payload = {
                "action": action,
                "number": number,
                "pull_request": self._pull_shape(pull, detail=True),
                "repository": self._repo_shape(self.repo(full_name), None),
                "sender": self._user_shape(sender or pull.author),
            }
            if action == "synchronize":
                before = pull.commits[-2] if len(pull.commits) > 1 else pull.base_sha
                payload = {**payload, "before": before, "after": pull.head_sha}
            return shapes.for_webhook(payload)

    def issue_comment_event(self, comment_id: int, action: str = "created") -> dict:
        """An issue_comment webhook payload for a comment on a PR."""
        with self._lock:
            comment = self._comments[comment_id]
            pull = self.pull(comment.repo, comment.number)
            return shapes.for_webhook(
                {
                    "action": action,
                    "issue": shapes.issue(self.url, pull, self._user_shape(pull.author), pull.comment_count),
                    "comment": self._comment_shape(comment),
                    "repository": self._repo_shape(self.repo(comment.repo), None),
                    "sender": self._user_shape(comment.author),
                }
            )

    def push_event(self, full_name: str, branch: str, before: str) -> dict:
        """A push webhook payload for the branch's current head."""
        with self._lock:
            repo = self.repo(full_name)
            after = repo.branches[branch]
            head = self._commits[after]
            commit = {
                "id": after,
                "tree_id": shapes.tree_sha(after),
                "distinct": True,
                "message": head.message,
                "timestamp": head.date,
                "url": f"{shapes.WEB}/{repo.full_name}/commit/{after}",
                "author": {
                    "name": head.author,
                    "email": f"{head.author}@users.noreply.github.com",
                    "username": head.author,
                },
                "committer": {
                    "name": head.author,
                    "email": f"{head.author}@users.noreply.github.com",
                    "username": head.author,
                },
                "added": [],
                "removed": [],
                "modified": ["README.md"],
            }
            return shapes.for_webhook(
                {
                    "ref": f"refs/heads/{branch}",
                    "before": before,
                    "after": after,
                    "created": before == ZERO_SHA,
                    "deleted": False,
                    "forced": False,
                    "base_ref": None,
                    "compare": f"{shapes.WEB}/{repo.full_name}/compare/{before[:12]}...{after[:12]}",
                    "commits": [commit],
                    "head_commit": commit,
                    "repository": self._push_repo_shape(repo),
                    "pusher": {"name": head.author, "email": f"{head.author}@users.noreply.github.com"},
                    "sender": self._user_shape(head.author),
                }
            )

    def ping_event(self, full_name: str, hook_id: int = 1) -> dict:
        with self._lock:
            repo = self.repo(full_name)
            hook_url = f"{self.url}/repos/{repo.full_name}/hooks/{hook_id}"
            return shapes.for_webhook(
                {
                    "zen": "Keep it logically awesome.",
                    "hook_id": hook_id,
                    "hook": {
                        "type": "Repository",
                        "id": hook_id,
                        "name": "web",
                        "active": True,
                        "events": ["issue_comment", "pull_request", "push"],
                        "config": {"content_type": "json", "url": "http://127.0.0.1/webhook", "insecure_ssl": "0"},
                        "updated_at": self._created,
                        "created_at": self._created,
                        "url": hook_url,
                        "test_url": f"{hook_url}/test",
                        "ping_url": f"{hook_url}/pings",
                        "deliveries_url": f"{hook_url}/deliveries",
                        "last_response": {"code": None, "status": "unused", "message": None},
                    },
                    "repository": self._repo_shape(repo, None),
                    "sender": self._user_shape(repo.full_name.split("/")[0]),
                }
            )

    # Shapes from state -----------------------------------------------------------------------

    def _push_repo_shape(self, repo: Repo) -> dict:
        """The repository as push deliveries carry it: GitHub's older shape, with unix times for created_at
        and pushed_at, the owner's name and email, stargazers and master_branch (its own docs' example)."""
        shape = shapes.for_webhook(self._repo_shape(repo, None))
        owner = shape["owner"]
        shape["owner"] = {"name": owner["login"], "email": None, **owner}
        for key in ("created_at", "pushed_at"):
            shape[key] = calendar.timegm(time.strptime(shape[key], "%Y-%m-%dT%H:%M:%SZ"))
        shape["stargazers"] = shape["stargazers_count"]
        shape["master_branch"] = repo.default_branch
        return shape

    def _user_shape(self, login: str) -> dict:
        name, uid, kind = self._user(login)
        return shapes.user(self.url, name, uid, kind)

    def _role(self, repo: Repo, login: str | None) -> str:
        if login is None:
            return "read"
        if login.lower() in repo.collaborators:
            return repo.collaborators[login.lower()]
        if login.lower() == repo.full_name.split("/")[0].lower():
            return "admin"
        if login == self.login or (self._app and login == f"{self._app['slug']}[bot]"):
            return "write"  # the bot itself, unless a test says otherwise
        return "read"

    def _repo_shape(self, repo: Repo, caller: str | None) -> dict:
        parent = self._repo_shape(self.repo(repo.parent), None) if repo.parent else None
        open_issues = sum(1 for p in self._pulls.values() if p.repo == repo.full_name and p.state == "open")
        permissions = shapes.repo_permissions(self._role(repo, caller)) if caller else None
        return shapes.repository(
            self.url,
            repo,
            self._user_shape(repo.full_name.split("/")[0]),
            open_issues=open_issues,
            permissions=permissions,
            parent=parent,
        )

    def _pull_shape(self, pull: Pull, *, detail: bool) -> dict:
        base_repo = self.repo(pull.repo)
        base_owner = pull.repo.split("/")[0]
        base = shapes.pull_end(
            base_owner, pull.base_ref, pull.base_sha, self._user_shape(base_owner), self._repo_shape(base_repo, None)
        )
        if pull.head_deleted:
            head = shapes.pull_end("", pull.head_ref, pull.head_sha, None, None)
        else:
            head_full = pull.fork or pull.repo
            head_owner = head_full.split("/")[0]
            head = shapes.pull_end(
                head_owner,
                pull.head_ref,
                pull.head_sha,
                self._user_shape(head_owner),
                self._repo_shape(self.repo(head_full), None),
            )
        merged_by = self._user_shape(base_owner) if pull.merged else None
        return shapes.pull_request(
            self.url,
            pull,
            author=self._user_shape(pull.author),
            head=head,
            base=base,
            detail=detail,
            merged_by=merged_by,
        )

    def _comment_shape(self, comment: Comment) -> dict:
        return shapes.issue_comment(self.url, comment, self._user_shape(comment.author))

    def _commit_shape(self, full: str, sha: str, *, files: bool) -> dict:
        commit = self._commits[sha]
        build = shapes.full_commit if files else shapes.git_commit
        return build(self.url, full, commit, self._user_shape(commit.author))

    def _resolve(self, repo: Repo, ref: str) -> str | None:
        """A sha from a sha, a sha prefix, a branch name, or owner:branch of a fork."""
        if ":" in ref:
            owner, branch = ref.split(":", 1)
            fork = self._repos.get(f"{owner}/{repo.full_name.split('/')[1]}".lower())
            return fork.branches.get(branch) if fork else None
        if ref in repo.branches:
            return repo.branches[ref]
        if ref.startswith("refs/heads/") and ref[11:] in repo.branches:
            return repo.branches[ref[11:]]
        if ref in self._commits:
            return ref
        if len(ref) >= 7 and re.fullmatch(r"[0-9a-f]+", ref):
            found = [sha for sha in self._commits if sha.startswith(ref)]
            return found[0] if len(found) == 1 else None
        return None

    def _ancestors(self, sha: str) -> list[str]:
        """`sha` and its ancestors, nearest first."""
        seen, order, queue = set(), [], [sha]
        while queue:
            current = queue.pop(0)
            if current in seen or current not in self._commits:
                continue
            seen.add(current)
            order.append(current)
            queue.extend(self._commits[current].parents)
        return order

    # Request handling -------------------------------------------------------------------------

    def _authenticate(self, headers: dict[str, str]) -> _Identity:
        auth = headers.get("authorization")
        if not auth:
            if not self.allow_anonymous:
                raise HTTPError(401, "Requires authentication", doc="/overview/authenticating-to-the-rest-api")
            return _Identity("anonymous", None, "anonymous")
        scheme, _, credential = auth.partition(" ")
        scheme = scheme.lower()
        if scheme in ("token", "bearer") and credential in self._tokens:
            return _Identity("token", self._tokens[credential], f"token:{credential}")
        if scheme in ("token", "bearer") and credential in self._installation_tokens:
            login, expires = self._installation_tokens[credential]
            if time.time() < expires:
                return _Identity("installation", login, f"token:{credential}")
        if scheme == "bearer" and credential.count(".") == 2 and self._app:
            return _Identity("jwt", None, f"app:{self._verify_jwt(credential)}")
        raise HTTPError(401, "Bad credentials", doc="/overview/troubleshooting-the-rest-api")

    def _verify_jwt(self, token: str) -> int:
        import jwt  # PyJWT, a dependency of PyGithub

        try:
            claims = jwt.decode(
                token, self._app["key"], algorithms=["RS256"], options={"require": ["iat", "exp", "iss"]}, leeway=60
            )
        except jwt.PyJWTError as e:
            raise HTTPError(401, f"A JSON web token could not be decoded ({e})") from None
        if str(claims["iss"]) != str(self._app["id"]):
            raise HTTPError(401, f"'Issuer' claim ('iss') must be an Integer: {claims['iss']} is not this app")
        return self._app["id"]

    def handle(self, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> tuple[int, dict, bytes]:
        """One HTTP exchange: (status, headers, body bytes)."""
        parts = urlsplit(target)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = raw_body.decode("utf-8", "replace")
        request = Request(method, path, query, dict(headers), body)
        with self._lock:
            self.requests.append(request)
        status, out_headers, out = self._respond(request, parts.query)
        request.status = status
        return status, out_headers, out

    def _respond(self, request: Request, raw_query: str) -> tuple[int, dict, bytes]:
        method, path, headers = request.method, request.path, request.headers
        with self._lock:
            fault = next((f for f in self._faults if f.applies(method, path)), None)
            if fault:
                fault.count -= 1
                self._faults = [f for f in self._faults if f.count > 0]
        if fault and fault.kind == "secondary":
            limits = None
            if fault.retry_after is None:
                with self._lock:
                    limits = self._bucket(f"token:{self.token}", self.rate_limit_total)
            return self._error(
                HTTPError(
                    fault.status,
                    "You have exceeded a secondary rate limit. Please wait a few "
                    "minutes before you try again. If you reach out to GitHub Support for help, "
                    f"please include the request ID {secrets.token_hex(4).upper()}.",
                    {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)},
                    doc="/overview/rate-limits-for-the-rest-api",
                ),
                limits,
            )
        if fault and not fault.after_write:
            return self._error(HTTPError(fault.status, "Server Error"), None)
        try:
            identity = self._authenticate(headers)
        except HTTPError as e:
            return self._error(e, None)
        limit = self.anonymous_rate_limit if identity.kind == "anonymous" else self.rate_limit_total
        counted = path != "/rate_limit"
        with self._lock:
            bucket = self._bucket(identity.bucket, limit)
            if counted and bucket.remaining <= 0:
                # GitHub's own body for this, as recorded in SpecificExceptions.testRateLimitExceeded.
                return self._json(403, {"message": "API Rate Limit Exceeded for 127.0.0.1"}, bucket)
            try:
                response = self._route(request, identity)
            except HTTPError as e:
                bucket.remaining -= counted
                return self._error(e, bucket)
            if fault:  # after_write: the work is done, the answer is lost
                bucket.remaining -= counted
                return self._error(HTTPError(fault.status, "Server Error"), bucket)
            body, link = response.body, None
            if response.paginated is not None:
                body, link = self._page(path, raw_query, *response.paginated)
            payload = json.dumps(body).encode()
            extra = dict(response.headers)
            if link:
                extra["Link"] = link
            if method == "GET" and response.status == 200:
                etag = 'W/"' + hashlib.sha256(payload + identity.bucket.encode()).hexdigest() + '"'
                extra["ETag"] = etag
                wanted = [t.strip() for t in headers.get("if-none-match", "").split(",")]
                if etag in wanted or etag[2:] in wanted:
                    return self._with_limits(304, extra, b"", bucket)  # free, as on GitHub
            bucket.remaining -= counted
            return self._with_limits(
                response.status, {"Content-Type": "application/json; charset=utf-8", **extra}, payload, bucket
            )

    def _page(self, path: str, raw_query: str, items: list, query: dict) -> tuple[list, str | None]:
        try:
            per_page = max(1, min(100, int(query.get("per_page", 30))))
            page = max(1, int(query.get("page", 1)))
        except ValueError:
            raise HTTPError(422, "Invalid per_page or page") from None
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(n: int, rel: str) -> str:
            params = [
                (k, v) for k, v in parse_qs(raw_query, keep_blank_values=True).items() for v in v if k != "page"
            ] + [("page", str(n))]
            return f'<{self.url}{path}?{urlencode(params)}>; rel="{rel}"'

        rels = []
        if page > 1:
            rels.append(link(page - 1, "prev"))
        if page < last:
            rels.append(link(page + 1, "next"))
            rels.append(link(last, "last"))
        if page > 1:
            rels.append(link(1, "first"))
        return chunk, ", ".join(rels) or None

    def _json(self, status: int, body: Any, bucket: _Bucket | None, headers: dict | None = None):
        return self._with_limits(
            status,
            {"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            json.dumps(body).encode(),
            bucket,
        )

    def _error(self, e: HTTPError, bucket: _Bucket | None):
        return self._json(e.status, shapes.error(e.status, e.message, e.doc), bucket, e.headers)

    def _with_limits(self, status: int, headers: dict, body: bytes, bucket: _Bucket | None):
        headers = {
            **headers,
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": secrets.token_hex(8).upper(),
            "x-github-api-version-selected": "2022-11-28",
            "Vary": "Accept, Authorization, Cookie, X-GitHub-OTP",
        }
        if bucket is not None:
            headers.update(
                {
                    "X-RateLimit-Limit": str(bucket.limit),
                    "X-RateLimit-Remaining": str(max(0, bucket.remaining)),
                    "X-RateLimit-Reset": str(bucket.reset),
                    "X-RateLimit-Used": str(bucket.limit - max(0, bucket.remaining)),
                    "X-RateLimit-Resource": "core",
                }
            )
        return status, headers, body

    # Routes ----------------------------------------------------------------------------------

    def _route(self, request: Request, identity: _Identity) -> _Response:
        for method, pattern, handler in _ROUTES:
            m = re.fullmatch(pattern, request.path)
            if m and method == request.method:
                return handler(self, request, identity, *m.groups())
        raise HTTPError(404, "Not Found")  # also for a known path with another verb, as GitHub does

    def _need_user(self, identity: _Identity, write: bool = True) -> str:
        if identity.kind == "jwt":
            raise HTTPError(403, "Resource not accessible by integration")
        if identity.login is None:
            raise HTTPError(401 if write else 404, "Requires authentication" if write else "Not Found")
        return identity.login

    def _repo_or_404(self, full: str) -> Repo:
        repo = self._repos.get(full.lower())
        if repo is None:
            raise HTTPError(404, "Not Found", doc="/repos/repos#get-a-repository")
        return repo

    def _pull_or_404(self, full: str, number: str) -> Pull:
        pull = self._pulls.get((full.lower(), int(number)))
        if pull is None:
            raise HTTPError(404, "Not Found", doc="/pulls/pulls#get-a-pull-request")
        return pull

    def _comment_or_404(self, full: str, comment_id: str) -> Comment:
        comment = self._comments.get(int(comment_id))
        if comment is None or comment.repo.lower() != full.lower():
            raise HTTPError(404, "Not Found", doc="/issues/comments#get-an-issue-comment")
        return comment

    def get_user(self, request, identity) -> _Response:
        if identity.kind == "installation":
            raise HTTPError(
                403, "Resource not accessible by integration", doc="/users/users#get-the-authenticated-user"
            )
        login = self._need_user(identity)
        name, uid, _ = self._user(login)
        return _Response(200, shapes.authenticated_user(self.url, name, uid, self._created))

    def get_rate_limit(self, request, identity) -> _Response:
        limit = self.anonymous_rate_limit if identity.kind == "anonymous" else self.rate_limit_total
        bucket = self._bucket(identity.bucket, limit)
        return _Response(200, shapes.rate_limit(bucket.limit, max(0, bucket.remaining), bucket.reset))

    def get_app(self, request, identity) -> _Response:
        if identity.kind != "jwt":
            raise HTTPError(401, "A JSON web token could not be decoded")
        slug = self._app["slug"]
        return _Response(200, shapes.app(self.url, self._app["id"], slug, self._user_shape(self.login), self._created))

    def create_access_token(self, request, identity, installation_id) -> _Response:
        if identity.kind != "jwt":
            raise HTTPError(401, "A JSON web token could not be decoded")
        if int(installation_id) != self._app["installation"]:
            raise HTTPError(404, "Not Found", doc="/apps/apps#create-an-installation-access-token-for-an-app")
        token = "ghs_" + secrets.token_hex(18)
        expires = time.time() + 3600
        self._installation_tokens[token] = (f"{self._app['slug']}[bot]", expires)
        return _Response(201, shapes.access_token(token, iso(expires)))

    def get_repo(self, request, identity, full) -> _Response:
        repo = self._repo_or_404(full)
        return _Response(200, self._repo_shape(repo, identity.login))

    def list_pulls(self, request, identity, full) -> _Response:
        repo = self._repo_or_404(full)
        q = request.query
        state = q.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise HTTPError(422, "Validation Failed")
        sort = q.get("sort", "created")
        key = {"created": lambda p: (p.created_at, p.number), "updated": lambda p: (p.updated_at, p.number)}.get(
            sort, lambda p: (p.created_at, p.number)
        )
        descending = q.get("direction", "desc" if sort in ("created", "updated") else "asc") == "desc"
        pulls = [
            p
            for p in self._pulls.values()
            if p.repo == repo.full_name
            and (state == "all" or p.state == state)
            and ("base" not in q or p.base_ref == q["base"])
        ]
        pulls.sort(key=key, reverse=descending)
        return _Response(200, None, paginated=([self._pull_shape(p, detail=False) for p in pulls], q))

    def get_pull(self, request, identity, full, number) -> _Response:
        return _Response(200, self._pull_shape(self._pull_or_404(full, number), detail=True))

    def list_commit_pulls(self, request, identity, full, ref) -> _Response:
        """GET /repos/{repo}/commits/{sha}/pulls: the PRs whose commits include it, or that merged into it,
        as entries of the pulls list (GitHub's shape), oldest PR first."""
        repo = self._repo_or_404(full)
        sha = self._resolve(repo, ref)
        if sha is None:
            raise HTTPError(
                422,
                f"No commit found for SHA: {ref}",
                doc="/commits/commits#list-pull-requests-associated-with-a-commit",
            )
        found = [
            p
            for p in self._pulls.values()
            if p.repo == repo.full_name and (sha in p.commits or p.merge_commit_sha == sha)
        ]
        found.sort(key=lambda p: p.number)
        return _Response(200, None, paginated=([self._pull_shape(p, detail=False) for p in found], request.query))

    def list_pull_commits(self, request, identity, full, number) -> _Response:
        pull = self._pull_or_404(full, number)
        head_full = pull.fork or pull.repo
        return _Response(
            200, None, paginated=([self._commit_shape(head_full, s, files=False) for s in pull.commits], request.query)
        )

    def get_issue(self, request, identity, full, number) -> _Response:
        pull = self._pull_or_404(full, number)
        return _Response(200, shapes.issue(self.url, pull, self._user_shape(pull.author), pull.comment_count))

    def get_branch(self, request, identity, full, name) -> _Response:
        repo = self._repo_or_404(full)
        if name not in repo.branches:
            raise HTTPError(404, "Branch not found", doc="/branches/branches#get-a-branch")
        commit = self._commit_shape(repo.full_name, repo.branches[name], files=False)
        return _Response(200, shapes.branch(self.url, repo.full_name, name, commit))

    def get_commit(self, request, identity, full, ref) -> _Response:
        repo = self._repo_or_404(full)
        sha = self._resolve(repo, ref)
        if sha is None:
            raise HTTPError(422, f"No commit found for SHA: {ref}", doc="/commits/commits#get-a-commit")
        return _Response(200, self._commit_shape(repo.full_name, sha, files=True))

    def compare(self, request, identity, full, base, head) -> _Response:
        repo = self._repo_or_404(full)
        base_sha, head_sha = self._resolve(repo, base), self._resolve(repo, head)
        if base_sha is None or head_sha is None:
            raise HTTPError(404, "Not Found", doc="/commits/commits#compare-two-commits")
        base_line, head_line = self._ancestors(base_sha), self._ancestors(head_sha)
        merge_base = next((sha for sha in head_line if sha in set(base_line)), None)
        if merge_base is None:
            raise HTTPError(404, f"No common ancestor between {base} and {head}.")
        ahead = [sha for sha in head_line if sha not in set(base_line)]
        behind = [sha for sha in base_line if sha not in set(head_line)]
        return _Response(
            200,
            shapes.comparison(
                self.url,
                repo.full_name,
                base,
                head,
                self._commit_shape(repo.full_name, base_sha, files=False),
                self._commit_shape(repo.full_name, merge_base, files=False),
                [self._commit_shape(repo.full_name, sha, files=False) for sha in reversed(ahead)],
                len(behind),
            ),
        )

    def get_permission(self, request, identity, full, login) -> _Response:
        repo = self._repo_or_404(full)
        caller = self._need_user(identity, write=False)
        if identity.kind == "token" and self._role(repo, caller) in ("none", "read", "triage"):
            # As recorded in Repository.testCollaboratorPermissionNoPushAccess.
            raise HTTPError(
                403,
                "Must have push access to view collaborator permission.",
                doc="/collaborators/collaborators#get-repository-permissions-for-a-user",
            )
        if login.lower() not in self._users:
            raise HTTPError(404, "Not Found", doc="/collaborators/collaborators#get-repository-permissions-for-a-user")
        return _Response(200, shapes.permission(self._role(repo, login), self._user_shape(login)))

    def list_comments(self, request, identity, full, number) -> _Response:
        self._repo_or_404(full)
        self._pull_or_404(full, number)
        since = request.query.get("since")
        found = sorted(
            (c for c in self.comments(full, int(number)) if since is None or c.updated_at >= since), key=lambda c: c.id
        )
        return _Response(200, None, paginated=([self._comment_shape(c) for c in found], request.query))

    def list_repo_comments(self, request, identity, full) -> _Response:
        """GET /repos/{repo}/issues/comments: every issue and PR comment, `since` on updated_at."""
        repo = self._repo_or_404(full)
        q = request.query
        since = q.get("since")
        sort = q.get("sort", "created")
        if sort not in ("created", "updated"):
            raise HTTPError(422, "Validation Failed", doc="/issues/comments#list-issue-comments-for-a-repository")
        found = [
            c
            for c in self._comments.values()
            if c.repo.lower() == repo.full_name.lower() and (since is None or c.updated_at >= since)
        ]
        found.sort(
            key=(lambda c: (c.updated_at, c.id)) if sort == "updated" else (lambda c: c.id),
            reverse=q.get("direction", "asc") == "desc",
        )
        return _Response(200, None, paginated=([self._comment_shape(c) for c in found], q))

    def create_comment(self, request, identity, full, number) -> _Response:
        login = self._need_user(identity)
        pull = self._pull_or_404(full, number)
        body = request.body.get("body") if isinstance(request.body, dict) else None
        if not isinstance(body, str):
            raise HTTPError(422, 'Invalid request.\n\n"body" wasn\'t supplied.')
        now = iso(self.now())
        comment = Comment(next(self._ids), pull.repo, pull.number, login, body, "NONE", now, now)
        self._comments[comment.id] = comment
        pull.comment_count += 1
        pull.updated_at = now
        shape = self._comment_shape(comment)
        return _Response(201, shape, {"Location": shape["url"]})

    def get_comment(self, request, identity, full, comment_id) -> _Response:
        return _Response(200, self._comment_shape(self._comment_or_404(full, comment_id)))

    def edit_comment_route(self, request, identity, full, comment_id) -> _Response:
        self._need_user(identity)
        comment = self._comment_or_404(full, comment_id)
        body = request.body.get("body") if isinstance(request.body, dict) else None
        if not isinstance(body, str):
            raise HTTPError(422, 'Invalid request.\n\n"body" wasn\'t supplied.')
        comment.body, comment.updated_at = body, iso(self.now())
        return _Response(200, self._comment_shape(comment))

    def create_reaction(self, request, identity, full, comment_id) -> _Response:
        login = self._need_user(identity)
        comment = self._comment_or_404(full, comment_id)
        content = request.body.get("content") if isinstance(request.body, dict) else None
        if content not in shapes.REACTIONS:
            raise HTTPError(422, "Validation Failed", doc="/reactions/reactions#create-reaction-for-an-issue-comment")
        for existing in comment.reactions:
            if existing["user"] == login and existing["content"] == content:
                return _Response(200, shapes.reaction(existing, self._user_shape(login)))
        record = {"id": next(self._ids), "user": login, "content": content, "created_at": iso(self.now())}
        comment.reactions.append(record)
        return _Response(201, shapes.reaction(record, self._user_shape(login)))

    def create_status(self, request, identity, full, sha) -> _Response:
        login = self._need_user(identity)
        repo = self._repo_or_404(full)
        body = request.body if isinstance(request.body, dict) else {}
        if sha not in self._commits:
            raise HTTPError(422, f"No commit found for SHA: {sha}", doc="/commits/statuses#create-a-commit-status")
        if body.get("state") not in ("error", "failure", "pending", "success"):
            raise HTTPError(422, "Validation Failed", doc="/commits/statuses#create-a-commit-status")
        record = {
            "id": next(self._ids),
            "sha": sha,
            "state": body["state"],
            "context": body.get("context") or "default",
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "created_at": iso(self.now()),
            "creator": login,
        }
        repo.statuses.setdefault(sha, []).insert(0, record)
        shape = shapes.status(self.url, repo.full_name, record, self._user_shape(login))
        return _Response(201, shape, {"Location": shape["url"]})

    def list_statuses(self, request, identity, full, ref) -> _Response:
        repo = self._repo_or_404(full)
        sha = self._resolve(repo, ref)
        records = repo.statuses.get(sha, []) if sha else []
        return _Response(
            200,
            None,
            paginated=(
                [shapes.status(self.url, repo.full_name, r, self._user_shape(r["creator"])) for r in records],
                request.query,
            ),
        )


_REPO = r"/repos/([^/]+/[^/]+)"
_ROUTES: list[tuple[str, str, Callable]] = [
    ("GET", r"/user", FakeGitHub.get_user),
    ("GET", r"/rate_limit", FakeGitHub.get_rate_limit),
    ("GET", r"/app", FakeGitHub.get_app),
    ("POST", r"/app/installations/(\d+)/access_tokens", FakeGitHub.create_access_token),
    ("GET", _REPO, FakeGitHub.get_repo),
    ("GET", _REPO + r"/pulls", FakeGitHub.list_pulls),
    ("GET", _REPO + r"/pulls/(\d+)", FakeGitHub.get_pull),
    ("GET", _REPO + r"/pulls/(\d+)/commits", FakeGitHub.list_pull_commits),
    ("GET", _REPO + r"/issues/(\d+)", FakeGitHub.get_issue),
    ("GET", _REPO + r"/branches/(.+)", FakeGitHub.get_branch),
    ("GET", _REPO + r"/commits/([^/]+)/statuses", FakeGitHub.list_statuses),
    ("GET", _REPO + r"/commits/([^/]+)/pulls", FakeGitHub.list_commit_pulls),
    ("GET", _REPO + r"/commits/(.+)", FakeGitHub.get_commit),
    ("GET", _REPO + r"/compare/(.+?)\.\.\.(.+)", FakeGitHub.compare),
    ("GET", _REPO + r"/collaborators/([^/]+)/permission", FakeGitHub.get_permission),
    ("GET", _REPO + r"/issues/comments", FakeGitHub.list_repo_comments),
    ("GET", _REPO + r"/issues/(\d+)/comments", FakeGitHub.list_comments),
    ("POST", _REPO + r"/issues/(\d+)/comments", FakeGitHub.create_comment),
    ("GET", _REPO + r"/issues/comments/(\d+)", FakeGitHub.get_comment),
    ("PATCH", _REPO + r"/issues/comments/(\d+)", FakeGitHub.edit_comment_route),
    ("POST", _REPO + r"/issues/comments/(\d+)/reactions", FakeGitHub.create_reaction),
    ("POST", _REPO + r"/statuses/([0-9a-f]{40})", FakeGitHub.create_status),
    ("GET", _REPO + r"/statuses/([^/]+)", FakeGitHub.list_statuses),
]


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def version_string(self) -> str:
        return "GitHub.com"

    def setup(self) -> None:
        super().setup()
        with self.fake._lock:
            self.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.fake._lock:
            self.fake._connections.discard(self.connection)
        super().finish()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out_headers, body = self.fake.handle(self.command, self.path, headers, raw)
        self.send_response(status)
        for name, value in out_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args) -> None:  # the request log is `fake.requests`
        pass
