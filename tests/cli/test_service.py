"""The long-running commands as an operator runs them: `perfbot serve`, `watch`, `enqueue`, `report`, `status`.

`serve` is tested over real HTTP with signed deliveries, in a thread and as a
process stopped by SIGTERM; the other commands through click's CliRunner with
settings from environment variables, as in production.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner

from bot import devices
from bot.cli import main
from bot.github import service
from bot.settings import Settings
from bot.store import Store
from tests.fake_github.world import DEVICES, REPO, SECRET, signed

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def setup(fake_github, tmp_path):
    fake_github.add_repo(REPO)
    fake_github.set_permission(REPO, "alice", "write")
    devices = tmp_path / "devices.yml"
    devices.write_text(DEVICES)
    env = {
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_TOKEN": fake_github.token,
        "PERFBOT_DEVICES": str(devices),
        "PERFBOT_DB": str(tmp_path / "perf.db"),
        "PERFBOT_CACHE": str(tmp_path / "cache"),
        "PERFBOT_WEBHOOK_SECRET": SECRET,
        "PERFBOT_DASHBOARD_URL": "https://perf.example.org/tvm",
    }
    return fake_github, env, tmp_path


def post(port: int, body: bytes, headers: dict) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", "/webhook", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def wait_for(condition, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@contextlib.contextmanager
def serving(settings, **options):
    """`serve` running in a thread until the block ends; yields its port."""
    ready, stop = threading.Event(), threading.Event()
    port = []

    def on_ready(server):
        port.append(server.port)
        ready.set()

    parts = service.parts(Store.open(settings.db_path), devices.load(settings.devices_path), settings.github)
    thread = threading.Thread(
        target=service.serve,
        args=(parts, "127.0.0.1", 0, 0.1),
        kwargs={"stop": stop, "on_ready": on_ready, **options},
        daemon=True,
    )
    thread.start()
    try:
        assert ready.wait(10)
        yield port[0]
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


@pytest.fixture
def served(setup):
    """`serve` running in a thread; yields (fake, port, db path)."""
    fake, env, tmp_path = setup
    settings = Settings.from_env(env)
    with serving(settings) as port:
        yield fake, port, settings.db_path


def bot_replies(fake, number):
    return [c.body for c in fake.comments(REPO, number) if c.author == fake.login and "perfbot:report" not in c.body]


def test_serve_catches_up_after_downtime_and_carries_out_a_command_once(setup):
    fake, env, tmp_path = setup
    settings = Settings.from_env(env)
    before = fake.add_pull(REPO, author="alice")  # opened before serve ever ran: no delivery
    with serving(settings, repos=[REPO], reconcile_every_s=600):
        wait_for(lambda: fake.latest_statuses(REPO, fake.pull(REPO, before).head_sha).get("perfbot/rpi4"))

    # Down: a PR opens and a command is written; GitHub's deliveries of them fail meanwhile.
    during = fake.add_pull(REPO, author="alice")
    said = fake.add_comment(REPO, before, "alice", "@perfbot help")
    with serving(settings, repos=[REPO], reconcile_every_s=600) as port:
        wait_for(lambda: fake.latest_statuses(REPO, fake.pull(REPO, during).head_sha).get("perfbot/rpi4"))
        wait_for(lambda: fake.reactions(said) == ["eyes"])
        body, headers = signed(fake.issue_comment_event(said), "issue_comment")
        assert post(port, body, headers)[0] == 202  # GitHub redelivers it once serve is back
        time.sleep(0.5)  # a few rounds
    assert len(bot_replies(fake, before)) == 1 and fake.reactions(said) == ["eyes"]
    store = Store.open(settings.db_path)
    assert {j["pr"] for j in store.jobs("kind = 'pr'")} == {before, during}
    store.close()


def test_serve_reconciles_every_few_minutes_for_free_when_nothing_changed(setup):
    fake, env, tmp_path = setup
    settings = Settings.from_env(env)
    with serving(settings, repos=[REPO], reconcile_every_s=0.3):
        lost = fake.add_pull(REPO, author="alice")  # its delivery got lost
        wait_for(lambda: fake.latest_statuses(REPO, fake.pull(REPO, lost).head_sha).get("perfbot/rpi4"))
        # Once the bot's own writes (comment, statuses) have been seen by a poll, nothing changes any more:
        # two reconciling polls in a row must then cost nothing. On a busy machine the round that sees the
        # bot's own comment may come a little later, so the quiet window is looked for, not assumed.
        deadline = time.monotonic() + 20
        while True:
            time.sleep(0.5)
            fake.clear_requests()
            remaining = fake.remaining()
            wait_for(lambda: len(fake.requests_to("GET", r"/pulls$")) >= 2)
            polls = [r for r in fake.requests if r.method == "GET"]
            if (polls and all(r.status == 304 for r in polls)) or time.monotonic() > deadline:
                break
    assert polls and all(r.status == 304 for r in polls)
    assert fake.remaining() == remaining


def test_serve_options_are_checked(setup):
    fake, env, tmp_path = setup
    result = CliRunner().invoke(main, ["serve", "--port", "0", "--repo", "tvm"], env=env)
    assert result.exit_code == 2 and "--repo 'tvm': expected OWNER/NAME" in result.output
    result = CliRunner().invoke(main, ["serve", "--port", "0"], env={**env, "PERFBOT_REPO": "apache/tvm tvm"})
    assert result.exit_code == 2 and "--repo 'tvm': expected OWNER/NAME" in result.output  # read as `watch` does
    assert not (tmp_path / "perf.db").exists()  # refused before the database is made
    result = CliRunner().invoke(main, ["serve", "--reconcile-every", "-1"], env=env)
    assert result.exit_code == 2 and "--reconcile-every" in result.output
    help_text = CliRunner().invoke(main, ["serve", "--help"]).output
    assert "--repo OWNER/NAME" in help_text and "--reconcile-every MINUTES" in help_text


def test_serve_takes_signed_webhooks_queues_jobs_and_comments(served):
    fake, port, db = served
    number = fake.add_pull(REPO, author="alice")
    head = fake.pull(REPO, number).head_sha
    body, headers = signed(fake.pull_request_event(REPO, number, "opened"), "pull_request")

    assert post(port, body, {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64})[0] == 401
    unsigned = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
    assert post(port, body, unsigned)[0] == 401
    assert post(port, body, headers) == (202, {"status": "accepted", "delivery": headers["X-GitHub-Delivery"]})
    assert post(port, body, headers) == (200, {"status": "duplicate", "delivery": headers["X-GitHub-Delivery"]})

    wait_for(lambda: fake.latest_statuses(REPO, head).get("perfbot/rpi4"))
    store = Store.open(db)
    assert {(j["kind"], j["state"]) for j in store.jobs()} == {("base", "pending"), ("pr", "pending")}
    assert len([c for c in fake.comments(REPO, number) if c.author == fake.login]) == 1

    said = fake.add_comment(REPO, number, "alice", "@perfbot rerun")
    body, headers = signed(fake.issue_comment_event(said), "issue_comment")
    assert post(port, body, headers)[0] == 202
    wait_for(lambda: fake.reactions(said) == ["eyes"])
    store.close()


def test_a_delivery_that_fails_inside_is_answered_500_and_its_redelivery_is_handled(served, monkeypatch):
    fake, port, db = served
    from bot.github.bot import Bot

    real = Bot.receive
    calls = []

    def flaky(self, event):
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("disk full")
        return real(self, event)

    monkeypatch.setattr(Bot, "receive", flaky)
    number = fake.add_pull(REPO, author="alice")
    body, headers = signed(fake.pull_request_event(REPO, number, "opened"), "pull_request")
    assert post(port, body, headers) == (500, {"error": "internal error; the delivery can be redelivered"})
    assert post(port, body, headers)[0] == 202  # GitHub's redelivery, same delivery id
    wait_for(lambda: fake.latest_statuses(REPO, fake.pull(REPO, number).head_sha))


def test_while_github_is_rate_limited_deliveries_are_still_accepted_at_once(served):
    fake, port, db = served
    number = fake.add_pull(REPO, author="alice")
    fake.exhaust_rate_limit(reset_in=600)
    fake.secondary_limit_next(99, retry_after=None)
    for action in ("opened", "synchronize", "edited"):
        body, headers = signed(fake.pull_request_event(REPO, number, action), "pull_request")
        assert post(port, body, headers)[0] == 202  # kept for later: the intake never waits on GitHub
    store = Store.open(db)
    assert wait_for(lambda: len(store.inbox_due(now=float("inf"))) == 3 or None)
    store.close()


def test_serve_refuses_to_start_without_a_webhook_secret(setup):
    fake, env, tmp_path = setup
    env = {k: v for k, v in env.items() if k != "PERFBOT_WEBHOOK_SECRET"}
    result = CliRunner().invoke(main, ["serve", "--port", "0"], env={**env, "PERFBOT_WEBHOOK_SECRET": ""})
    assert result.exit_code == 1
    assert "PERFBOT_WEBHOOK_SECRET is not set" in result.output


def test_serve_as_a_process_stops_cleanly_on_sigterm(setup):
    fake, env, tmp_path = setup
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0", "--interval", "0.5"],
        env={**os.environ, **env},
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        line = process.stderr.readline()
        while "receiving webhooks" not in line:
            assert line, "serve exited before listening"
            line = process.stderr.readline()
        port = int(re.search(r":(\d+)/", line).group(1))
        body, headers = signed(fake.ping_event(REPO), "ping")
        assert post(port, body, headers)[0] == 202
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_watch_once_in_a_dry_run_prints_what_it_would_post(setup):
    fake, env, tmp_path = setup
    number = fake.add_pull(REPO, author="alice")
    env = {**env, "GITHUB_TOKEN": ""}
    result = CliRunner().invoke(main, ["watch", "--repo", REPO, "--once"], env=env)
    assert result.exit_code == 0, result.output
    assert f"[dry run] would update the perfbot comment on {REPO}#{number}:" in result.output
    assert (
        f"[dry run] would set commit status perfbot/rpi4 on {REPO}#{number}: pending: 0 running, 1 queued"
        in result.output
    )
    assert fake.writes() == []
    store = Store.open(tmp_path / "perf.db")
    assert {p["kind"] for p in store.posts()} == {"comment", "status"}
    store.close()


def test_enqueue_report_and_status_by_hand(setup):
    fake, env, tmp_path = setup
    number = fake.add_pull(REPO, author="alice")
    runner = CliRunner()
    result = runner.invoke(main, ["enqueue", "--repo", REPO, "--pr", str(number), "--device", "rpi4"], env=env)
    assert result.exit_code == 0, result.output
    assert f"1 job queued for {REPO}#{number}" in result.output
    again = runner.invoke(main, ["enqueue", "--repo", REPO, "--pr", str(number), "--device", "rpi4"], env=env)
    assert "0 jobs queued" in again.output  # still pending: nothing to add

    result = runner.invoke(main, ["status"], env=env)
    assert result.exit_code == 0, result.output
    assert re.search(r"rpi4\s+│\s+2\s+│\s+0", result.output)  # the PR's job and its baseline
    assert "1 PR report(s) waiting to be published" in result.output

    result = runner.invoke(main, ["report", "--repo", REPO, "--pr", str(number)], env=env)
    assert result.exit_code == 0, result.output
    assert "<!-- perfbot:report -->" in result.output and "1 job pending" in result.output
    assert len([c for c in fake.comments(REPO, number) if c.author == fake.login]) == 1

    unknown = runner.invoke(main, ["enqueue", "--repo", REPO, "--pr", str(number), "--device", "nope"], env=env)
    assert unknown.exit_code == 2 and "unknown device 'nope'" in unknown.output


def test_commands_name_the_setting_that_is_wrong(setup):
    fake, env, tmp_path = setup
    result = CliRunner().invoke(main, ["watch", "--repo", "tvm", "--once"], env=env)
    assert result.exit_code == 2 and "--repo 'tvm': expected OWNER/NAME" in result.output
    result = CliRunner().invoke(main, ["status"], env={**env, "PERFBOT_DB": str(tmp_path / "none.db")})
    assert result.exit_code == 1 and "no perfbot database here" in result.output


def test_watch_once_says_when_github_would_not_answer(setup):
    fake, env, tmp_path = setup
    fake.exhaust_rate_limit(reset_in=600)
    result = CliRunner().invoke(main, ["watch", "--repo", REPO, "--once"], env=env)
    assert result.exit_code == 1
    assert "rate limit is used up until" in result.output and "the next `perfbot watch` goes on" in result.output


def test_report_merges_every_boards_database_into_one_comment(setup):
    """What perfbot-report.yml does with the artifacts of a PR measured on two boards in CI."""
    fake, env, tmp_path = setup
    number = fake.add_pull(REPO, author="alice")
    pull = fake.pull(REPO, number)
    for device in ("rpi4", "qemu-a72"):
        board = Store.open(tmp_path / f"{device}.db")
        run = board.start_run(device=device, sha=pull.head_sha, kind="pr", pr=number, base_sha=pull.base_sha,
                              env="source:tvm", suite="smoke", paired=True)  # fmt: skip
        board.add_result(run, workload="qconv_17x17x128_128_1x7_s1_same", scheme="uint8", layout="NHWC",
                         pipeline="default", status="ok", same_code=True, base_status="ok", base_median_ms=27.0,
                         code_hash="c0de", base_code_hash="c0de")  # fmt: skip
        board.finish_run(run)
        board.close()
    merge = ["--merge", str(tmp_path / "rpi4.db"), "--merge", str(tmp_path / "qemu-a72.db")]
    args = ["report", "--repo", REPO, "--pr", str(number), "--db", str(tmp_path / "report.db"), *merge]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "rpi4.db: 1 run merged" in result.output and "qemu-a72.db: 1 run merged" in result.output
    (body,) = [c.body for c in fake.comments(REPO, number) if "<!-- perfbot:report -->" in c.body]
    assert "rpi4" in body and "qemu-a72" in body and "2 same code, on 2 devices" in body
    again = CliRunner().invoke(main, args, env=env)
    assert again.exit_code == 0 and "rpi4.db: 0 runs merged" in again.output
    assert len([c for c in fake.comments(REPO, number) if "<!-- perfbot:report -->" in c.body]) == 1
    missing = CliRunner().invoke(main, [*args[:-4], "--merge", str(tmp_path / "none.db")], env=env)
    assert missing.exit_code == 1 and "none.db" in missing.output
