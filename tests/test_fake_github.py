"""The fake GitHub against the real one: recorded exchanges, webhook schemas, and its own controls.

Its own controls and behaviour are tested everywhere; the comparisons with GitHub's own data
(../shared/fixtures/github, tests using `github_fixtures_dir` or `validate_webhook`) run where that
folder is (see tests/fake_github/fixtures.py).

The shapes are checked against the newest recording of each endpoint in
../shared/fixtures/github/replay (PyGithub's recordings of api.github.com,
2012-2025): every key GitHub sent must be there with the same JSON type
(null on either side matches anything, as GitHub's nullable fields do), in
nested objects too, and the headers PyGithub reads (ETag, X-RateLimit-*, Link)
must be sent where GitHub sent them.
"""

from __future__ import annotations

import ast
import json
import re
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import requests

from tests.fake_github import FakeGitHub


@dataclass
class Exchange:
    source: str
    method: str
    path: str
    request_headers: dict
    status: int
    headers: dict  # lower-case names
    body: object

    @property
    def date(self) -> float:
        value = self.headers.get("date")
        return parsedate_to_datetime(value).timestamp() if value else 0.0


def read_replay(path: Path) -> list[Exchange]:
    """PyGithub's ReplayData format: 10 lines per exchange, then a blank line."""
    lines = path.read_text().split("\n")
    exchanges, i = [], 0
    while i + 9 < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        _scheme, method, _host, _port, target, request_headers, _body, status, headers, body = lines[i : i + 10]
        exchanges.append(
            Exchange(
                path.name,
                method,
                target,
                ast.literal_eval(request_headers),
                int(status),
                {k.lower(): v for k, v in ast.literal_eval(headers)},
                json.loads(body) if body.strip() else None,
            )
        )
        i += 11
    return exchanges


# Which recorded requests are which endpoint of the fake.
KINDS = [
    ("user", "GET", r"/user"),
    ("rate_limit", "GET", r"/rate_limit"),
    ("repo", "GET", r"/repos/[^/]+/[^/]+"),
    ("pulls", "GET", r"/repos/[^/]+/[^/]+/pulls(\?.*)?"),
    ("pull", "GET", r"/repos/[^/]+/[^/]+/pulls/\d+"),
    ("pull_commits", "GET", r"/repos/[^/]+/[^/]+/pulls/\d+/commits"),
    ("commit", "GET", r"/repos/[^/]+/[^/]+/commits/[0-9a-f]{40}(\?.*)?"),
    ("issue", "GET", r"/repos/[^/]+/[^/]+/issues/\d+"),
    ("comments", "GET", r"/repos/[^/]+/[^/]+/issues/\d+/comments"),
    ("create_comment", "POST", r"/repos/[^/]+/[^/]+/issues/\d+/comments"),
    ("comment", "GET", r"/repos/[^/]+/[^/]+/issues/comments/\d+"),
    ("edit_comment", "PATCH", r"/repos/[^/]+/[^/]+/issues/comments/\d+"),
    ("reaction", "POST", r"/repos/[^/]+/[^/]+/issues/comments/\d+/reactions"),
    ("status", "POST", r"/repos/[^/]+/[^/]+/statuses/[0-9a-f]{40}"),
    ("permission", "GET", r"/repos/[^/]+/[^/]+/collaborators/[^/]+/permission"),
]


def kind_of(exchange: Exchange) -> str | None:
    for kind, method, pattern in KINDS:
        if exchange.method == method and re.fullmatch(pattern, exchange.path):
            return kind
    return None


@pytest.fixture(scope="module")
def recorded(github_fixtures_dir) -> dict[str, Exchange]:
    """kind -> the newest successful recording of it."""
    newest: dict[str, Exchange] = {}
    for path in sorted((github_fixtures_dir / "replay").glob("*.txt")):
        for exchange in read_replay(path):
            kind = kind_of(exchange)
            if kind and exchange.status in (200, 201) and exchange.body is not None:
                if kind not in newest or exchange.date > newest[kind].date:
                    newest[kind] = exchange
    return newest


