"""bot.github.client: PyGithub over real HTTP against the fake GitHub; no mocks of PyGithub."""

from __future__ import annotations

import logging
import socket
import time
import traceback

import pytest

from bot.errors import BadSetting, GitHubError
from bot.github.client import (
    CommentInfo,
    GitHub,
    GitHubAuthError,
    GitHubNotFound,
    GitHubUnavailable,
    MemoryEtagCache,
    RateLimited,
    RequestRetry,
)
from bot.github.events import PullRequest
from bot.settings import GitHubSettings

REPO = "apache/tvm"
MARKER = "<!-- perfbot:report -->"


class Sleeps(list):
    """An injected sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def connect(fake, *, token="default", sleep=None, **options) -> GitHub:
    settings = GitHubSettings(api_url=fake.url, token=fake.token if token == "default" else token)
    return make(settings, sleep=sleep, **options)


def make(settings: GitHubSettings, *, sleep=None, **options) -> GitHub:
    options.setdefault("seconds_between_requests", None)
    options.setdefault("seconds_between_writes", None)
    options.setdefault("jitter", lambda: 0.5)
    return GitHub(settings, sleep=sleep if sleep is not None else Sleeps(), **options)


@pytest.fixture
def fake(fake_github):
    fake_github.add_repo(REPO)
    return fake_github


# Reads -------------------------------------------------------------------------------------


def test_open_pulls_lists_every_open_pr_with_fork_and_draft_flags(fake):
    inside = fake.add_pull(REPO, author="bob", draft=True)
    forked = fake.add_pull(REPO, author="alice", fork=True)
    gone = fake.add_pull(REPO, author="eve", fork=True)
    fake.delete_head_repo(REPO, gone)
    closed = fake.add_pull(REPO, author="dan")
    fake.close_pull(REPO, closed)
    pulls = {p.number: p for p in connect(fake).open_pulls(REPO)}
    assert sorted(pulls) == sorted([inside, forked, gone])
    pr = fake.pull(REPO, forked)
    assert pulls[forked] == PullRequest(
        repo=REPO,
        number=forked,
        title=pr.title,
        author="alice",
        head_sha=pr.head_sha,
        head_repo="alice/tvm",
        head_ref=pr.head_ref,
        base_ref="main",
        base_sha=pr.base_sha,
        is_fork=True,
        state="open",
        draft=False,
        merged=False,
        url=f"https://github.com/{REPO}/pull/{forked}",
        updated_at=pr.updated_at,
    )
    assert not pulls[inside].is_fork and pulls[inside].draft and pulls[inside].head_repo == REPO
    assert pulls[gone].is_fork and pulls[gone].head_repo is None


def test_open_pulls_follows_every_page(fake):
    numbers = [fake.add_pull(REPO, author=f"user{i}") for i in range(45)]
    github = connect(fake, per_page=20)
    assert sorted(p.number for p in github.open_pulls(REPO)) == numbers
    assert [r.query["page"] for r in fake.requests_to("GET", r"/pulls$")] == ["1", "2", "3"]


def test_an_idle_poll_costs_no_rate_limit(fake):
    fake.add_pull(REPO, author="alice")
    etags = MemoryEtagCache()
    github = connect(fake, etags=etags)
    assert github.open_pulls(REPO) and github.branch_head(REPO, "main") == fake.repo(REPO).branches["main"]
    remaining = fake.remaining()
    fake.clear_requests()

    assert github.open_pulls(REPO) is None
    assert github.branch_head(REPO, "main") is None

    assert fake.remaining() == remaining
    assert [r.status for r in fake.requests] == [304, 304]
    assert all(r.headers.get("if-none-match") for r in fake.requests)
    # A new GitHub object with the same store (a restart) is just as idle.
    assert connect(fake, etags=etags).open_pulls(REPO) is None and fake.remaining() == remaining


def test_a_change_on_any_page_is_seen(fake):
    numbers = [fake.add_pull(REPO, author=f"user{i}") for i in range(25)]
    github = connect(fake, per_page=10)
    github.open_pulls(REPO)
    oldest = numbers[0]  # sorted newest first: on the last page
    new_head = fake.push_pull(REPO, oldest)
    pulls = {p.number: p for p in github.open_pulls(REPO)}
    assert len(pulls) == 25 and pulls[oldest].head_sha == new_head
    fake.close_pull(REPO, oldest)
    assert oldest not in {p.number for p in github.open_pulls(REPO)}
    assert github.open_pulls(REPO) is None


def test_branch_head_sees_a_push_and_refresh_reads_anyway(fake):
    github = connect(fake)
    first = github.branch_head(REPO, "main")
    assert github.branch_head(REPO, "main") is None
    pushed = fake.push(REPO, "main")
    assert github.branch_head(REPO, "main") == pushed != first
    assert github.branch_head(REPO, "main", refresh=True) == pushed
    assert github.open_pulls(REPO) == [] and github.open_pulls(REPO, refresh=True) == []


def test_pull_merge_base_and_commit_time(fake):
    base = fake.repo(REPO).branches["main"]
    number = fake.add_pull(REPO, author="alice", fork=True, commits=3)
    fake.push(REPO, "main")  # main moves on; the merge base stays
    github = connect(fake)
    pull = github.pull(REPO, number)
    assert pull.head_sha == fake.pull(REPO, number).head_sha and pull.is_fork
    assert github.merge_base(REPO, "main", pull.head_sha) == base
    assert github.commit_time(REPO, pull.head_sha) == fake._commits[pull.head_sha].date


@pytest.mark.parametrize("role", ["admin", "maintain", "write", "triage", "read"])
def test_permission_tells_every_role_apart(fake, role):
    fake.set_permission(REPO, "carol", role)
    assert connect(fake).permission(REPO, "carol") == role


def test_permission_of_strangers(fake):
    fake.add_pull(REPO, author="alice", fork=True)
    github = connect(fake)
    assert github.permission(REPO, "alice") == "read"  # not a collaborator, public repository
    assert github.permission(REPO, "nobody-at-all") == "none"  # GitHub does not know them


def test_comments_across_pages_and_since(fake):
    number = fake.add_pull(REPO, author="alice")
    ids = [fake.add_comment(REPO, number, "bob", f"comment {i}") for i in range(75)]
    github = connect(fake, per_page=30)
    comments = github.comments(REPO, number)
    assert [c.id for c in comments] == ids
    assert [r.query.get("page", "1") for r in fake.requests] == ["1", "2", "3"]  # nothing else fetched
    assert comments[0] == CommentInfo(
        id=ids[0],
        author="bob",
        body="comment 0",
        created_at=fake.comment(ids[0]).created_at,
        updated_at=fake.comment(ids[0]).updated_at,
        url=f"https://github.com/{REPO}/pull/{number}#issuecomment-{ids[0]}",
        number=number,
    )
    assert github.comments(REPO, number, since="2100-01-01T00:00:00Z") == []
    assert len(github.comments(REPO, number, since="2000-01-01T00:00:00Z")) == 75


def test_new_comments_of_the_whole_repo_are_conditional_and_name_their_pr(fake):
    first, second = fake.add_pull(REPO, author="bob"), fake.add_pull(REPO, author="eve")
    github = connect(fake, per_page=2)
    assert github.new_comments(REPO, "2000-01-01T00:00:00Z") == []
    ids = [fake.add_comment(REPO, n, "bob", f"on {n}") for n in (first, second, first)]
    found = github.new_comments(REPO, "2000-01-01T00:00:00Z")
    assert [(c.id, c.number, c.body) for c in found] == [
        (ids[0], first, f"on {first}"),
        (ids[1], second, f"on {second}"),
        (ids[2], first, f"on {first}"),
    ]
    fake.clear_requests()
    remaining = fake.remaining()
    assert github.new_comments(REPO, "2000-01-01T00:00:00Z") is None  # nothing new: both pages 304
    assert [r.status for r in fake.requests] == [304, 304] and fake.remaining() == remaining
    fake.edit_comment(ids[1], "edited")
    assert "edited" in [c.body for c in github.new_comments(REPO, fake.comment(ids[1]).updated_at)]


def test_a_stopped_github_is_unreachable_and_comes_back_at_the_same_address(fake):
    github = connect(fake)
    number = fake.add_pull(REPO, author="bob")
    assert github.pull(REPO, number).number == number  # a keep-alive connection is open now
    url = fake.url
    fake.stop()
    with pytest.raises(GitHubUnavailable, match="cannot reach GitHub"):
        github.pull(REPO, number)
    fake.start()
    assert fake.url == url and github.pull(REPO, number).number == number


def test_bot_login_and_rate_limit(fake):
    github = connect(fake)
    assert github.bot_login() == fake.login
    github.bot_login()
    assert len(fake.requests_to("GET", r"^/user$")) == 1  # asked once
    remaining, reset = github.rate_limit()
    assert remaining == fake.remaining() and reset > time.time()


def test_the_pull_requests_of_a_commit_put_the_one_merged_into_main_first(fake):
    opened = fake.add_pull(REPO, author="alice", commits=2)
    merged = fake.add_pull(REPO, author="bob", commits=2)
    fake.repo(REPO).branches["release"] = fake.repo(REPO).branches["main"]
    backport = fake.add_pull(REPO, author="carol")
    fake.pull(REPO, backport).base_ref = "release"
    shared = fake.pull(REPO, merged).commits[0]
    for other in (opened, backport):  # the same commit in other PRs (a stacked branch, a backport)
        fake.pull(REPO, other).commits.append(shared)
    fake.close_pull(REPO, backport, merged=True)
    fake.close_pull(REPO, merged, merged=True)
    github = connect(fake, per_page=2)
    assert [p.number for p in github.pulls_for_commit(REPO, shared)] == [merged, backport, opened]
    first = github.pulls_for_commit(REPO, shared)[0]
    assert first.merged and first.base_ref == "main" and first.state == "closed"
    merge_commit = fake.pull(REPO, merged).merge_commit_sha
    assert [p.number for p in github.pulls_for_commit(REPO, merge_commit)] == [merged]
    assert github.pulls_for_commit(REPO, fake.repo(REPO).branches["release"]) != []
    lonely = fake.push(REPO, "main")
    assert github.pulls_for_commit(REPO, lonely) == []
    assert [r.query.get("page", "1") for r in fake.requests_to("GET", rf"/commits/{shared}/pulls$")][:2] == ["1", "2"]


def test_a_sticky_comment_with_another_marker_lives_beside_the_report(fake):
    """What a bisect would post: its own comment, found again by its own marker, never the report's."""
    number = fake.add_pull(REPO, author="alice")
    bisect = "<!-- perfbot:bisect -->"
    github = connect(fake)
    report = github.upsert_comment(REPO, number, MARKER, "report 1")
    found = github.upsert_comment(REPO, number, bisect, "bisecting: 12 commits left")
    assert found != report
    restarted = connect(fake)
    assert restarted.upsert_comment(REPO, number, bisect, "first slower commit: abc123") == found
    assert restarted.upsert_comment(REPO, number, MARKER, "report 2") == report
    bodies = {c.id: c.body for c in fake.comments(REPO, number)}
    assert bodies == {report: f"{MARKER}\nreport 2", found: f"{bisect}\nfirst slower commit: abc123"}
    other = fake.add_pull(REPO, author="bob")  # any PR, e.g. the one a bisect blames
    assert github.upsert_comment(REPO, other, bisect, "this PR made qconv_a 12% slower") not in (report, found)


