"""The PR bot's stories over its real parts: fake GitHub over HTTP, SQLite on disk, inbox, outbox, queue.

Each test drives the bot as `perfbot watch` (poll) or `perfbot serve` (webhook
events into the inbox) would, simulates finished jobs through the Store API,
and checks what GitHub ends up showing: one sticky comment, commit statuses,
reactions and replies.
"""

from __future__ import annotations

import time

import pytest

from bot.store import Store
from tests.fake_github.world import DEVICES, REPO, World, failed, ok

MARKER = "<!-- perfbot:report -->"
ENABLED = ("qemu-a72", "rpi4")


def open_pr(world, author="alice", role="write", **options) -> tuple[int, str, str]:
    """A PR by `author` (with `role` on the repo); returns (number, head sha, merge base)."""
    world.fake.set_permission(REPO, author, role)
    number = world.fake.add_pull(REPO, author=author, **options)
    pull = world.fake.pull(REPO, number)
    return number, pull.head_sha, pull.base_sha


def comment(world, number, author, body, role=None) -> int:
    if role:
        world.fake.set_permission(REPO, author, role)
    return world.fake.add_comment(REPO, number, author, body)


def slower_on_rpi4(job):
    """Base at 10 ms; the PR 20% slower on both devices, and one wrong result on the PR."""
    if job["kind"] == "base":
        return [
            ok("qconv_a", [10.0, 10.1, 9.9, 10.0, 10.05, 9.95, 10.0, 10.02]),
            ok("qconv_b", [5.0, 5.01, 4.99, 5.0, 5.0, 5.02, 4.98, 5.0]),
        ]
    return [
        ok("qconv_a", [12.0, 12.1, 11.9, 12.0, 12.05, 11.95, 12.0, 12.02]),
        ok(
            "qconv_b",
            [5.0, 5.01, 4.99, 5.0, 5.0, 5.02, 4.98, 5.0],
            max_abs_diff=37.0,
            mismatch_fraction=0.4,
            status="wrong_result",
        ),
    ]


# Opening a PR --------------------------------------------------------------------------------


@pytest.mark.parametrize("way", ["poll", "webhook"])
def test_an_opened_pr_queues_its_baseline_first_and_shows_pending(world, way):
    number, head, base = open_pr(world)
    if way == "poll":
        world.poll()
    else:
        world.deliver("pull_request", world.fake.pull_request_event(REPO, number, "opened"))
        world.handle()

    assert world.job_states(head) == {("pr", d): "pending" for d in ENABLED}  # not the disabled old-board
    assert world.job_states(base) == {("base", d): "pending" for d in ENABLED}
    first = world.store.claim("rpi4", "w1")
    assert (first["kind"], first["sha"]) == ("base", base)  # the baseline the PR needs runs first
    assert world.statuses(head) == {"perfbot/rpi4": "pending", "perfbot/qemu-a72": "pending"}
    body = world.report(number)
    assert body.startswith(MARKER)
    assert "on 2 devices; 2 jobs pending" in body  # the head's; a PR job times its base itself
    assert f"{world.settings.dashboard_url}/pr/{number}.html" in body

    # The other way in finds nothing new: no second job, comment or status.
    writes = len(world.fake.writes())
    if way == "poll":
        world.deliver("pull_request", world.fake.pull_request_event(REPO, number, "opened"))
        world.handle()
    else:
        world.poll()
    assert len(world.jobs()) == 4
    assert len(world.bot_comments(number)) == 1
    assert [r.path for r in world.fake.writes()[writes:] if "/statuses/" in r.path] == []


def test_a_baseline_already_measured_is_not_queued_again(world):
    number, head, base = open_pr(world)
    world.poll()
    world.finish_jobs(kinds=("base",))
    other, other_head, other_base = open_pr(world, author="bob")
    assert other_base == base
    world.poll()
    assert world.job_states(other_head) == {("pr", d): "pending" for d in ENABLED}
    assert {j["state"] for j in world.jobs(sha=base)} == {"done"}


# Results, the sticky comment and statuses ----------------------------------------------------