@pytest.fixture(scope="module")
def world():
    """A fake with one of everything, and the responses it gives for each kind."""
    with FakeGitHub() as fake:
        fake.add_repo("apache/tvm")
        number = fake.add_pull("apache/tvm", author="alice", fork=True, commits=2)
        fake.set_permission("apache/tvm", "carol", "maintain")
        for i in range(3):
            fake.add_comment("apache/tvm", number, "bob", f"comment {i}")
        comment_id = fake.comments("apache/tvm", number)[0].id
        head = fake.pull("apache/tvm", number).head_sha
        base = "/repos/apache/tvm"
        calls = {
            "user": ("GET", "/user", None),
            "rate_limit": ("GET", "/rate_limit", None),
            "repo": ("GET", base, None),
            "pulls": ("GET", f"{base}/pulls", None),
            "pull": ("GET", f"{base}/pulls/{number}", None),
            "pull_commits": ("GET", f"{base}/pulls/{number}/commits", None),
            "commit": ("GET", f"{base}/commits/{head}", None),
            "issue": ("GET", f"{base}/issues/{number}", None),
            "comments": ("GET", f"{base}/issues/{number}/comments", None),
            "comment": ("GET", f"{base}/issues/comments/{comment_id}", None),
            "create_comment": ("POST", f"{base}/issues/{number}/comments", {"body": "hello"}),
            "edit_comment": ("PATCH", f"{base}/issues/comments/{comment_id}", {"body": "edited"}),
            "reaction": ("POST", f"{base}/issues/comments/{comment_id}/reactions", {"content": "eyes"}),
            "status": (
                "POST",
                f"{base}/statuses/{head}",
                {"state": "success", "context": "perfbot/rpi4", "description": "ok", "target_url": "https://x"},
            ),
            "permission": ("GET", f"{base}/collaborators/carol/permission", None),
        }
        responses = {kind: _call(fake, *call) for kind, call in calls.items()}
        yield fake, responses