# The sticky comment ----------------------------------------------------------------------------


def test_upsert_creates_once_then_edits_in_place(fake):
    number = fake.add_pull(REPO, author="alice")
    github = connect(fake)
    first = github.upsert_comment(REPO, number, MARKER, f"{MARKER}\n1 slower")
    second = github.upsert_comment(REPO, number, MARKER, f"{MARKER}\n2 slower", known_id=first)
    assert first == second
    assert [c.body for c in fake.comments(REPO, number)] == [f"{MARKER}\n2 slower"]
    assert [r.method for r in fake.writes()] == ["POST", "PATCH"]


def test_an_unchanged_body_is_not_patched(fake):
    number = fake.add_pull(REPO, author="alice")
    github = connect(fake)
    comment_id = github.upsert_comment(REPO, number, MARKER, f"{MARKER}\nall good")
    fake.clear_requests()
    assert github.upsert_comment(REPO, number, MARKER, f"{MARKER}\nall good", known_id=comment_id) == comment_id
    assert github.upsert_comment(REPO, number, MARKER, f"{MARKER}\nall good") == comment_id
    assert fake.writes() == []


def test_after_a_restart_the_comment_is_found_by_its_marker_on_any_page(fake):
    number = fake.add_pull(REPO, author="alice")
    for i in range(65):
        fake.add_comment(REPO, number, "bob", f"chatter {i}")
    ours = connect(fake).upsert_comment(REPO, number, MARKER, "first report")  # the 66th: page 3 of 30
    for i in range(10):
        fake.add_comment(REPO, number, "bob", f"more chatter {i}")
    fake.clear_requests()
    restarted = connect(fake, per_page=30)  # a new process: no known id
    assert restarted.upsert_comment(REPO, number, MARKER, "second report") == ours
    assert fake.comment(ours).body == f"{MARKER}\nsecond report"  # the marker is added when missing
    assert [r.method for r in fake.writes()] == ["PATCH"]
    comments_path = f"/repos/{REPO}/issues/{number}/comments"
    assert [r.path for r in fake.requests if r.method == "GET"] == ["/user"] + [comments_path] * 3
    assert len([c for c in fake.comments(REPO, number) if MARKER in c.body]) == 1