def test_results_edit_the_one_comment_in_place_and_set_final_statuses(world):
    number, head, base = open_pr(world)
    world.poll()
    sticky = world.bot_comments(number)[0].id
    world.finish_jobs(slower_on_rpi4)
    world.handle()

    comments = world.bot_comments(number)
    assert [c.id for c in comments] == [sticky]
    body = comments[0].body
    summary = body.splitlines()[1]
    # rpi4: one slower and one wrong result; qemu: emulated (never judged) and one wrong result.
    assert summary == "### perfbot: 1 slower, 2 wrong results, 1 emulated, on 2 devices"
    assert "| `qconv_a` | uint8 | NHWC/default | 10.00 | 12.00 | +20.0%" in body
    assert "**slower than +2%, confirmed by a rerun**" in body and "**wrong result**" in body
    assert world.statuses(head) == {"perfbot/rpi4": "failure", "perfbot/qemu-a72": "failure"}
    described = {c: r["description"] for c, r in world.fake.latest_statuses(REPO, head).items()}
    assert described["perfbot/rpi4"] == "1 slower, 1 wrong result"


def test_an_unchanged_pr_gets_success(world):
    number, head, base = open_pr(world)
    world.poll()
    world.finish_jobs()
    world.handle()
    assert world.statuses(head) == {"perfbot/rpi4": "success", "perfbot/qemu-a72": "success"}
    assert "### perfbot: 1 unchanged, 1 emulated, on 2 devices\n" in world.report(number)


def test_a_restarted_bot_edits_the_same_comment_and_resends_nothing(world):
    number, head, base = open_pr(world)
    world.poll()
    sticky = world.bot_comments(number)[0].id
    world.restart()
    writes = len(world.fake.writes())
    world.store.mark_dirty(REPO, number, "nothing new")
    world.handle()
    assert world.fake.writes()[writes:] == []  # same comment text, same statuses: nothing sent

    world.finish_jobs()
    world.restart()
    world.handle()
    assert [c.id for c in world.bot_comments(number)] == [sticky]
    assert "pending" not in world.statuses(head).values()


def test_a_database_without_the_comment_id_finds_the_comment_by_its_marker(world, tmp_path):
    number, head, base = open_pr(world)
    world.poll()
    sticky = world.bot_comments(number)[0].id
    world.store.db.execute("delete from pr_comments")
    world.finish_jobs()
    world.handle()
    assert [c.id for c in world.bot_comments(number)] == [sticky]
    assert world.store.comment_id(REPO, number) == sticky


def test_failed_jobs_and_failures_show_their_last_lines(world):
    number, head, base = open_pr(world)
    world.poll()
    trace = "\n".join(f"  frame {i}" for i in range(40)) + '\nAssertionError: kernel_layout == "HWIO"'

    def results(job):
        if job["kind"] == "base":
            return [ok("qconv_a", [10.0] * 8)]
        return [failed("qconv_a", "compile_error", trace)]

    world.finish_jobs(results, device="rpi4")
    world.finish_jobs(device="qemu-a72", fail="environment_error: pip:apache-tvm==9.9 does not exist")
    world.handle()
    body = world.report(number)
    assert "<details><summary>1 failure on rpi4: last lines of output</summary>" in body
    assert 'AssertionError: kernel_layout == "HWIO"' in body and "frame 39" in body and "frame 5\n" not in body
    assert "**new compile error**" in body
    assert "A job failed: environment_error: pip:apache-tvm==9.9 does not exist" in body
    assert world.statuses(head) == {"perfbot/rpi4": "failure", "perfbot/qemu-a72": "error"}


# Pushes and closing ------------------------------------------------------------------------


def test_a_new_push_cancels_the_old_heads_jobs_and_updates_the_same_comment(world):
    number, old, base = open_pr(world)
    world.poll()
    sticky = world.bot_comments(number)[0].id
    running = world.store.claim("rpi4", "w1")
    running = world.store.claim("rpi4", "w1") if running["kind"] == "base" else running
    assert (running["kind"], running["sha"]) == ("pr", old)

    new = world.fake.push_pull(REPO, number)
    world.deliver("pull_request", world.fake.pull_request_event(REPO, number, "synchronize"))
    world.handle()

    assert set(world.job_states(old).values()) == {"cancelled"}
    assert world.job_states(new) == {("pr", d): "pending" for d in ENABLED}
    assert not world.store.heartbeat(running["id"], "w1")  # its worker learns it at the next heartbeat
    assert [c.id for c in world.bot_comments(number)] == [sticky]
    assert f"Head `{new[:10]}`" in world.report(number)
    assert world.statuses(new) == {"perfbot/rpi4": "pending", "perfbot/qemu-a72": "pending"}


