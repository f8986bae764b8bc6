"""GitHub access for perfbot: the only module that imports PyGithub.

Everything the bot needs from GitHub is a method of `GitHub` that takes and
returns plain values (PullRequest, CommentInfo, str, int), never PyGithub objects,
so the rest of the bot can be tested without a network and keeps working when
PyGithub changes.

Why it looks the way it does:

- Polling is cheap: `open_pulls`, `new_comments` and `branch_head` send the ETag of the last
  answer (If-None-Match). GitHub answers 304 for "nothing changed" and does
  not count that against the rate limit, so an idle poll costs nothing; the
  methods then return None.
- Failures are bounded: a 5xx or a network error is retried a few times with
  exponential backoff and jitter, then raised as GitHubUnavailable. Rate limits
  follow GitHub's documented rule: a `Retry-After` is honoured (waited out here
  when short, else raised); with `x-ratelimit-remaining: 0` the wait is until
  `x-ratelimit-reset`; a secondary limit without `Retry-After` waits at least a
  minute, doubling while it goes on (1, 2, 4, ... up to 15 minutes), never until
  the primary limit's reset, which may be an hour away. Everything longer than a
  short Retry-After is raised as RateLimited with the time to come back: the
  caller keeps the work and comes back later; nothing here sleeps for long.
- Writes are safe to repeat: `upsert_comment` finds the bot's comment by its
  hidden marker before it creates one, so a retry after a lost answer edits
  instead of duplicating; `reply` looks for its own identical comment before
  posting again after a failure; reactions and statuses are idempotent.
- With no credentials the bot runs dry: reads work (unauthenticated), writes
  are logged as "[dry-run] would ..." and return None.
- Tokens never reach a log line, an exception or a repr.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import github
import requests
import tenacity
from github.GithubException import GithubException

from bot.errors import BadSetting, GitHubError
from bot.github.events import PullRequest
from bot.settings import GitHubSettings

log = logging.getLogger("perfbot.github")

T = TypeVar("T")

ROLES = ("admin", "maintain", "write", "triage", "read", "none")
STATUS_STATES = ("error", "failure", "pending", "success")
#: GitHub refuses a commit status description longer than this.
STATUS_DESCRIPTION_MAX = 140
#: How far back `reply` looks for its own comment after a failed post (covers clock skew).
REPLY_LOOKBACK_S = 120
#: A secondary rate limit without Retry-After: wait this long at first, doubling up to the maximum.
SECONDARY_FIRST_WAIT_S = 60.0
SECONDARY_MAX_WAIT_S = 900.0


class GitHubUnavailable(GitHubError):
    "GitHub could not be reached or answered with a server error, after retries"


class RateLimited(GitHubError):
    "GitHub's rate limit is used up; try again after reset_at"

    def __init__(self, message: str, reset_at: float):
        super().__init__(message)
        self.reset_at = reset_at


class GitHubAuthError(GitHubError):
    "GitHub refused perfbot's credentials"


class GitHubNotFound(GitHubError):
    "GitHub has no such repository, pull request or comment (or hides it from these credentials)"


@dataclass(frozen=True)
class CommentInfo:
    id: int
    author: str
    body: str
    created_at: str
    updated_at: str
    url: str
    number: int | None = None  # the issue or pull request it is on


class EtagCache(Protocol):
    """Where the ETag and the value of the last answer to a poll are kept (the bot: its poll_state table)."""

    def get(self, key: str) -> tuple[str, str] | None: ...

    def put(self, key: str, etag: str, value_json: str) -> None: ...


class MemoryEtagCache:
    """An EtagCache in a dict, for tests and one-shot commands."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, str]] = {}

    def get(self, key: str) -> tuple[str, str] | None:
        return self.entries.get(key)

    def put(self, key: str, etag: str, value_json: str) -> None:
        self.entries[key] = (etag, value_json)


@dataclass(frozen=True)
class RequestRetry:
    """How long one operation keeps trying before it hands a failure back to its caller (a few short waits);
    when the caller tries the work again, in a later round, is bot/github/retry.py's RetryPolicy."""

    attempts: int = 4  # tries per operation, for 5xx, network errors and short Retry-After waits
    first_delay: float = 1.0  # seconds before the 2nd try; doubles each time, with jitter
    max_delay: float = 30.0
    max_retry_after: float = 60.0  # a longer Retry-After is raised as RateLimited instead of waited out

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"RequestRetry.attempts={self.attempts}: at least one attempt is needed")