def test_a_deleted_or_foreign_known_id_is_not_edited(fake):
    number = fake.add_pull(REPO, author="alice")
    github = connect(fake)
    ours = github.upsert_comment(REPO, number, MARKER, "report")
    quoted = fake.add_comment(REPO, number, "bob", f"> {MARKER}\n> report\nwhy?")
    assert github.upsert_comment(REPO, number, MARKER, "report 2", known_id=quoted) == ours
    assert fake.comment(quoted).body.endswith("why?")
    fake.delete_comment(ours)
    fresh = github.upsert_comment(REPO, number, MARKER, "report 3", known_id=ours)
    assert fresh not in (ours, quoted) and fake.comment(fresh).body == f"{MARKER}\nreport 3"


def test_a_lost_answer_to_the_create_does_not_duplicate_the_comment(fake):
    number = fake.add_pull(REPO, author="alice")
    fake.fail_next(after_write=True, match=r"^POST .*/comments$")
    sleeps = Sleeps()
    comment_id = connect(fake, sleep=sleeps).upsert_comment(REPO, number, MARKER, "report")
    assert [c.id for c in fake.comments(REPO, number)] == [comment_id]
    assert len(sleeps) == 1


def test_a_lost_answer_to_a_reply_does_not_post_it_twice(fake):
    number = fake.add_pull(REPO, author="alice")
    fake.fail_next(after_write=True, match=r"^POST .*/comments$")
    github = connect(fake)
    reply_id = github.reply(REPO, number, "Only maintainers can do that, @eve.")
    assert [c.id for c in fake.comments(REPO, number)] == [reply_id]
    assert github.reply(REPO, number, "Only maintainers can do that, @eve.") != reply_id  # a new reply is new