def test_closing_cancels_pending_jobs_and_reopening_queues_them_again(world):
    number, head, base = open_pr(world)
    world.poll()
    world.fake.close_pull(REPO, number)
    world.poll()  # the poll finds it gone from the open PRs
    assert set(world.job_states(head).values()) == {"cancelled"}
    assert "This pull request is closed" in world.report(number)

    world.fake.reopen_pull(REPO, number)
    world.deliver("pull_request", world.fake.pull_request_event(REPO, number, "reopened"))
    world.handle()
    assert set(world.job_states(head).values()) == {"pending"}
    assert "This pull request is closed" not in world.report(number)


def test_a_push_to_the_base_branch_queues_its_measurement(world):
    before = world.fake.repo(REPO).branches["main"]
    after = world.fake.push(REPO, "main", message="Merge something")
    world.deliver("push", world.fake.push_event(REPO, "main", before))
    world.deliver("push", world.fake.push_event(REPO, "main", before) | {"ref": "refs/heads/feature"})
    world.handle()
    assert world.job_states(after) == {("base", d): "pending" for d in ENABLED}
    assert len(world.jobs()) == 2


# Commands ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["write", "maintain", "admin"])
@pytest.mark.parametrize("way", ["poll", "webhook"])
def test_a_maintainer_reruns_everything_for_the_head(world, role, way):
    number, head, base = open_pr(world)
    world.poll()
    world.finish_jobs()
    world.handle()
    said = comment(world, number, "maintainer", "Looks noisy.\n  @PerfBot ReRun  \nthanks", role=role)
    if way == "poll":
        world.poll()
    else:
        world.deliver("issue_comment", world.fake.issue_comment_event(said))
        world.handle()
    assert world.fake.reactions(said) == ["eyes"]
    assert world.job_states(head) == {("pr", d): "pending" for d in ENABLED}
    assert {j["requested_by"] for j in world.jobs(sha=head)} == {"maintainer"}
    assert world.statuses(head) == {"perfbot/rpi4": "pending", "perfbot/qemu-a72": "pending"}

    # The same comment again (redelivered, or seen by the other way in) changes nothing.
    world.finish_jobs()
    world.deliver("issue_comment", world.fake.issue_comment_event(said))
    world.poll()
    assert set(world.job_states(head).values()) == {"done"}
    assert world.fake.reactions(said) == ["eyes"]


def test_rerun_can_be_narrowed_to_a_device_and_suite(world):
    number, head, base = open_pr(world)
    world.poll()
    world.finish_jobs()
    comment(world, number, "maintainer", "@perfbot rerun device=rpi4 suite=smoke", role="maintain")
    world.poll()
    assert world.job_states(head) == {("pr", "rpi4"): "pending", ("pr", "qemu-a72"): "done"}


@pytest.mark.parametrize(
    "body, why",
    [
        ("@perfbot rerun device=nope", "unknown device `nope` (known: old-board, qemu-a72, rpi4)"),
        ("@perfbot rerun device=old-board", "device `old-board` is disabled in devices.yml"),
        ("@perfbot rerun suite=huge", "unknown suite `huge`"),
        ("@perfbot rerun colour=red", "rerun takes no option 'colour'"),
        ("@perfbot frobnicate", "unknown command 'frobnicate'"),
    ],
)
def test_a_command_that_cannot_be_carried_out_is_refused_with_the_reason(world, body, why):
    number, head, base = open_pr(world)
    world.poll()
    said = comment(world, number, "maintainer", body, role="admin")
    world.poll()
    assert world.fake.reactions(said) == ["confused"]
    replies = [c.body for c in world.bot_comments(number) if MARKER not in c.body]
    assert len(replies) == 1 and replies[0].startswith("@maintainer sorry, I can't do that:") and why in replies[0]


