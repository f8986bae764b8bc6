"""One retry policy for the inbox and the outbox: waits, rate limits, giving up."""

from __future__ import annotations

import pytest

from bot.errors import GitHubError
from bot.github.client import GitHubUnavailable, RateLimited
from bot.github.retry import NEVER, RetryPolicy
from tests.fake_github.world import REPO

NOW = 1_000_000.0


def test_waits_double_with_a_little_jitter_up_to_ten_minutes():
    policy = RetryPolicy()
    for attempts, base in [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0)]:
        waits = [policy.wait_s(attempts) for _ in range(20)]
        assert all(base <= w <= base + policy.jitter_s for w in waits)
    assert policy.wait_s(30) == 600.0


@pytest.mark.parametrize(
    "error, attempts, expected",
    [
        (RateLimited("used up", reset_at=NOW + 1234), 1, NOW + 1234),  # when GitHub says, not before
        (GitHubUnavailable("down"), 19, "backoff"),
        (GitHubUnavailable("down"), 20, NEVER),
        (GitHubError("422"), 20, NEVER),
        (ValueError("a bug"), 2, "backoff"),
        (ValueError("a bug"), 3, NEVER),  # waiting does not heal a bug
    ],
)
def test_next_attempt(error, attempts, expected):
    at = RetryPolicy().next_attempt(error, attempts, NOW)
    if expected == "backoff":
        assert NOW < at <= NOW + 600 + 5
    else:
        assert at == expected


def test_only_github_being_away_stops_a_round():
    assert RetryPolicy.stops_round(RateLimited("x", reset_at=1.0)) and RetryPolicy.stops_round(GitHubUnavailable("x"))
    assert not RetryPolicy.stops_round(GitHubError("404")) and not RetryPolicy.stops_round(ValueError())


def test_a_policy_without_attempts_is_refused():
    with pytest.raises(ValueError, match="github_attempts=0"):
        RetryPolicy(github_attempts=0)


def test_the_inbox_and_the_outbox_give_up_the_same_way(world, monkeypatch):
    world.fake.set_permission(REPO, "alice", "write")
    number = world.fake.add_pull(REPO, author="alice")
    world.poll()

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(world.bot, "sync_pull", broken)
    monkeypatch.setattr(world.publisher, "publish", broken)
    world.deliver("pull_request", world.fake.pull_request_event(REPO, number, "edited"))
    world.store.mark_dirty(REPO, number, "again")
    for _ in range(3):
        world.handle()
        world.clock.advance(700)
    (item,) = [row for row in world.store.db["inbox"].rows if row["event"] == "pull_request"]
    assert (item["state"], item["attempts"]) == ("failed", 3) and "RuntimeError: a bug" in item["error"]
    (parked,) = world.store.dirty(now=float("inf"))
    assert parked["attempts"] == 3 and world.store.dirty(now=world.clock() + 10**9) == []
    world.store.mark_dirty(REPO, number, "a new result")  # a new mark makes it due again
    assert world.store.dirty(now=world.clock())