def test_reactions_and_statuses(fake):
    number = fake.add_pull(REPO, author="alice")
    command = fake.add_comment(REPO, number, "bob", "@perfbot rerun")
    github = connect(fake)
    github.react(REPO, command, "eyes")
    github.react(REPO, command, "eyes")
    assert fake.reactions(command) == ["eyes"]
    fake.delete_comment(command)
    github.react(REPO, command, "confused")  # the comment is gone: nothing to react to, no error
    sha = fake.pull(REPO, number).head_sha
    github.set_status(REPO, sha, "perfbot/rpi4", "pending", "3 jobs queued")
    github.set_status(REPO, sha, "perfbot/rpi4", "failure", "x" * 300, target_url="https://perf.example/pr/1")
    latest = fake.latest_statuses(REPO, sha)["perfbot/rpi4"]
    assert latest["state"] == "failure" and latest["target_url"] == "https://perf.example/pr/1"
    assert len(latest["description"]) == 140 and latest["description"].endswith("…")
    with pytest.raises(ValueError, match="expected one of"):
        github.set_status(REPO, sha, "perfbot/rpi4", "slower", "no such state")


# Failures ----------------------------------------------------------------------------------


def test_a_502_twice_then_success_backs_off_exponentially(fake):
    number = fake.add_pull(REPO, author="alice")
    fake.fail_next(2, status=502)
    sleeps = Sleeps()
    assert connect(fake, sleep=sleeps).pull(REPO, number).number == number
    assert sleeps == [0.75, 1.5]  # 1 s then 2 s, times the jitter factor (0.5 + 0.5 / 2)


