"""Fork approvals cover the head the approver saw, and only that, with GitHub's times (never the bot's clock).

GitHub's clock is set two minutes behind the bot's (`fake.advance(-120)`), as when the bot learns of a
push a poll interval late: a rule that used the bot's clock for a head's time refuses the approvals
written just after a push.
"""

from __future__ import annotations

import pytest

from bot.github import approval
from tests.fake_github.world import REPO

MARKER = "<!-- perfbot:report -->"
ENABLED = ("qemu-a72", "rpi4")


@pytest.fixture
def fork(world):
    """A fork PR by someone without write access, seen by the bot; GitHub's clock behind the bot's."""
    world.store.remember(f"watch-start:{REPO}", "2020-01-01T00:00:00Z")  # watching since long ago
    world.fake.advance(-120)
    world.fake.set_permission(REPO, "mallory", "read")
    world.fake.set_permission(REPO, "maintainer", "maintain")
    number = world.fake.add_pull(REPO, author="mallory", fork=True)
    world.deliver("pull_request", world.fake.pull_request_event(REPO, number, "opened"))
    world.handle()
    assert world.job_states(world.fake.pull(REPO, number).head_sha) == {}
    return number


def replies(world, number) -> list[str]:
    return [c.body for c in world.bot_comments(number) if MARKER not in c.body]


def test_a_run_after_a_push_whose_synchronize_was_lost_runs_githubs_head(world, fork):
    """perfbot serve: the synchronize delivery never came; the approval names the head GitHub has."""
    old = world.fake.pull(REPO, fork).head_sha
    world.fake.advance(5)
    new = world.fake.push_pull(REPO, fork)  # no synchronize delivered
    world.fake.advance(5)
    said = world.fake.add_comment(REPO, fork, "maintainer", "@perfbot run")
    world.deliver("issue_comment", world.fake.issue_comment_event(said))
    world.handle()
    assert world.fake.reactions(said) == ["eyes"]
    assert world.job_states(new) == {("pr", d): "pending" for d in ENABLED}
    assert world.job_states(old) == {}
    assert world.store.approved(REPO, fork, new) and not world.store.approved(REPO, fork, old)
    assert world.store.pull(REPO, fork)["head_sha"] == new
    assert replies(world, fork) == []


@pytest.mark.parametrize("way", ["poll", "webhook"])
def test_an_approval_written_just_after_a_push_runs_that_head_with_one_comment(world, fork, way):
    """The bot hears of the push late (next poll), yet the approval came after GitHub had the push."""
    world.fake.advance(5)
    new = world.fake.push_pull(REPO, fork)
    world.fake.advance(3)
    said = world.fake.add_comment(REPO, fork, "maintainer", "@perfbot run")
    if way == "poll":
        world.poll()
    else:
        world.deliver("pull_request", world.fake.pull_request_event(REPO, fork, "synchronize"))
        world.deliver("issue_comment", world.fake.issue_comment_event(said))
        world.handle()
    assert world.fake.reactions(said) == ["eyes"]
    assert world.job_states(new) == {("pr", d): "pending" for d in ENABLED}
    assert [c.author for c in world.fake.comments(REPO, fork) if c.author == "maintainer"] == ["maintainer"]
    assert replies(world, fork) == []


@pytest.mark.parametrize("way", ["poll", "webhook"])
def test_an_approval_written_before_a_push_is_refused_politely_and_a_new_one_runs_it(world, fork, way):
    old = world.fake.pull(REPO, fork).head_sha
    world.fake.advance(5)
    said = world.fake.add_comment(REPO, fork, "maintainer", "@perfbot run")
    world.fake.advance(3)
    new = world.fake.push_pull(REPO, fork)  # mallory pushes after the approval, before the bot handles it
    if way == "poll":
        world.poll()
    else:
        world.deliver("issue_comment", world.fake.issue_comment_event(said))  # the synchronize comes late
        world.handle()
    assert world.fake.reactions(said) == ["confused"]
    assert world.job_states(new) == {} and world.job_states(old) == {}
    assert not world.store.approved(REPO, fork, new)
    (reply,) = replies(world, fork)
    assert reply.startswith("@maintainer sorry, I can't do that: this fork's head is now ")
    assert f"`{new[:10]}`" in reply and "comment `@perfbot run` again to run this head" in reply

    world.deliver("pull_request", world.fake.pull_request_event(REPO, fork, "synchronize"))
    world.fake.advance(3)
    again = world.fake.add_comment(REPO, fork, "maintainer", "@perfbot run")
    world.poll()
    assert world.fake.reactions(again) == ["eyes"]
    assert world.job_states(new) == {("pr", d): "pending" for d in ENABLED}


def test_a_late_delivery_of_an_older_head_changes_nothing(world, fork):
    stale = world.fake.pull_request_event(REPO, fork, "opened")
    world.fake.advance(5)
    new = world.fake.push_pull(REPO, fork)
    world.fake.advance(5)
    said = world.fake.add_comment(REPO, fork, "maintainer", "@perfbot run")
    world.deliver("issue_comment", world.fake.issue_comment_event(said))
    world.handle()
    world.deliver("pull_request", {**stale, "action": "synchronize"})  # redelivered long after
    world.handle()
    assert world.store.pull(REPO, fork)["head_sha"] == new
    assert world.job_states(new) == {("pr", d): "pending" for d in ENABLED}


def test_nothing_queues_a_fork_head_that_no_approval_names(world, fork):
    assert world.bot.schedule_pr(REPO, fork, force=True) == 0
    assert world.jobs(kind="pr") == []


@pytest.mark.parametrize(
    "comment_at, head_at, covered",
    [
        ("2024-05-01T12:00:10Z", "2024-05-01T12:00:00Z", True),
        ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z", True),  # the comment itself bumped updated_at
        ("2024-05-01T12:00:00Z", "2024-05-01T12:00:01Z", False),
        ("2024-05-01T14:00:00+02:00", "2024-05-01T12:00:01Z", False),
        ("", "2024-05-01T12:00:00Z", False),
        ("2024-05-01T12:00:00Z", None, False),
        ("yesterday", "2024-05-01T12:00:00Z", False),
    ],
)
def test_covers(comment_at, head_at, covered):
    assert approval.covers(comment_at, head_at) is covered
