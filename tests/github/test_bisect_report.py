"""Found bisections posted on the first bad commit's PR: once, by marker, through the fake GitHub over HTTP."""

from __future__ import annotations

import threading

from bot.github import bisect_report
from bot.github.poll import loop
from tests.fake_github.world import DASHBOARD, REPO
from tests.github.test_comment import golden

GOOD, BAD = "a" * 40, "b" * 40


def merged_pull(world, sha: str, title: str = "[TFLite] Recompute 1x7 convolutions") -> int:
    """A PR whose commit `sha` was merged into main (a rebase merge: the commit itself is on main)."""
    number = world.fake.add_pull(REPO, author="alice", title=title, shas=[sha])
    world.fake.close_pull(REPO, number, merged=True)
    return number


def found(world, first_bad: str, device: str = "rpi4", **fields) -> int:
    """A bisection as bot/engine/bisect.py records one that found `first_bad`."""
    store = world.store
    bisection_id = store.start_bisection(
        repo=REPO, device=device, workload="qconv_17x17x128_128_1x7_s1_same", scheme="uint8", layout="NHWC",
        pipeline="default", good_sha=GOOD, bad_sha=BAD, reason="change point on the base branch: +97.0% within 7 commits",
    )  # fmt: skip
    evidence = [
        {"sha": "c" * 40, "role": "probe", "verdict": "skipped", "bad": None, "reason": "build failed: `import tvm` | SyntaxError"},
        {"sha": "d" * 40, "role": "probe", "verdict": "same code", "bad": False},
        {"sha": first_bad, "role": "probe", "verdict": "slower", "bad": True, "change": 0.981, "ci_low": 0.95,
         "ci_high": 1.012, "rounds": 8},
        {"sha": BAD, "role": "endpoint", "verdict": "slower", "bad": True, "change": 0.97, "ci_low": 0.93,
         "ci_high": 1.0, "rounds": 8},
    ]  # fmt: skip
    store.update_bisection(bisection_id, status="found", first_bad_sha=first_bad, change=0.981, evidence=evidence,
                           **fields)  # fmt: skip
    return bisection_id


def bisect_comments(world, number: int) -> list:
    return [c for c in world.bot_comments(number) if "<!-- perfbot:bisect -->" in c.body]


def cycle(world) -> None:
    """One round of the real bot loop (`perfbot watch --once`)."""
    loop(world.bot, world.publisher, world.poller, 10.0, threading.Event(), once=True)


def test_a_found_bisection_is_posted_once_on_the_pr_that_brought_the_commit(world):
    first_bad = "e" * 40
    number = merged_pull(world, first_bad)
    bisection_id = found(world, first_bad)
    cycle(world)
    (posted,) = bisect_comments(world, number)
    golden("bisect.md", posted.body)
    assert f"{DASHBOARD}/trend/rpi4--qconv_17x17x128_128_1x7_s1_same--uint8.html" in posted.body
    row = world.store.bisection(bisection_id)
    assert row["pr"] == number and row["posted_at"] and row["comment_id"] == posted.id
    assert world.store.unposted_bisections() == []

    # A second cycle, and a restarted bot, post nothing and do not even ask GitHub again.
    world.fake.clear_requests()
    cycle(world)
    world.restart()
    cycle(world)
    assert world.fake.requests_to("POST", r"/comments$") == []
    assert world.fake.requests_to("PATCH", r"/comments/") == []
    assert world.fake.requests_to("GET", r"/commits/.*/pulls") == []
    assert len(bisect_comments(world, number)) == 1 and len(world.bot_comments(number)) == 1


def test_a_second_bisection_naming_the_same_pr_edits_its_one_comment(world):
    first_bad = "e" * 40
    number = merged_pull(world, first_bad)
    found(world, first_bad, device="rpi4")
    cycle(world)
    found(world, first_bad, device="qemu-a72")
    cycle(world)
    (posted,) = bisect_comments(world, number)
    assert "on **rpi4**" in posted.body and "on **qemu-a72**" in posted.body
    assert len(world.fake.requests_to("POST", r"/issues/\d+/comments$")) == 1


def test_a_comment_saved_while_the_answer_was_lost_is_not_posted_twice(world):
    first_bad = "e" * 40
    number = merged_pull(world, first_bad)
    bisection_id = found(world, first_bad)
    # The first look for the comment fails, the retry's POST is saved but its answer lost: the client gives up.
    world.fake.fail_next(match=r"GET /repos/.*/issues/\d+/comments")
    world.fake.fail_next(match=r"POST /repos/.*/issues/\d+/comments", after_write=True)
    cycle(world)
    assert len(bisect_comments(world, number)) == 1  # GitHub saved it, the bot did not hear so
    assert world.store.bisection(bisection_id)["posted_at"] is None
    world.restart()
    cycle(world)
    (posted,) = bisect_comments(world, number)
    assert world.store.bisection(bisection_id)["comment_id"] == posted.id


def test_a_commit_without_a_merged_pull_request_gets_a_note_not_a_comment(world):
    pushed = world.fake.push(REPO, "main", message="pushed straight to main")
    bisection_id = found(world, pushed)
    cycle(world)
    cycle(world)
    row = world.store.bisection(bisection_id)
    assert row["posted_at"] is None and "no merged pull request" in row["post_note"]
    assert len(world.fake.requests_to("GET", r"/commits/.*/pulls")) == 1  # not asked again
    assert [c for c in world.fake.requests if c.method == "POST" and "comments" in c.path] == []


def test_bisections_that_are_not_found_or_have_no_repository_are_not_posted(world):
    first_bad = "e" * 40
    merged_pull(world, first_bad)
    local = found(world, first_bad)
    world.store.update_bisection(local, repo=None)
    world.store.start_bisection(repo=REPO, device="rpi4", workload="w", scheme="uint8", layout="NHWC",
                                pipeline="default", good_sha=GOOD, bad_sha=BAD)  # fmt: skip
    assert world.store.unposted_bisections() == []
    assert bisect_report.post_found(world.store, world.github, world.settings) == 0