def test_github_down_is_unavailable_after_bounded_retries(fake):
    fake.fail_next(99, status=503)
    sleeps = Sleeps()
    github = connect(fake, sleep=sleeps, retry=RequestRetry(attempts=3, first_delay=10, max_delay=15))
    with pytest.raises(GitHubUnavailable, match="503.*gave up after 3 attempts"):
        github.pull(REPO, 1)
    assert sleeps == [7.5, 11.25] and len(fake.requests) == 3


def test_a_network_error_is_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    github = make(
        GitHubSettings(api_url=f"http://127.0.0.1:{closed_port}", token="ghp_x" * 8),
        retry=RequestRetry(attempts=2, first_delay=0),
    )
    with pytest.raises(GitHubUnavailable, match="cannot reach GitHub.*ConnectionError"):
        github.open_pulls(REPO)


def test_the_primary_rate_limit_is_raised_with_its_reset_time(fake):
    number = fake.add_pull(REPO, author="alice")
    reset = fake.exhaust_rate_limit(reset_in=5)
    sleeps = Sleeps()
    github = connect(fake, sleep=sleeps)
    with pytest.raises(RateLimited) as raised:
        github.pull(REPO, number)
    assert raised.value.reset_at == reset and sleeps == []
    assert isinstance(raised.value, GitHubError)
    # Known to be used up: the next call does not even ask.
    fake.clear_requests()
    with pytest.raises(RateLimited):
        github.open_pulls(REPO)
    assert fake.requests == []


def test_a_short_retry_after_is_honoured(fake):
    number = fake.add_pull(REPO, author="alice")
    fake.secondary_limit_next(retry_after=2, status=403)
    fake.secondary_limit_next(retry_after=1, status=429)
    sleeps = Sleeps()
    assert connect(fake, sleep=sleeps).pull(REPO, number).number == number
    assert sleeps == [2.0, 1.0] and len(fake.requests) == 3


def test_a_long_retry_after_is_raised_not_waited(fake):
    fake.secondary_limit_next(retry_after=600)
    sleeps = Sleeps()
    before = time.time()
    with pytest.raises(RateLimited, match="wait 600s") as raised:
        connect(fake, sleep=sleeps).pull(REPO, 1)
    assert sleeps == [] and before + 600 <= raised.value.reset_at <= time.time() + 600


def test_a_secondary_limit_without_retry_after_waits_a_minute_and_backs_off_not_until_the_reset(fake):
    """GitHub's rule: no Retry-After and requests remaining -> at least a minute, growing exponentially."""
    number = fake.add_pull(REPO, author="alice")
    sleeps = Sleeps()
    now = [1_000_000.0]
    github = connect(fake, sleep=sleeps, clock=lambda: now[0])
    waits = []
    for _ in range(3):
        fake.secondary_limit_next(retry_after=None)
        with pytest.raises(RateLimited, match="secondary rate limit, without Retry-After") as raised:
            github.pull(REPO, number)
        waits.append(raised.value.reset_at - now[0])
    answer = fake.requests[-1]
    assert answer.status == 403
    assert waits == [60.0, 120.0, 240.0] and sleeps == []
    assert github.pull(REPO, number).number == number  # a success ends the streak
    fake.secondary_limit_next(retry_after=None)
    with pytest.raises(RateLimited) as raised:
        github.pull(REPO, number)
    assert raised.value.reset_at - now[0] == 60.0
    for _ in range(6):
        fake.secondary_limit_next(retry_after=None)
        with pytest.raises(RateLimited) as raised:
            github.pull(REPO, number)
    assert raised.value.reset_at - now[0] == 900.0  # at most 15 minutes


def test_bad_credentials_say_what_to_fix_and_are_not_retried(fake):
    github = connect(fake, token="ghp_not_the_right_one_0123456789")
    with pytest.raises(GitHubAuthError, match="refused perfbot's credentials.*Bad credentials.*GITHUB_TOKEN"):
        github.open_pulls(REPO)
    assert len(fake.requests) == 1


def test_not_found_is_its_own_error(fake):
    with pytest.raises(GitHubNotFound, match="404 Not Found"):
        connect(fake).pull("apache/nothing", 1)
    with pytest.raises(GitHubNotFound):
        connect(fake).pull(REPO, 999)