@pytest.mark.parametrize("role", ["read", "triage", "none"])
def test_someone_without_write_access_is_refused_politely(world, role):
    number, head, base = open_pr(world)
    world.poll()
    world.finish_jobs()
    said = comment(world, number, "passerby", "@perfbot rerun", role=role)
    world.poll()
    assert world.fake.reactions(said) == ["confused"]
    assert set(world.job_states(head).values()) == {"done"}
    replies = [c.body for c in world.bot_comments(number) if MARKER not in c.body]
    assert replies == [
        f"@passerby sorry, I can't do that: `@perfbot rerun` needs write access to {REPO} "
        f"(you have {role} access) or a place on the bot's allowlist; a maintainer can give the "
        f"command for you."
    ]


def test_the_allowlist_lets_someone_without_write_access_command(world, tmp_path, fake_github):
    from tests.fake_github.world import World

    (tmp_path / "allow").mkdir()
    allowed = World(fake_github, tmp_path / "allow", allowlist=["Trusted-Bot"])
    number, head, base = open_pr(allowed)
    allowed.poll()
    allowed.finish_jobs()
    said = comment(allowed, number, "trusted-bot", "@perfbot rerun", role="read")
    allowed.poll()
    assert fake_github.reactions(said) == ["eyes"]
    assert set(allowed.job_states(head).values()) == {"pending"}
    allowed.close()


def test_help_is_answered_and_cancel_stops_the_prs_jobs(world):
    number, head, base = open_pr(world)
    world.poll()
    asked = comment(world, number, "newcomer", "@perfbot help")
    world.poll()
    assert world.fake.reactions(asked) == ["eyes"]
    replies = [c.body for c in world.bot_comments(number) if MARKER not in c.body]
    assert len(replies) == 1 and "@perfbot rerun device=NAME suite=NAME" in replies[0]

    cancel = comment(world, number, "maintainer", "@perfbot cancel", role="write")
    world.poll()
    assert world.fake.reactions(cancel) == ["eyes"]
    assert set(world.job_states(head).values()) == {"cancelled"}
    assert {j["state"] for j in world.jobs(kind="base")} == {"pending"}  # baselines serve everyone
    assert world.statuses(head) == {"perfbot/rpi4": "error", "perfbot/qemu-a72": "error"}
    assert world.fake.latest_statuses(REPO, head)["perfbot/rpi4"]["description"] == "cancelled by @maintainer"
    # The bot's own replies (help text included) are never taken as commands.
    world.poll()
    assert len(world.bot_comments(number)) == 2


def test_commands_inside_quotes_code_or_sentences_do_nothing(world):
    number, head, base = open_pr(world)
    world.poll()
    world.finish_jobs()
    said = comment(
        world,
        number,
        "maintainer",
        "> @perfbot rerun\n```\n@perfbot rerun\n```\nplease @perfbot rerun\n\n    @perfbot rerun\n\n"
        "<!--\n@perfbot rerun\n-->\n`@perfbot rerun`",
        role="admin",
    )
    world.poll()
    assert world.fake.reactions(said) == []
    assert set(world.job_states(head).values()) == {"done"}


# Fork PRs --------------------------------------------------------------------------------------


def test_a_fork_pr_waits_for_a_maintainers_run_which_covers_one_head_only(world):
    number, head, base = open_pr(world, author="mallory", role="read", fork=True)
    world.poll()
    assert {j["kind"] for j in world.jobs()} == {"base"}  # main's head, found by the poll; nothing of the PR's
    body = world.report(number)
    assert "comes from a fork" in body and "`@perfbot run`" in body and head[:10] in body

    refused = comment(world, number, "mallory", "@perfbot run")
    world.poll()
    assert world.fake.reactions(refused) == ["confused"]
    assert world.job_states(head) == {}

    approved = comment(world, number, "maintainer", "@perfbot run", role="maintain")
    world.poll()
    assert world.fake.reactions(approved) == ["eyes"]
    assert world.job_states(head) == {("pr", d): "pending" for d in ENABLED}
    assert world.store.approved(REPO, number, head)
    assert "comes from a fork" not in world.report(number)

    new = world.fake.push_pull(REPO, number)
    world.poll()
    assert set(world.job_states(head).values()) == {"cancelled"}
    assert world.job_states(new) == {}  # a new push needs a new approval
    assert f"approves head `{new[:10]}` only" in world.report(number)

    comment(world, number, "maintainer", "@perfbot run")
    world.poll()
    assert world.job_states(new) == {("pr", d): "pending" for d in ENABLED}