class GitHub:
    """GitHub as the bot sees it. See the module docstring for the retry and dry-run rules."""

    def __init__(
        self,
        settings: GitHubSettings,
        *,
        etags: EtagCache | None = None,
        sleep=time.sleep,
        clock=time.time,
        retry: RequestRetry | None = None,
        jitter=random.random,
        per_page: int = 100,
        timeout: int = 15,
        seconds_between_requests: float | None = 0.25,
        seconds_between_writes: float | None = 1.0,
    ):
        self.settings = settings
        self.dry_run = settings.dry_run
        self._etags = etags if etags is not None else MemoryEtagCache()
        self._sleep, self._clock, self._jitter = sleep, clock, jitter
        self._retry = retry or RequestRetry()
        self._auth_kind, auth, self._app_auth = _auth(settings)
        for secret in (settings.token, settings.app_private_key):
            _REDACT.add(secret)
        self._client_options = dict(
            base_url=settings.api_url,
            timeout=timeout,
            user_agent="perfbot",
            per_page=per_page,
            retry=None,
            seconds_between_requests=seconds_between_requests,
            seconds_between_writes=seconds_between_writes,
        )
        self._gh = github.Github(auth=auth, **self._client_options)
        self._requester = self._gh.requester
        self._login: str | None = None
        self._login_known = False
        self._secondary_strikes = 0  # secondary limits without Retry-After in a row

    def __repr__(self) -> str:
        return f"GitHub(api_url={self.settings.api_url!r}, auth={self._auth_kind!r}, dry_run={self.dry_run})"

    def close(self) -> None:
        self._gh.close()

    @property
    def etags(self) -> EtagCache:
        """Where conditional requests keep their ETags (a poller may hold writes back until it has acted)."""
        return self._etags

    # Reads -------------------------------------------------------------------------------------

    def open_pulls(self, repo: str, *, refresh: bool = False) -> list[PullRequest] | None:
        """Every open PR, or None when GitHub says nothing changed since the stored ETags (free of rate limit).

        Each page has its own ETag, so a change on any page is seen; `refresh` ignores
        stored ETags (a full read, e.g. at start-up when the last answer may not have been acted on).
        """

        def read() -> list[PullRequest] | None:
            pulls: list[PullRequest] = []
            changed = False
            for page in range(1, 1000):
                fresh, value = self._conditional_get(
                    f"pulls:{repo}:open:page{page}",
                    f"/repos/{repo}/pulls",
                    {"state": "open", "sort": "created", "direction": "desc", "per_page": self._per_page, "page": page},
                    lambda data, headers: {
                        "pulls": [dataclasses.asdict(PullRequest.from_api(p)) for p in data],
                        "next": _next_link(headers.get("link")) is not None,
                    },
                    refresh,
                )
                changed |= fresh
                pulls.extend(PullRequest(**fields) for fields in value["pulls"])
                if not value["next"]:
                    break
            return pulls if changed else None

        return self._call(f"list the open pull requests of {repo}", read)

    def new_comments(self, repo: str, since: str) -> list[CommentInfo] | None:
        """Comments on any issue or PR of the repo updated at or after `since` (ISO time), oldest update
        first; None when GitHub says nothing changed since the stored ETags (free of rate limit).

        One conditional request covers every PR, so watching comments costs nothing while nobody writes.
        The ETag is kept per page, not per `since`: a 304 means the answer is byte for byte the stored one.
        """

        def read() -> list[CommentInfo] | None:
            found: list[CommentInfo] = []
            changed = False
            for page in range(1, 1000):
                fresh, value = self._conditional_get(
                    f"comments:{repo}:page{page}",
                    f"/repos/{repo}/issues/comments",
                    {"since": since, "sort": "updated", "direction": "asc", "per_page": self._per_page, "page": page},
                    lambda data, headers: {
                        "comments": [dataclasses.asdict(_comment_info(c)) for c in data],
                        "next": _next_link(headers.get("link")) is not None,
                    },
                    False,
                )
                changed |= fresh
                found.extend(CommentInfo(**fields) for fields in value["comments"])
                if not value["next"]:
                    break
            return found if changed else None

        return self._call(f"list the new comments of {repo}", read)

    def pull(self, repo: str, number: int) -> PullRequest:
        data = self._call(f"read {repo}#{number}", lambda: self._json("GET", f"/repos/{repo}/pulls/{number}"))
        return PullRequest.from_api(data)

    def pulls_for_commit(self, repo: str, sha: str) -> list[PullRequest]:
        """The pull requests a commit belongs to (GET /repos/{repo}/commits/{sha}/pulls), every page.

        The one merged into the repository's default branch comes first (for a commit of main, the PR
        that brought it: what a bisect names), then merged ones, then open ones, each newest first.
        """

        def read() -> tuple[list[dict], str]:
            found = list(self._iter_pages(f"/repos/{repo}/commits/{sha}/pulls", {"per_page": self._per_page}))
            default = self._json("GET", f"/repos/{repo}")["default_branch"] if found else ""
            return found, default

        found, default_branch = self._call(f"list the pull requests of commit {sha[:12]} in {repo}", read)
        pulls = [(PullRequest.from_api(data), data.get("merged_at") or "") for data in found]
        pulls.sort(key=lambda item: (item[1], item[0].number), reverse=True)  # newest merge, then newest PR
        pulls.sort(key=lambda item: (not (item[0].merged and item[0].base_ref == default_branch), not item[0].merged))
        return [pull for pull, _ in pulls]

    def branch_head(self, repo: str, branch: str, *, refresh: bool = False) -> str | None:
        """The branch's head sha, or None when it has not moved since the stored ETag (free of rate limit)."""

        def read() -> str | None:
            fresh, value = self._conditional_get(
                f"branch:{repo}:{branch}",
                f"/repos/{repo}/branches/{branch}",
                None,
                lambda data, headers: {"sha": data["commit"]["sha"]},
                refresh,
            )
            return value["sha"] if fresh else None

        return self._call(f"read the head of {repo}@{branch}", read)

    def merge_base(self, repo: str, base: str, head: str) -> str:
        """The commit the PR's changes start from: what its results compare against."""
        data = self._call(
            f"compare {base}...{head} in {repo}",
            lambda: self._json("GET", f"/repos/{repo}/compare/{base}...{head}", {"per_page": 1}),
        )
        return data["merge_base_commit"]["sha"]

    def commit_time(self, repo: str, sha: str) -> str:
        """The committer date, ISO 8601 as GitHub gives it (e.g. 2024-05-01T12:00:00Z)."""
        data = self._call(
            f"read commit {sha[:12]} of {repo}", lambda: self._json("GET", f"/repos/{repo}/commits/{sha}")
        )
        return data["commit"]["committer"]["date"]

    def permission(self, repo: str, user: str) -> str:
        """admin, maintain, write, triage, read or none: the user's role on the repository.

        GitHub's `role_name` tells maintain and triage apart; its older `permission`
        field folds them into write and read, and is used for custom roles.
        A user GitHub does not know has no access ("none").
        """

        def read() -> str:
            try:
                data = self._json("GET", f"/repos/{repo}/collaborators/{user}/permission")
            except GithubException as e:
                if e.status == 404:
                    return "none"
                raise
            role = data.get("role_name")
            return role if role in ROLES else (data.get("permission") or "none")

        return self._call(f"read the permission of {user} on {repo}", read)

    def comments(self, repo: str, number: int, since: str | None = None) -> list[CommentInfo]:
        """The PR's conversation comments, oldest first (all pages); `since` is an ISO time of last update."""
        return [
            _comment_info(c)
            for c in self._call(
                f"list the comments of {repo}#{number}", lambda: list(self._iter_comments(repo, number, since))
            )
        ]

    def bot_login(self) -> str | None:
        """The login the bot comments as (`slug[bot]` for an app), or None when running dry or unknowable."""
        if not self._login_known:
            self._login = self._call("read the bot's own login", self._read_login)
            self._login_known = True
        return self._login

    def rate_limit(self) -> tuple[int, int]:
        """(requests remaining, unix time the limit resets); asking costs nothing."""
        data = self._call("read the rate limit", lambda: self._json("GET", "/rate_limit"))
        core = data["resources"]["core"]
        return int(core["remaining"]), int(core["reset"])

    # Writes ------------------------------------------------------------------------------------

    def upsert_comment(self, repo: str, number: int, marker: str, body: str, known_id: int | None = None) -> int | None:
        """Edit the bot's comment in place: by known_id if it still exists (and still carries the marker),
        else the first comment carrying the hidden marker (search all pages), else create one.
        Skips the PATCH when the body is unchanged. Never creates a second one.

        The marker is put at the top of the body when the body lacks it, so the comment can be found again.
        Returns the comment's id (None in a dry run).
        """
        if marker not in body:
            body = f"{marker}\n{body}"
        if self.dry_run:
            log.info("[dry-run] would update the perfbot comment on %s#%s:\n%s", repo, number, body)
            return None
        me = self.bot_login()

        def upsert() -> int:
            if known_id is not None:
                current = self._comment_if_exists(repo, known_id)
                if current and _is_ours(current, marker, me) and current["issue_url"].endswith(f"/issues/{number}"):
                    return self._edit_if_changed(repo, current, body)
            for current in self._iter_comments(repo, number):
                if _is_ours(current, marker, me):
                    return self._edit_if_changed(repo, current, body)
            created = self._json("POST", f"/repos/{repo}/issues/{number}/comments", body={"body": body})
            log.info("created the perfbot comment %s on %s#%s", created["id"], repo, number)
            return created["id"]

        return self._call(f"update the perfbot comment on {repo}#{number}", upsert)

    def reply(self, repo: str, number: int, body: str) -> int | None:
        """Post a new comment; after a failed post, first look for the one that may have gone through."""
        if self.dry_run:
            log.info("[dry-run] would reply on %s#%s:\n%s", repo, number, body)
            return None
        me = self.bot_login()
        started = self._clock()
        tries = 0

        def post() -> int:
            nonlocal tries
            tries += 1
            if tries > 1:
                since = _iso(started - REPLY_LOOKBACK_S)
                for current in self._iter_comments(repo, number, since):
                    if current["body"] == body and (me is None or _author(current) == me):
                        return current["id"]
            return self._json("POST", f"/repos/{repo}/issues/{number}/comments", body={"body": body})["id"]

        return self._call(f"reply on {repo}#{number}", post)

    def react(self, repo: str, comment_id: int, content: str) -> None:
        """React to a comment ("eyes", "confused", "+1", "rocket", ...); a deleted comment is let go."""
        if self.dry_run:
            log.info("[dry-run] would react %s to comment %s on %s", content, comment_id, repo)
            return None

        def post() -> None:
            try:
                self._json("POST", f"/repos/{repo}/issues/comments/{comment_id}/reactions", body={"content": content})
            except GithubException as e:
                if e.status != 404:
                    raise
                log.info("comment %s on %s is gone; no %s reaction", comment_id, repo, content)

        self._call(f"react {content} to comment {comment_id} on {repo}", post)

    def set_status(
        self, repo: str, sha: str, context: str, state: str, description: str, target_url: str | None = None
    ) -> None:
        """A commit status (state: pending, success, failure or error); the description is cut to 140 chars."""
        if state not in STATUS_STATES:
            raise ValueError(f"commit status state {state!r}: expected one of {', '.join(STATUS_STATES)}")
        if len(description) > STATUS_DESCRIPTION_MAX:
            description = description[: STATUS_DESCRIPTION_MAX - 1] + "…"
        if self.dry_run:
            log.info("[dry-run] would set %s on %s@%s to %s: %s", context, repo, sha[:12], state, description)
            return None
        body = {"state": state, "context": context, "description": description}
        if target_url:
            body["target_url"] = target_url
        self._call(
            f"set status {context} on {repo}@{sha[:12]}",
            lambda: self._json("POST", f"/repos/{repo}/statuses/{sha}", body=body),
        )

    # Requests ----------------------------------------------------------------------------------

    @property
    def _per_page(self) -> int:
        return self._requester.per_page

    def _json(self, verb: str, path: str, params: dict | None = None, body: Any = None) -> Any:
        _headers, data = self._requester.requestJsonAndCheck(verb, path, parameters=params, input=body)
        return data

    def _conditional_get(
        self, key: str, path: str, params: dict | None, keep: Callable[[Any, dict], Any], refresh: bool
    ) -> tuple[bool, Any]:
        """(changed, value): GET with the stored ETag; on 304 the stored value, else `keep(data, headers)`."""
        cached = None if refresh else self._etags.get(key)
        headers = {"If-None-Match": cached[0]} if cached else {}
        status, response_headers, text = self._requester.requestJson("GET", path, parameters=params, headers=headers)
        if status == 304 and cached:
            return False, json.loads(cached[1])
        data = _parse_json(text)
        if status >= 300:
            raise GithubException(status, data, response_headers)
        value = keep(data, response_headers)
        if response_headers.get("etag"):
            self._etags.put(key, response_headers["etag"], json.dumps(value))
        return True, value

    def _iter_comments(self, repo: str, number: int, since: str | None = None):
        """Raw comment objects, oldest first, every page (following GitHub's Link headers)."""
        params: dict[str, Any] = {"per_page": self._per_page}
        if since:
            params["since"] = since
        yield from self._iter_pages(f"/repos/{repo}/issues/{number}/comments", params)

    def _iter_pages(self, path: str, params: dict[str, Any] | None):
        """The items of a listed resource, every page (following GitHub's Link headers)."""
        url: str | None = path
        while url:
            headers, page = self._requester.requestJsonAndCheck("GET", url, parameters=params)
            yield from page
            url, params = _next_link(headers.get("link")), None  # the next link carries the query

    def _comment_if_exists(self, repo: str, comment_id: int) -> dict | None:
        try:
            return self._json("GET", f"/repos/{repo}/issues/comments/{comment_id}")
        except GithubException as e:
            if e.status == 404:
                return None
            raise

    def _edit_if_changed(self, repo: str, current: dict, body: str) -> int:
        if current["body"] != body:
            self._json("PATCH", f"/repos/{repo}/issues/comments/{current['id']}", body={"body": body})
            log.info("edited the perfbot comment %s on %s", current["id"], repo)
        return current["id"]

    def _read_login(self) -> str | None:
        if self.dry_run:
            return None
        if self._app_auth is not None:
            integration = github.GithubIntegration(auth=self._app_auth, **self._client_options)
            return f"{integration.get_app().slug}[bot]"
        try:
            return self._json("GET", "/user")["login"]
        except GithubException as e:
            if e.status == 403 and not _is_rate_limit(e):  # an installation token (Actions' GITHUB_TOKEN) cannot
                log.info("cannot read the bot's login (GET /user: 403); any comment with the marker counts as ours")
                return None
            raise

    # Retries -----------------------------------------------------------------------------------

    def _call(self, what: str, operation: Callable[[], T]) -> T:
        """Run `operation` (any number of requests, safe to repeat) with bounded retries; see the module doc."""
        policy = self._retry
        for attempt in range(1, policy.attempts + 1):
            self._refuse_if_exhausted(what)
            try:
                result = operation()
                self._secondary_strikes = 0
                return result
            except GithubException as e:
                headers = {k.lower(): v for k, v in (e.headers or {}).items()}
                message = _message(e.data)
                wait = _retry_after(headers)
                if e.status in (403, 429) and wait is not None:
                    if wait > policy.max_retry_after or attempt == policy.attempts:
                        raise RateLimited(
                            f"{what}: GitHub's secondary rate limit asks to wait {wait:g}s",
                            reset_at=self._clock() + wait,
                        ) from None
                    log.warning("%s: secondary rate limit; waiting %gs as GitHub asks", what, wait)
                    self._sleep(wait)
                    continue
                if e.status in (403, 429) and headers.get("x-ratelimit-remaining") == "0":
                    reset = _number(headers.get("x-ratelimit-reset")) or self._clock() + SECONDARY_FIRST_WAIT_S
                    raise RateLimited(
                        f"{what}: GitHub's rate limit is used up until {_iso(reset)}", reset_at=reset
                    ) from None
                if e.status in (403, 429) and _is_limit(message):
                    self._secondary_strikes += 1
                    wait = _secondary_wait(self._secondary_strikes)
                    raise RateLimited(
                        f"{what}: GitHub's secondary rate limit, without Retry-After; trying again in {wait:g}s",
                        reset_at=self._clock() + wait,
                    ) from None
                if e.status < 500:
                    raise self._refusal(what, e.status, message) from None
                problem = f"GitHub answered {e.status} {message}".rstrip()
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as e:
                problem = f"cannot reach GitHub at {self.settings.api_url} ({type(e).__name__})"
            if attempt == policy.attempts:
                break
            delay = min(policy.max_delay, policy.first_delay * 2 ** (attempt - 1)) * (0.5 + self._jitter() / 2)
            log.warning("%s: %s; retrying in %.1fs (attempt %d of %d)", what, problem, delay, attempt, policy.attempts)
            self._sleep(delay)
        raise GitHubUnavailable(f"{what}: {problem}; gave up after {policy.attempts} attempts") from None

    def _refuse_if_exhausted(self, what: str) -> None:
        """Do not spend a request GitHub is bound to refuse: the last answer said none are left."""
        remaining, _limit = self._requester.rate_limiting
        reset = self._requester.rate_limiting_resettime
        if remaining == 0 and reset > self._clock():
            raise RateLimited(f"{what}: GitHub's rate limit is used up until {_iso(reset)}", reset_at=float(reset))

    def _refusal(self, what: str, status: int, message: str) -> GitHubError:
        if status == 401:
            hint = {
                "token": "check GITHUB_TOKEN",
                "app": "check GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY_FILE and GITHUB_APP_INSTALLATION_ID",
                "none": "set GITHUB_TOKEN (or a GitHub App) to authenticate",
            }[self._auth_kind]
            return GitHubAuthError(f"{what}: GitHub refused perfbot's credentials (401 {message}); {hint}")
        if status == 404:
            return GitHubNotFound(
                f"{what}: GitHub answered 404 {message} (it does not exist, or these credentials may not see it)"
            )
        return GitHubError(f"{what}: GitHub refused it ({status} {message})")


