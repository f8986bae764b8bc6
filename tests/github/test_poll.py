"""Polling: conditional requests that make an idle poll free, comments of the whole repo, and the loop."""

from __future__ import annotations

import threading

import pytest

from bot.errors import GitHubError
from bot.github.poll import loop
from tests.fake_github.world import REPO


class Waits(threading.Event):
    """A stop event that records how long the loop waits, and stops it after `rounds` waits."""

    def __init__(self, rounds: int):
        super().__init__()
        self.rounds = rounds
        self.delays: list[float] = []

    def wait(self, timeout=None):
        self.delays.append(timeout)
        if len(self.delays) >= self.rounds:
            self.set()
        return self.is_set()


def settle(world) -> None:
    """Poll until nothing is left to do (the bot's own comment changes what the next poll sees)."""
    for _ in range(4):
        world.poll()


def test_an_idle_poll_costs_no_rate_limit_also_after_a_restart(world):
    world.fake.set_permission(REPO, "alice", "write")
    world.fake.add_pull(REPO, author="alice")
    settle(world)
    for restarted in (False, True):
        if restarted:
            world.restart()
        world.fake.clear_requests()
        remaining = world.fake.remaining()
        assert world.poll() == {"pulls": 0, "comments": 0, "base": 0}
        assert [(r.method, r.path) for r in world.fake.requests] == [
            ("GET", f"/repos/{REPO}/pulls"),
            ("GET", f"/repos/{REPO}/issues/comments"),
            ("GET", f"/repos/{REPO}/branches/main"),
        ]
        assert len(world.fake.not_modified()) == 3
        assert all("if-none-match" in r.headers for r in world.fake.requests)
        assert world.fake.remaining() == remaining


def test_a_poll_finds_new_prs_new_commands_and_new_base_commits(world):
    settle(world)
    world.fake.set_permission(REPO, "alice", "write")
    number = world.fake.add_pull(REPO, author="alice")
    assert world.poll() == {"pulls": 1, "comments": 0, "base": 0}
    said = world.fake.add_comment(REPO, number, "alice", "Nice, but:\n@perfbot rerun device=rpi4")
    world.fake.add_comment(REPO, number, "bob", "no command here")
    before = world.fake.repo(REPO).branches["main"]
    after = world.fake.push(REPO, "main")
    assert world.poll() == {"pulls": 0, "comments": 1, "base": 1}
    assert before != after and {j["device"] for j in world.jobs(sha=after)} == {"rpi4", "qemu-a72"}
    assert world.store.decision(said) == "rerun: 0 jobs queued"  # its jobs were still pending


def test_comments_from_before_the_bot_watched_are_history_not_commands(world):
    world.fake.set_permission(REPO, "alice", "write")
    number = world.fake.add_pull(REPO, author="alice")
    old = world.fake.add_comment(REPO, number, "alice", "@perfbot cancel")
    world.fake.comment(old).created_at = world.fake.comment(old).updated_at = "2020-01-01T00:00:00Z"
    world.poll()
    assert world.fake.reactions(old) == []
    assert {j["state"] for j in world.jobs(kind="pr")} == {"pending"}


def test_comments_on_many_prs_are_read_page_by_page(world):
    settle(world)
    world.fake.set_permission(REPO, "alice", "write")
    numbers = [world.fake.add_pull(REPO, author="alice") for _ in range(3)]
    world.poll()
    world.github._requester.per_page = 2  # noqa: SLF001 - small pages, as with 100+ comments on GitHub
    ids = [world.fake.add_comment(REPO, n, "alice", "@perfbot help") for n in numbers for _ in range(2)]
    world.poll()
    assert all(world.fake.reactions(i) == ["eyes"] for i in ids)
    pages = [r.query.get("page") for r in world.fake.requests_to("GET", r"/issues/comments$")]
    assert "3" in pages


def test_a_poll_that_fails_half_way_keeps_nothing_and_the_next_one_sees_everything(world):
    world.fake.set_permission(REPO, "alice", "write")
    number = world.fake.add_pull(REPO, author="alice")
    world.fake.fail_next(2, status=502, match=r"/branches/")
    with pytest.raises(GitHubError):
        world.poller.poll_once()
    assert world.store.inbox_due(now=float("inf")) == []
    assert world.poll()["pulls"] == 1  # the list of PRs is read again, not answered 304
    assert {j["pr"] for j in world.jobs(kind="pr")} == {number}


def test_a_pr_closed_between_polls_has_its_jobs_cancelled(world):
    world.fake.set_permission(REPO, "alice", "write")
    number = world.fake.add_pull(REPO, author="alice")
    world.poll()
    world.fake.close_pull(REPO, number, merged=True)
    assert world.poll()["pulls"] == 1
    assert {j["state"] for j in world.jobs(kind="pr")} == {"cancelled"}
    assert world.store.pull(REPO, number)["state"] == "closed"


def test_the_loop_outlives_github_being_down_and_backs_off(world):
    world.fake.set_permission(REPO, "alice", "write")
    world.fake.add_pull(REPO, author="alice")
    world.fake.stop()
    stop = Waits(rounds=3)
    loop(world.bot, world.publisher, world.poller, 10.0, stop)
    assert stop.delays == [20.0, 40.0, 80.0]
    world.fake.start()
    stop = Waits(rounds=1)
    loop(world.bot, world.publisher, world.poller, 10.0, stop)
    assert stop.delays == [10.0]
    assert len(world.jobs()) == 4


def test_the_loop_waits_for_a_rate_limit_to_reset(world):
    reset = world.fake.exhaust_rate_limit(reset_in=120)
    stop = Waits(rounds=1)
    loop(world.bot, world.publisher, world.poller, 10.0, stop)
    assert stop.delays[0] == pytest.approx(reset - world.clock(), abs=5)