def test_a_fork_pr_by_someone_with_write_access_runs_at_once(world):
    number, head, base = open_pr(world, author="committer", role="write", fork=True)
    world.poll()
    assert world.job_states(head) == {("pr", d): "pending" for d in ENABLED}


# GitHub trouble ------------------------------------------------------------------------------


def test_github_down_delays_the_work_and_nothing_is_posted_twice(world):
    number, head, base = open_pr(world)
    payload = world.fake.pull_request_event(REPO, number, "opened")
    world.fake.stop()
    world.deliver("pull_request", payload)  # the receiver keeps it in the inbox; handling waits
    world.handle()
    item = world.store.db["inbox"].get(1)
    assert (item["state"], item["attempts"]) == ("pending", 1) and "cannot reach GitHub" in item["error"]
    assert world.jobs() == []

    world.fake.start()
    world.handle()  # not due yet: the backoff holds
    assert world.jobs() == []
    world.clock.advance(60)
    world.handle()
    assert len(world.jobs()) == 4
    assert world.store.db["inbox"].get(1)["state"] == "done"

    # Down while publishing: the outbox keeps the PR and publishes it once GitHub is back.
    world.finish_jobs()
    world.fake.fail_next(2, status=502, match=r"^PATCH ")  # both tries of one round
    world.handle()
    assert world.store.dirty(now=float("inf"))
    world.clock.advance(120)
    world.handle()
    assert world.store.dirty(now=float("inf")) == []
    assert len(world.bot_comments(number)) == 1
    assert "pending" not in world.report(number)
    assert len(world.fake.requests_to("POST", r"/issues/\d+/comments$")) == 1


def test_a_lost_answer_to_a_post_does_not_duplicate_the_comment(world):
    number, head, base = open_pr(world)
    world.fake.fail_next(1, status=502, match=r"^POST /repos/[^/]+/[^/]+/issues/\d+/comments$", after_write=True)
    world.poll()
    assert len(world.bot_comments(number)) == 1
    world.finish_jobs()
    world.handle()
    assert len(world.bot_comments(number)) == 1


def test_rate_limits_make_work_wait_until_the_reset(world):
    number, head, base = open_pr(world)
    world.poll()
    said = comment(world, number, "maintainer", "@perfbot rerun", role="write")
    world.finish_jobs()
    world.fake.secondary_limit_next(50, retry_after=300)  # longer than the client waits itself
    from bot.github.client import RateLimited

    with pytest.raises(RateLimited):
        world.poller.poll_once()
    world.deliver("issue_comment", world.fake.issue_comment_event(said))
    world.handle()
    item = world.store.inbox_due(now=float("inf"))[0]
    assert item["next_attempt"] == pytest.approx(world.clock() + 300, abs=1)
    assert world.fake.reactions(said) == []

    world.fake.clear_faults()
    world.clock.advance(301)
    world.handle()
    assert world.fake.reactions(said) == ["eyes"]
    assert set(world.job_states(head).values()) == {"pending"}

    # The primary limit: GitHub says when it resets, and nothing is sent before then.
    reset = world.fake.exhaust_rate_limit(reset_in=1.0)
    world.store.mark_dirty(REPO, number, "a change")
    world.finish_jobs()
    world.handle()
    assert world.store.dirty(now=float("inf"))[0]["next_attempt"] == reset
    time.sleep(max(0.0, reset - time.time()) + 0.1)
    world.clock.now = time.time()
    world.handle()
    assert world.store.dirty(now=float("inf")) == []
    assert "pending" not in world.statuses(head).values()
    assert len(world.bot_comments(number)) == 1