# Helpers ---------------------------------------------------------------------------------------


def _auth(settings: GitHubSettings):
    """(kind for messages, PyGithub auth or None, the app's own auth or None)."""
    if settings.token:
        return "token", github.Auth.Token(settings.token), None
    if settings.app_id and settings.app_private_key:
        if settings.app_installation_id is None:
            raise BadSetting(
                "GITHUB_APP_ID is set but GITHUB_APP_INSTALLATION_ID is not: the bot acts as one "
                "installation of the app (see the app's installation page for its id)"
            )
        app_auth = github.Auth.AppAuth(settings.app_id, settings.app_private_key)
        try:
            app_auth.create_jwt()
        except Exception as e:  # PyJWT and cryptography raise several kinds for a bad key
            raise BadSetting(
                f"GITHUB_APP_PRIVATE_KEY(_FILE): not a usable RSA private key ({type(e).__name__})"
            ) from None
        return "app", app_auth.get_installation_auth(int(settings.app_installation_id)), app_auth
    return "none", None, None


def _comment_info(data: dict) -> CommentInfo:
    number = re.search(r"/issues/(\d+)$", data.get("issue_url") or "")
    return CommentInfo(
        id=data["id"],
        author=_author(data),
        body=data.get("body") or "",
        created_at=data["created_at"],
        updated_at=data["updated_at"],
        url=data.get("html_url", ""),
        number=int(number.group(1)) if number else None,
    )