def _call(fake: FakeGitHub, method: str, path: str, body=None, token: str | None = "default", headers=None):
    all_headers = {"User-Agent": "test", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"token {fake.token if token == 'default' else token}"
    return requests.request(method, fake.url + path, json=body, headers=all_headers, timeout=10)


def type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def shape_differences(recorded, ours, where: str = "$") -> list[str]:
    """Keys GitHub sent that we lack, and values of another JSON type, through nested objects."""
    problems = []
    if isinstance(recorded, list) and isinstance(ours, list):
        if recorded and ours:
            problems += shape_differences(recorded[0], ours[0], f"{where}[0]")
        return problems
    if not (isinstance(recorded, dict) and isinstance(ours, dict)):
        return problems
    for key, value in recorded.items():
        if key not in ours:
            problems.append(f"{where}.{key} missing")
            continue
        if value is None or ours[key] is None:
            continue
        if type_name(value) != type_name(ours[key]):
            problems.append(f"{where}.{key}: {type_name(ours[key])}, GitHub sent {type_name(value)}")
        else:
            problems += shape_differences(value, ours[key], f"{where}.{key}")
    return problems


@pytest.mark.parametrize("kind", [kind for kind, _, _ in KINDS])
def test_shapes_have_every_field_github_sends(recorded, world, kind):
    assert kind in recorded, f"no recording of {kind} in replay/"
    _fake, responses = world
    ours = responses[kind]
    assert ours.status_code == recorded[kind].status, ours.text
    assert shape_differences(recorded[kind].body, ours.json()) == [], f"compared with {recorded[kind].source}"


@pytest.mark.parametrize("kind", [kind for kind, _, _ in KINDS])
def test_headers_pyGithub_reads_are_sent_where_github_sends_them(recorded, world, kind):
    _fake, responses = world
    ours = {k.lower() for k in responses[kind].headers}
    for name in ("etag", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-used"):
        if name in recorded[kind].headers and not (name == "etag" and recorded[kind].method != "GET"):
            assert name in ours, f"{name} missing from {kind}"
    assert responses[kind].headers["Content-Type"].startswith("application/json")


LINK_FORMAT = re.compile(r'<(http[^>]+[?&]page=(\d+)[^>]*)>; rel="(next|last|prev|first)"')


def test_githubs_pagination_links_have_the_format_the_fake_imitates(github_fixtures_dir):
    iteration = read_replay(github_fixtures_dir / "replay" / "PaginatedList.testIteration.txt")
    assert iteration
    for exchange in iteration:
        assert LINK_FORMAT.findall(exchange.headers["link"])


def test_pagination_links(fake_github):
    fake_github.add_repo("apache/tvm")
    number = fake_github.add_pull("apache/tvm", author="alice")
    for i in range(75):
        fake_github.add_comment("apache/tvm", number, "bob", f"comment {i}")
    path = f"/repos/apache/tvm/issues/{number}/comments"
    pages, url = [], fake_github.url + path + "?per_page=30"
    while url:
        response = requests.get(url, headers={"Authorization": f"token {fake_github.token}"}, timeout=10)
        pages.append(response)
        links = {rel: target for target, _page, rel in LINK_FORMAT.findall(response.headers.get("Link", ""))}
        url = links.get("next")
    assert [len(p.json()) for p in pages] == [30, 30, 15]
    first, middle, last = (dict((rel, int(n)) for _t, n, rel in LINK_FORMAT.findall(p.headers["Link"])) for p in pages)
    assert first == {"next": 2, "last": 3}
    assert middle == {"prev": 1, "next": 3, "last": 3, "first": 1}
    assert last == {"prev": 2, "first": 1}
    assert [c["body"] for p in pages for c in p.json()] == [f"comment {i}" for i in range(75)]


def test_github_answers_a_matching_etag_with_an_empty_304(github_fixtures_dir):
    recorded = read_replay(github_fixtures_dir / "replay" / "ConditionalRequestUpdate.testDidNotUpdate.txt")[0]
    assert recorded.status == 304 and recorded.body is None and "etag" in recorded.headers


def test_a_matching_etag_is_a_free_304(fake_github):
    fake_github.add_repo("apache/tvm")
    first = _call(fake_github, "GET", "/repos/apache/tvm")
    remaining = int(first.headers["X-RateLimit-Remaining"])
    again = _call(fake_github, "GET", "/repos/apache/tvm", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert int(again.headers["X-RateLimit-Remaining"]) == remaining == fake_github.remaining()
    stale = _call(fake_github, "GET", "/repos/apache/tvm", headers={"If-None-Match": 'W/"stale"'})
    assert stale.status_code == 200 and fake_github.remaining() == remaining - 1


def fake_errors(fake_github) -> dict:
    """The fake's answers to a bad token, an unknown repository, a permission read without push access
    and a used-up rate limit: name -> response."""
    fake_github.add_repo("apache/tvm")
    answers = {"bad_credentials": _call(fake_github, "GET", "/user", token="ghp_wrong")}
    answers["not_found"] = _call(fake_github, "GET", "/repos/jacquev6/Xxx")
    fake_github.set_permission("apache/tvm", fake_github.login, "read")
    answers["no_push"] = _call(fake_github, "GET", "/repos/apache/tvm/collaborators/lyloa/permission")
    answers["reset"] = fake_github.exhaust_rate_limit(reset_in=30)
    answers["rate_limited"] = _call(fake_github, "GET", "/repos/apache/tvm")
    return answers


def test_errors_have_githubs_bodies(fake_github):
    answers = fake_errors(fake_github)
    assert (answers["bad_credentials"].status_code, answers["bad_credentials"].json()["message"]) == (
        401,
        "Bad credentials",
    )
    assert (answers["not_found"].status_code, answers["not_found"].json()["message"]) == (404, "Not Found")
    assert (answers["no_push"].status_code, answers["no_push"].json()["message"]) == (
        403,
        "Must have push access to view collaborator permission.",
    )
    limited = answers["rate_limited"]
    assert limited.status_code == 403 and limited.json()["message"].startswith("API Rate Limit Exceeded for")
    assert set(limited.json()) == {"message"}
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["X-RateLimit-Reset"]) == answers["reset"] > time.time()
    for answer in (answers["bad_credentials"], answers["not_found"], answers["no_push"]):
        assert set(answer.json()) == {"message", "documentation_url", "status"}


def test_the_fakes_errors_are_the_ones_github_recorded(github_fixtures_dir, fake_github):
    replay = github_fixtures_dir / "replay"
    bad_credentials = read_replay(replay / "Exceptions.testBadAuthentication.txt")[0]
    not_found = read_replay(replay / "Exceptions.testUnknownObject.txt")[1]
    no_push = read_replay(replay / "Repository.testCollaboratorPermissionNoPushAccess.txt")[0]
    rate_limited = read_replay(replay / "SpecificExceptions.testRateLimitExceeded.txt")[1]
    answers = fake_errors(fake_github)
    for name, recorded in (("bad_credentials", bad_credentials), ("not_found", not_found), ("no_push", no_push)):
        assert answers[name].status_code == recorded.status
        assert answers[name].json()["message"] == recorded.body["message"]
    assert answers["rate_limited"].status_code == rate_limited.status == 403
    assert set(answers["rate_limited"].json()) == set(rate_limited.body)
    assert rate_limited.headers["x-ratelimit-remaining"] == "0"


def test_the_rate_limit_resets(fake_github):
    fake_github.add_repo("apache/tvm")
    fake_github.exhaust_rate_limit(reset_in=0.3)
    assert _call(fake_github, "GET", "/repos/apache/tvm").status_code == 403
    assert _call(fake_github, "GET", "/rate_limit").json()["resources"]["core"]["remaining"] == 0
    time.sleep(1.1)  # the reset is a whole second, as GitHub's
    assert _call(fake_github, "GET", "/repos/apache/tvm").status_code == 200


def test_faults_on_demand(fake_github):
    fake_github.add_repo("apache/tvm")
    fake_github.fail_next(2, status=502)
    assert [_call(fake_github, "GET", "/repos/apache/tvm").status_code for _ in range(3)] == [502, 502, 200]
    fake_github.secondary_limit_next(retry_after=7, status=429)
    response = _call(fake_github, "GET", "/repos/apache/tvm")
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert "secondary rate limit" in response.json()["message"]
    fake_github.fail_next(1, match=r"^POST ")
    assert _call(fake_github, "GET", "/repos/apache/tvm").status_code == 200
    assert _call(fake_github, "POST", "/repos/apache/tvm/statuses/" + "0" * 40, {"state": "x"}).status_code == 502


def test_a_secondary_limit_without_retry_after_carries_the_primary_limits_headers(fake_github):
    fake_github.add_repo("apache/tvm")
    fake_github.secondary_limit_next(retry_after=None)
    response = _call(fake_github, "GET", "/repos/apache/tvm")
    assert response.status_code == 403 and "secondary rate limit" in response.json()["message"]
    assert "Retry-After" not in response.headers
    assert int(response.headers["X-RateLimit-Remaining"]) > 0
    assert int(response.headers["X-RateLimit-Reset"]) > time.time() + 3000


def test_a_lost_answer_still_does_the_work(fake_github):
    fake_github.add_repo("apache/tvm")
    number = fake_github.add_pull("apache/tvm", author="alice")
    fake_github.fail_next(after_write=True)
    response = _call(fake_github, "POST", f"/repos/apache/tvm/issues/{number}/comments", {"body": "hello"})
    assert response.status_code == 502
    assert [c.body for c in fake_github.comments("apache/tvm", number)] == ["hello"]


def test_tokens_are_checked(fake_github):
    fake_github.add_repo("apache/tvm")
    number = fake_github.add_pull("apache/tvm", author="alice")
    assert _call(fake_github, "GET", "/repos/apache/tvm", token="ghp_unknown").status_code == 401
    anonymous = _call(fake_github, "GET", "/repos/apache/tvm", token=None)
    assert anonymous.status_code == 200 and anonymous.headers["X-RateLimit-Limit"] == "60"
    assert (
        _call(fake_github, "POST", f"/repos/apache/tvm/issues/{number}/comments", {"body": "x"}, token=None).status_code
        == 401
    )
    fake_github.add_token("ghp_other", "octocat")
    created = _call(
        fake_github, "POST", f"/repos/apache/tvm/issues/{number}/comments", {"body": "x"}, token="ghp_other"
    )
    assert created.status_code == 201 and created.json()["user"]["login"] == "octocat"
    strict = FakeGitHub(allow_anonymous=False).start()
    try:
        strict.add_repo("apache/tvm")
        assert _call(strict, "GET", "/repos/apache/tvm", token=None).status_code == 401
    finally:
        strict.stop()


def test_the_request_log(fake_github):
    fake_github.add_repo("apache/tvm")
    number = fake_github.add_pull("apache/tvm", author="alice")
    _call(fake_github, "POST", f"/repos/apache/tvm/issues/{number}/comments?x=1", {"body": "hello"})
    request = fake_github.requests[-1]
    assert (request.method, request.path, request.query, request.body, request.status) == (
        "POST",
        f"/repos/apache/tvm/issues/{number}/comments",
        {"x": "1"},
        {"body": "hello"},
        201,
    )
    assert request.headers["authorization"] == f"token {fake_github.token}"
    assert fake_github.writes() == [request]


def test_pull_requests_forks_and_pushes(fake_github):
    main = fake_github.add_repo("apache/tvm")
    inside = fake_github.add_pull("apache/tvm", author="bob")
    forked = fake_github.add_pull("apache/tvm", author="alice", fork=True)
    pulls = {p["number"]: p for p in _call(fake_github, "GET", "/repos/apache/tvm/pulls").json()}
    assert pulls[inside]["head"]["repo"]["full_name"] == "apache/tvm"
    assert pulls[forked]["head"]["repo"]["full_name"] == "alice/tvm"
    assert pulls[forked]["head"]["repo"]["fork"] and pulls[forked]["base"]["sha"] == main
    old = fake_github.pull("apache/tvm", forked).head_sha
    new = fake_github.push_pull("apache/tvm", forked)
    detail = _call(fake_github, "GET", f"/repos/apache/tvm/pulls/{forked}").json()
    assert detail["head"]["sha"] == new != old and detail["commits"] == 2
    fake_github.delete_head_repo("apache/tvm", forked)
    assert _call(fake_github, "GET", f"/repos/apache/tvm/pulls/{forked}").json()["head"]["repo"] is None
    fake_github.close_pull("apache/tvm", inside, merged=True)
    listed = _call(fake_github, "GET", "/repos/apache/tvm/pulls?state=open").json()
    assert [p["number"] for p in listed] == [forked]
    compare = _call(fake_github, "GET", f"/repos/apache/tvm/compare/main...{new}").json()
    assert compare["merge_base_commit"]["sha"] == main and compare["ahead_by"] == 2
    assert compare["status"] == "diverged"  # main moved on when #inside was merged


def test_reactions_and_statuses(fake_github):
    fake_github.add_repo("apache/tvm")
    number = fake_github.add_pull("apache/tvm", author="alice")
    comment_id = fake_github.add_comment("apache/tvm", number, "bob", "@perfbot rerun")
    path = f"/repos/apache/tvm/issues/comments/{comment_id}/reactions"
    assert _call(fake_github, "POST", path, {"content": "eyes"}).status_code == 201
    assert _call(fake_github, "POST", path, {"content": "eyes"}).status_code == 200  # already there
    assert _call(fake_github, "POST", path, {"content": "nope"}).status_code == 422
    assert fake_github.reactions(comment_id) == ["eyes"]
    sha = fake_github.pull("apache/tvm", number).head_sha
    for state in ("pending", "success"):
        _call(fake_github, "POST", f"/repos/apache/tvm/statuses/{sha}", {"state": state, "context": "perfbot/a"})
    assert fake_github.latest_statuses("apache/tvm", sha)["perfbot/a"]["state"] == "success"
    listed = _call(fake_github, "GET", f"/repos/apache/tvm/commits/{sha}/statuses").json()
    assert [s["state"] for s in listed] == ["success", "pending"]


def test_app_installation_tokens_need_a_valid_jwt(fake_github):
    jwt = pytest.importorskip("jwt")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    def key_pair():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        return private, public

    private, public = key_pair()
    other_private, _ = key_pair()
    fake_github.configure_app(4242, public, installation_id=77)
    now = int(time.time())

    def token_request(key, iss, installation=77):
        signed = jwt.encode({"iat": now - 60, "exp": now + 300, "iss": iss}, key, algorithm="RS256")
        return requests.post(
            f"{fake_github.url}/app/installations/{installation}/access_tokens",
            headers={"Authorization": f"Bearer {signed}"},
            json={},
            timeout=10,
        )

    assert token_request(other_private, "4242").status_code == 401
    assert token_request(private, "9999").status_code == 401
    assert token_request(private, "4242", installation=78).status_code == 404
    granted = token_request(private, "4242")
    assert granted.status_code == 201 and set(granted.json()) >= {"token", "expires_at", "permissions"}
    token = granted.json()["token"]
    assert _call(fake_github, "GET", "/rate_limit", token=token).status_code == 200
    assert _call(fake_github, "GET", "/user", token=token).status_code == 403  # as for a real installation


@pytest.mark.parametrize("action", ["opened", "synchronize", "reopened", "closed"])
def test_pull_request_webhooks_match_the_schema(fake_github, validate_webhook, action):
    fake_github.add_repo("apache/tvm")
    number = fake_github.add_pull("apache/tvm", author="alice", fork=True)
    if action == "synchronize":
        fake_github.push_pull("apache/tvm", number)
    if action == "closed":
        fake_github.close_pull("apache/tvm", number)
    validate_webhook("pull_request", action, fake_github.pull_request_event("apache/tvm", number, action))


@pytest.mark.parametrize("action", ["created", "edited"])
def test_comment_webhooks_match_the_schema(fake_github, validate_webhook, action):
    fake_github.add_repo("apache/tvm")
    number = fake_github.add_pull("apache/tvm", author="alice")
    comment_id = fake_github.add_comment("apache/tvm", number, "bob", "@perfbot help")
    payload = fake_github.issue_comment_event(comment_id, action)
    if action == "edited":
        payload["changes"] = {"body": {"from": "@perfbot hlep"}}
    validate_webhook("issue_comment", action, payload)


def test_ping_webhook_matches_the_schema(fake_github, validate_webhook):
    fake_github.add_repo("apache/tvm")
    validate_webhook("ping", "event", fake_github.ping_event("apache/tvm"))


def test_the_pull_requests_of_a_commit_are_listed_as_the_pulls_list_shows_them(fake_github):
    """GitHub documents GET /commits/{sha}/pulls as a list of pull requests in the list's shape (whose
    fields test_shapes_have_every_field_github_sends checks against a recording)."""
    fake_github.add_repo("apache/tvm")
    number = fake_github.add_pull("apache/tvm", author="alice")
    sha = fake_github.pull("apache/tvm", number).head_sha
    listed = _call(fake_github, "GET", "/repos/apache/tvm/pulls").json()
    of_commit = _call(fake_github, "GET", f"/repos/apache/tvm/commits/{sha}/pulls")
    assert of_commit.status_code == 200 and of_commit.json() == listed
    assert _call(fake_github, "GET", "/repos/apache/tvm/commits/nope/pulls").status_code == 422