def test_a_secondary_limit_without_retry_after_defers_work_a_minute_not_an_hour(world):
    number, head, base = open_pr(world)
    world.poll()
    world.finish_jobs()
    said = comment(world, number, "maintainer", "@perfbot rerun", role="write")
    world.fake.secondary_limit_next(50, retry_after=None)
    world.deliver("issue_comment", world.fake.issue_comment_event(said))
    world.handle()
    (item,) = world.store.inbox_due(now=float("inf"))
    assert item["next_attempt"] == pytest.approx(world.clock() + 60, abs=1)
    world.fake.clear_faults()
    world.clock.advance(61)
    world.handle()
    assert world.fake.reactions(said) == ["eyes"]


# Dry run ---------------------------------------------------------------------------------------


def test_without_credentials_the_bot_records_and_tells_what_it_would_post(fake_github, tmp_path):
    from tests.fake_github.world import World

    fake_github.add_repo(REPO)
    world = World(fake_github, tmp_path, token=False)
    number, head, base = open_pr(world)
    world.poll()
    said = comment(world, number, "maintainer", "@perfbot rerun")
    world.poll()
    assert fake_github.writes() == []
    posts = world.store.posts(REPO, number)
    assert {p["kind"] for p in posts} == {"comment", "status", "reaction", "reply"}
    assert all(p["dry_run"] == 1 for p in posts)
    assert [p[0] for p in world.printed].count("comment") == 1
    assert [p[1:4] for p in world.printed if p[0] == "reaction"] == [(REPO, number, str(said))]
    world.close()


def test_a_restart_keeps_queue_approvals_and_handled_comments(world):
    number, head, base = open_pr(world, author="mallory", role="read", fork=True)
    world.poll()
    said = comment(world, number, "maintainer", "@perfbot run", role="admin")
    world.poll()
    world.restart()
    again = Store.open(world.db_path)
    assert again.approved(REPO, number, head)
    assert again.decision(said).startswith("run: 2 jobs queued")
    again.close()
    world.deliver("issue_comment", world.fake.issue_comment_event(said))
    world.poll()
    assert world.fake.reactions(said) == ["eyes"]
    assert len(world.jobs(kind="pr")) == 2


def test_a_command_on_a_closed_pr_is_refused_and_on_an_unseen_pr_it_works(world):
    number, head, base = open_pr(world)
    world.fake.close_pull(REPO, number)
    said = comment(world, number, "maintainer", "@perfbot rerun", role="admin")
    world.deliver("issue_comment", world.fake.issue_comment_event(said))
    world.handle()
    assert world.fake.reactions(said) == ["confused"]
    assert world.jobs() == [] and world.store.pull(REPO, number) is None

    unseen, unseen_head, _ = open_pr(world, author="bob")  # opened while the bot was not listening
    said = comment(world, unseen, "maintainer", "@perfbot rerun")
    world.deliver("issue_comment", world.fake.issue_comment_event(said))
    world.handle()
    assert world.fake.reactions(said) == ["eyes"]
    assert world.job_states(unseen_head) == {("pr", d): "pending" for d in ENABLED}


def test_a_rerun_also_retries_a_failed_baseline(world):
    number, head, base = open_pr(world)
    world.poll()
    world.finish_jobs(kinds=("base",), fail="environment_error: tracker unreachable")
    world.finish_jobs()
    world.handle()
    assert "The base branch's own run of the merge base failed (environment_error: tracker unreachable)" in (
        world.report(number)
    )
    comment(world, number, "maintainer", "@perfbot rerun", role="write")
    world.poll()
    assert world.job_states(base) == {("base", d): "pending" for d in ENABLED}
    assert world.job_states(head) == {("pr", d): "pending" for d in ENABLED}


def test_an_approval_written_before_a_push_does_not_run_the_pushed_code(world):
    number, head, base = open_pr(world, author="mallory", role="read", fork=True)
    world.poll()
    said = comment(world, number, "maintainer", "@perfbot run", role="maintain")
    written = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    world.fake.comment(said).created_at = world.fake.comment(said).updated_at = written
    new = world.fake.push_pull(REPO, number)  # mallory pushes before the bot has handled the approval
    world.deliver("pull_request", world.fake.pull_request_event(REPO, number, "synchronize"))
    world.deliver("issue_comment", world.fake.issue_comment_event(said))
    world.handle()
    assert world.fake.reactions(said) == ["confused"]
    assert world.job_states(new) == {} and not world.store.approved(REPO, number, new)
    reply = [c.body for c in world.bot_comments(number) if MARKER not in c.body][-1]
    assert (
        f"this fork's head is now `{new[:10]}`, and GitHub shows the pull request changed after your comment" in reply
    )
    assert "comment `@perfbot run` again to run this head" in reply