def _author(comment: dict) -> str:
    return (comment.get("user") or {}).get("login") or "ghost"


def _is_ours(comment: dict, marker: str, me: str | None) -> bool:
    return marker in (comment.get("body") or "") and (me is None or _author(comment).lower() == me.lower())


def _next_link(link_header: str | None) -> str | None:
    match = re.search(r'<([^>]+)>\s*;\s*rel="next"', link_header or "")
    return match.group(1) if match else None


def _parse_json(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"message": text[:200]}


def _message(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"]
    return ""


def _is_rate_limit(e: GithubException) -> bool:
    headers = {k.lower(): v for k, v in (e.headers or {}).items()}
    return "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0" or _is_limit(_message(e.data))


def _is_limit(message: str) -> bool:
    lower = message.lower()
    return lower.startswith("api rate limit exceeded") or "secondary rate limit" in lower


def _secondary_wait(strikes: int) -> float:
    """GitHub: "wait at least one minute", then "an exponentially increasing amount of time" (tenacity's formula)."""
    wait = tenacity.wait_exponential(
        multiplier=SECONDARY_FIRST_WAIT_S, min=SECONDARY_FIRST_WAIT_S, max=SECONDARY_MAX_WAIT_S
    )
    state = tenacity.RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
    state.attempt_number = strikes
    return wait(state)


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after")
    return float(value) if value and value.strip().isdigit() else None


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Redactor(logging.Filter):
    """Removes secrets from PyGithub's debug log (it logs response bodies, and an installation token is one)."""

    _PATTERNS = [re.compile(r'("token"\s*:\s*")[^"]+(")'), re.compile(r"\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]{10,}")]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        if secret:
            self.secrets.add(secret)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "(secret removed)")
        text = self._PATTERNS[0].sub(r"\1(secret removed)\2", text)
        return self._PATTERNS[1].sub("(token removed)", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_REDACT = _Redactor()
for _name in ("github", "github.Requester", "github.GithubRetry", "urllib3.connectionpool"):
    logging.getLogger(_name).addFilter(_REDACT)
