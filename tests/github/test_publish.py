"""Publishing: the outbox, the sticky comment by id or marker, statuses sent once per change."""

from __future__ import annotations

from tests.fake_github.world import REPO


def open_prs(world, n=1):
    world.fake.set_permission(REPO, "alice", "write")
    numbers = [world.fake.add_pull(REPO, author="alice") for _ in range(n)]
    world.poll()
    return numbers


def test_a_comment_deleted_by_someone_is_posted_again_at_the_next_change(world):
    (number,) = open_prs(world)
    first = world.bot_comments(number)[0].id
    world.fake.delete_comment(first)
    world.finish_jobs()
    world.handle()
    (again,) = world.bot_comments(number)
    assert again.id != first and world.store.comment_id(REPO, number) == again.id


def test_someone_elses_comment_with_the_marker_is_not_taken_over(world):
    world.fake.set_permission(REPO, "alice", "write")
    number = world.fake.add_pull(REPO, author="alice")
    world.fake.add_comment(REPO, number, "mallory", "<!-- perfbot:report -->\nfake results: all faster!")
    world.poll()
    assert len(world.bot_comments(number)) == 1
    assert world.fake.comments(REPO, number)[0].body.endswith("all faster!")


def test_a_mark_made_while_publishing_is_not_lost(world):
    (number,) = open_prs(world)
    world.store.mark_dirty(REPO, number, "job 1 done")
    (item,) = world.store.dirty(world.clock())
    world.store.mark_dirty(REPO, number, "job 1 done")  # the same words, a newer event
    world.store.published(REPO, number, item["reason"])
    assert len(world.store.dirty(world.clock())) == 1


def test_a_rate_limit_keeps_every_pr_in_the_outbox(world):
    numbers = open_prs(world, 3)
    world.finish_jobs()
    reset = world.fake.exhaust_rate_limit(reset_in=300)
    assert world.publisher.publish_dirty() == 0
    due = world.store.dirty(now=float("inf"))
    assert {d["pr"] for d in due} == set(numbers)
    assert [d["next_attempt"] for d in due].count(reset) == 1  # the first one learnt it; the rest were not tried
    assert len(world.fake.requests_to("PATCH", "/issues/comments/")) == 0


def test_a_closed_pr_that_never_had_a_comment_gets_none(world):
    world.fake.set_permission(REPO, "alice", "write")
    number = world.fake.add_pull(REPO, author="alice")
    world.bot.sync_pull(world.bot.github_pull(REPO, number))
    world.fake.close_pull(REPO, number)
    world.bot.close_pull(REPO, number)
    world.publisher.publish_dirty()
    assert world.bot_comments(number) == []
    assert world.store.dirty(now=float("inf")) == []


def test_statuses_are_sent_only_when_they_change(world):
    (number,) = open_prs(world)
    head = world.fake.pull(REPO, number).head_sha
    for _ in range(3):
        world.store.mark_dirty(REPO, number, "again")
        world.handle()
    assert [s["state"] for s in world.fake.statuses(REPO, head) if s["context"] == "perfbot/rpi4"] == ["pending"]
    world.finish_jobs()
    world.handle()
    assert [s["state"] for s in world.fake.statuses(REPO, head) if s["context"] == "perfbot/rpi4"] == [
        "success",
        "pending",
    ]
    target = world.fake.latest_statuses(REPO, head)["perfbot/rpi4"]["target_url"]
    assert target == f"{world.settings.dashboard_url}/pr/{number}.html"


def test_a_report_that_cannot_be_built_does_not_hold_up_the_others(world, monkeypatch):
    first, second = open_prs(world, 2)
    from bot import verdicts

    real = verdicts.build

    def broken_for_first(store, registry, repo, number, **kw):
        if number == first:
            raise ValueError("samples must be positive")
        return real(store, registry, repo, number, **kw)

    monkeypatch.setattr(verdicts, "build", broken_for_first)
    world.finish_jobs()
    assert world.publisher.publish_dirty() == 1
    (waiting,) = world.store.dirty(now=float("inf"))
    assert waiting["pr"] == first and "ValueError: samples must be positive" in waiting["last_error"]
    assert "pending" not in world.statuses(world.fake.pull(REPO, second).head_sha).values()


def test_superseded_and_closed_heads_do_not_stay_pending(world):
    (number,) = open_prs(world)
    old = world.fake.pull(REPO, number).head_sha
    world.store.claim("rpi4", "w1")  # "1 running, 0 queued" on the old head, forever, before
    world.handle()
    assert world.statuses(old) == {"perfbot/rpi4": "pending", "perfbot/qemu-a72": "pending"}

    new = world.fake.push_pull(REPO, number)
    world.poll()
    assert world.statuses(old) == {"perfbot/rpi4": "error", "perfbot/qemu-a72": "error"}
    described = {c: r["description"] for c, r in world.fake.latest_statuses(REPO, old).items()}
    assert described == {"perfbot/rpi4": f"superseded by {new[:10]}", "perfbot/qemu-a72": f"superseded by {new[:10]}"}
    assert world.statuses(new) == {"perfbot/rpi4": "pending", "perfbot/qemu-a72": "pending"}

    world.fake.close_pull(REPO, number)
    world.poll()
    assert world.statuses(new) == {"perfbot/rpi4": "error", "perfbot/qemu-a72": "error"}
    assert {r["description"] for r in world.fake.latest_statuses(REPO, new).values()} == {"PR closed"}
    writes = len(world.fake.writes())
    world.store.mark_dirty(REPO, number, "again")
    world.handle()
    assert world.fake.writes()[writes:] == []  # resolved once, not again and again

    world.fake.reopen_pull(REPO, number)
    world.poll()
    assert world.statuses(new) == {"perfbot/rpi4": "pending", "perfbot/qemu-a72": "pending"}
    assert world.statuses(old) == {"perfbot/rpi4": "error", "perfbot/qemu-a72": "error"}


def test_statuses_remembered_before_the_upgrade_are_not_sent_again(tmp_path):
    """Migration 6 carries the statuses an older perfbot remembered (poll_state keys) into commit_statuses."""
    import sqlite_utils

    from bot.store import Store, schema

    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    before = schema.MIGRATIONS.index(schema._v6_commit_statuses)  # the lead may renumber; find it by name
    for migration in schema.MIGRATIONS[:before]:
        migration(db)
    db.execute(f"PRAGMA user_version = {before}")
    db["poll_state"].insert({"key": f"status:{REPO}@{'a' * 40}:perfbot/rpi4", "value": "pending: 0 running, 2 queued"})
    db.close()
    store = Store.open(path)
    assert store.status_said(REPO, "a" * 40, "perfbot/rpi4") == "pending: 0 running, 2 queued"
    store.close()