def test_events_queued_by_an_older_perfbot_are_handled_after_the_upgrade(fake_github, tmp_path):
    """Migration 4: inbox rows named by class (and PR events in their old flat shape) get stable kinds."""
    import json

    import sqlite_utils

    from bot.store import schema
    from tests.fake_github.world import World

    fake_github.add_repo(REPO)
    fake_github.set_permission(REPO, "alice", "write")
    fake_github.set_permission(REPO, "maintainer", "write")
    number = fake_github.add_pull(REPO, author="alice")
    pull = fake_github.pull(REPO, number)
    said = fake_github.add_comment(REPO, number, "maintainer", "@perfbot help")
    db = sqlite_utils.Database(tmp_path / "perf.db")
    before = schema.MIGRATIONS.index(schema._v4_inbox_kinds)  # the lead may renumber; find it by name
    for migration in schema.MIGRATIONS[:before]:
        migration(db)
    db.execute(f"PRAGMA user_version = {before}")
    flat = {
        "action": "opened",
        "repo": REPO,
        "number": number,
        "title": pull.title,
        "author": "alice",
        "head_sha": pull.head_sha,
        "head_repo": REPO,
        "head_ref": pull.head_ref,
        "base_ref": "main",
        "base_sha": pull.base_sha,
        "is_fork": False,
        "state": "open",
        "merged": False,
        "draft": False,
        "html_url": f"https://github.com/{REPO}/pull/{number}",
    }
    seen = {"repo": REPO, "number": number, "comment_id": said, "author": "maintainer", "body": "@perfbot help"}
    for event, payload in (("PullRequestEvent", flat), ("CommentSeen", seen)):
        db["inbox"].insert(
            {"event": event, "payload": json.dumps(payload), "attempts": 0, "next_attempt": 0.0, "state": "pending"}
        )
    db.close()

    world = World(fake_github, tmp_path)
    assert [row["event"] for row in world.store.db["inbox"].rows] == ["pull_request", "poll:comment_seen"]
    world.handle()
    assert {row["state"] for row in world.store.db["inbox"].rows} == {"done"}
    assert world.job_states(pull.head_sha) == {("pr", d): "pending" for d in ENABLED}
    assert fake_github.reactions(said) == ["eyes"]
    assert world.store.pull(REPO, number)["url"] == f"https://github.com/{REPO}/pull/{number}"
    world.close()


def test_a_base_branch_head_queues_tuning_after_everything_else_and_a_newer_head_supersedes_it(world):
    first = world.fake.repo(REPO).branches["main"]
    world.poll()
    tune = {(j["device"], j["state"]) for j in world.jobs(sha=first, kind="tune")}
    assert tune == {("rpi4", "pending")}  # not the emulated board: nothing is tuned under emulation
    (job,) = world.jobs(sha=first, kind="tune")
    assert job["priority"] < min(j["priority"] for j in world.jobs(sha=first, kind="base"))
    second = world.fake.push(REPO, "main")
    world.poll()
    assert world.job_states(first, kinds=("tune",)) == {("tune", "rpi4"): "cancelled"}
    assert world.job_states(second, kinds=("tune",)) == {("tune", "rpi4"): "pending"}


def test_a_device_with_tuning_off_gets_no_tuning_jobs(fake_github, tmp_path):
    fake_github.add_repo(REPO)
    world = World(fake_github, tmp_path, devices_yaml=DEVICES.replace("threads: 4", "threads: 4\n    tuning_trials: 0"))
    first = world.fake.repo(REPO).branches["main"]
    world.poll()
    assert world.jobs(sha=first, kind="tune") == [] and world.jobs(sha=first, kind="base")
    world.close()