# Dry run -------------------------------------------------------------------------------------


def test_dry_run_reads_but_never_writes(fake, caplog):
    number = fake.add_pull(REPO, author="alice")
    github = make(GitHubSettings(api_url=fake.url))
    assert github.dry_run and github.pull(REPO, number).number == number
    assert fake.requests[-1].headers.get("authorization") is None
    sha = fake.pull(REPO, number).head_sha
    with caplog.at_level(logging.INFO, logger="perfbot.github"):
        assert github.upsert_comment(REPO, number, MARKER, "report") is None
        assert github.reply(REPO, number, "hello") is None
        assert github.react(REPO, 1, "eyes") is None
        assert github.set_status(REPO, sha, "perfbot/rpi4", "success", "ok") is None
    assert fake.writes() == [] and github.bot_login() is None
    assert caplog.text.count("[dry-run] would") == 4


# GitHub App --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def test_app_auth_gets_an_installation_token_and_comments_as_the_app(fake, app_key):
    private, public = app_key
    fake.configure_app(4242, public, installation_id=77, slug="perfbot")
    number = fake.add_pull(REPO, author="alice")
    github = make(GitHubSettings(api_url=fake.url, app_id="4242", app_private_key=private, app_installation_id=77))
    assert not github.dry_run
    comment_id = github.upsert_comment(REPO, number, MARKER, "report")
    assert fake.comment(comment_id).author == "perfbot[bot]" and github.bot_login() == "perfbot[bot]"
    token_requests = fake.requests_to("POST", r"^/app/installations/77/access_tokens$")
    assert len(token_requests) == 1 and token_requests[0].headers["authorization"].startswith("Bearer ")
    [installation_token] = fake.installation_tokens()
    comment_posts = fake.requests_to("POST", r"/comments$")
    assert comment_posts[0].headers["authorization"] == f"token {installation_token}"
    # A restart finds the app's comment, not a look-alike by someone else.
    fake.add_comment(REPO, number, "bob", f"{MARKER} copied")
    again = make(GitHubSettings(api_url=fake.url, app_id="4242", app_private_key=private, app_installation_id=77))
    assert again.upsert_comment(REPO, number, MARKER, "report 2") == comment_id


def test_app_settings_are_checked_at_start(app_key):
    private, _public = app_key
    with pytest.raises(BadSetting, match="GITHUB_APP_INSTALLATION_ID"):
        GitHub(GitHubSettings(app_id="1", app_private_key=private))
    with pytest.raises(BadSetting, match="not a usable RSA private key"):
        GitHub(
            GitHubSettings(app_id="1", app_private_key="-----BEGIN RSA PRIVATE KEY-----\nnope\n", app_installation_id=2)
        )


# Secrets -----------------------------------------------------------------------------------


def test_tokens_never_reach_logs_errors_or_reprs(fake, app_key, caplog):
    private, public = app_key
    fake.configure_app(4242, public, installation_id=77)
    number = fake.add_pull(REPO, author="alice")
    wrong = "ghp_wrongwrongwrong0123456789abcdef"
    raised = []
    with caplog.at_level(logging.DEBUG):
        good = connect(fake)
        good.upsert_comment(REPO, number, MARKER, "report")
        fake.fail_next(1)
        good.pull(REPO, number)
        app = make(GitHubSettings(api_url=fake.url, app_id="4242", app_private_key=private, app_installation_id=77))
        app.react(REPO, fake.comments(REPO, number)[0].id, "rocket")
        for github in (connect(fake, token=wrong), connect(fake, retry=RequestRetry(attempts=1))):
            fake.fail_next(1)
            try:
                github.pull(REPO, number)
            except GitHubError as e:
                raised.append(e)
    assert len(raised) == 2
    texts = [caplog.text, repr(good), repr(app), repr(good.settings), repr(app.settings)]
    texts += [f"{e} {e!r} {''.join(traceback.format_exception(e))}" for e in raised]
    secrets = [fake.token, wrong, private.splitlines()[1], *fake.installation_tokens()]
    assert len(secrets) == 4
    for text in texts:
        for secret in secrets:
            assert secret not in text
    assert "Bearer" not in caplog.text or "eyJ" not in caplog.text  # no JWT either
