"""What the bot remembers of GitHub: a restart loses nothing and posts nothing twice (bot/store/github_state.py)."""

from bot.store.github_state import EtagStore

REPO = "apache/tvm"


def test_a_pull_is_saved_once_per_repository_and_number_and_listed_by_state(store):
    store.save_pull(repo=REPO, number=7, head_sha="a" * 40, state="open", is_fork="yes")
    store.save_pull(repo=REPO, number=7, head_sha="b" * 40, state="open", is_fork=None)
    store.save_pull(repo=REPO, number=3, head_sha="c" * 40, state="closed")
    store.save_pull(repo="other/tvm", number=1, head_sha="d" * 40, state="open")
    assert store.pull(REPO, 7)["head_sha"] == "b" * 40
    assert store.pull(REPO, 7)["is_fork"] == 0
    assert store.pull(REPO, 99) is None
    assert [p["number"] for p in store.pulls(REPO)] == [7]
    assert [p["number"] for p in store.pulls(REPO, state=None)] == [3, 7]
    assert [(p["repo"], p["number"]) for p in store.pulls()] == [("other/tvm", 1), (REPO, 7)]


def test_a_status_is_remembered_per_commit_and_context_and_pending_ones_are_found_per_pr(store):
    assert store.status_said(REPO, "a" * 40, "perfbot/local") is None
    store.record_status(REPO, "a" * 40, "perfbot/local", 7, "pending", "queued")
    store.record_status(REPO, "a" * 40, "perfbot/local", 7, "success", "12 unchanged")
    store.record_status(REPO, "b" * 40, "perfbot/local", 7, "pending", "queued")
    store.record_status(REPO, "b" * 40, "perfbot/rpi4", 7, "pending", "queued")
    store.record_status(REPO, "c" * 40, "perfbot/local", 8, "pending", "queued")
    assert store.status_said(REPO, "a" * 40, "perfbot/local") == "success: 12 unchanged"
    assert [(s["sha"][0], s["context"]) for s in store.pending_statuses(REPO, 7)] == [
        ("b", "perfbot/local"),
        ("b", "perfbot/rpi4"),
    ]


def test_the_sticky_comment_keeps_its_id_and_the_hash_of_what_it_says(store):
    assert store.comment_id(REPO, 7) is None and store.comment_body_sha(REPO, 7) is None
    store.save_comment(REPO, 7, 1234, "sha-1")
    store.save_comment(REPO, 7, 1234, "sha-2")
    assert (store.comment_id(REPO, 7), store.comment_body_sha(REPO, 7)) == (1234, "sha-2")
    assert store.comment_id(REPO, 8) is None


def test_a_fork_approval_holds_for_the_approved_head_only(store):
    store.approve(REPO, 7, "a" * 40, "maintainer")
    assert store.approved(REPO, 7, "a" * 40)
    assert not store.approved(REPO, 7, "b" * 40)
    assert not store.approved(REPO, 8, "a" * 40)


def test_a_redelivered_webhook_is_not_new_until_its_handling_failed(store):
    assert store.first_delivery("d-1", "pull_request")
    assert not store.first_delivery("d-1", "pull_request")
    store.forget_delivery("d-1")
    assert store.first_delivery("d-1", "pull_request")


def test_a_comment_is_claimed_once_but_again_while_no_decision_was_recorded(store):
    assert store.first_sight_of_comment(5, REPO, 7, "alice")
    assert not store.comment_handled(5) and store.decision(5) is None
    assert store.first_sight_of_comment(5, REPO, 7, "alice")  # the first attempt failed half-way
    store.record_decision(5, "rerun queued")
    assert not store.first_sight_of_comment(5, REPO, 7, "alice")
    assert store.comment_handled(5) and store.decision(5) == "rerun queued"


def test_a_publisher_that_read_an_older_mark_does_not_clear_a_newer_one(store):
    store.mark_dirty(REPO, 7, "job 1 finished")
    [older] = store.dirty()
    store.mark_dirty(REPO, 7, "job 2 finished")
    store.published(REPO, 7, older["reason"])
    [newer] = store.dirty()
    assert newer["reason"].startswith("job 2 finished @")
    store.published(REPO, 7, newer["reason"])
    assert store.dirty() == []


def test_a_failed_publish_waits_for_its_retry_time_and_a_new_mark_makes_it_due_at_once(store):
    store.mark_dirty(REPO, 7, "job 1 finished")
    store.publish_failed(REPO, 7, "GitHub answered 502 " + "x" * 1000, retry_at=2000.0)
    assert store.dirty(now=1999.0) == []
    [due] = store.dirty(now=2000.0)
    assert due["attempts"] == 1 and len(due["last_error"]) == 500
    store.mark_dirty(REPO, 7, "rerun asked")
    assert [row["pr"] for row in store.dirty(now=0.0)] == [7]


def test_the_inbox_hands_out_due_events_in_order_retries_them_and_counts_those_given_up(store):
    first = store.inbox_add("pull_request", "{}")
    second = store.inbox_add("issue_comment", "{}")
    third = store.inbox_add("push", "{}")
    assert [e["id"] for e in store.inbox_due(now=0.0)] == [first, second, third]
    store.inbox_done(first)
    store.inbox_retry(second, "boom", retry_at=100.0)
    store.inbox_retry(third, "boom", retry_at=0.0, give_up=True)
    assert store.inbox_due(now=99.0) == []
    [again] = store.inbox_due(now=100.0)
    assert (again["id"], again["attempts"], again["error"]) == (second, 1, "boom")
    assert store.inbox_given_up() == 1


def test_remembered_values_and_posts_are_kept(store):
    assert store.remembered("since") is None
    store.remember("since", "2026-12-01T00:00:00Z")
    store.remember("since", "2026-12-02T00:00:00Z")
    assert store.remembered("since") == "2026-12-02T00:00:00Z"
    store.log_post(repo=REPO, pr=7, sha="a" * 40, kind="comment", target="7", body="hello", dry_run=True)
    store.log_post(repo=REPO, pr=8, sha=None, kind="status", target="perfbot/local", body="ok", dry_run=False)
    assert [p["pr"] for p in store.posts(REPO)] == [7, 8]
    [post] = store.posts(pr=7)
    assert (post["body"], post["dry_run"]) == ("hello", 1)


def test_etags_held_by_a_poll_are_kept_only_when_flushed(store):
    etags = EtagStore(store)
    etags.put("pulls", "W/1", "[]")
    assert etags.get("pulls") == ("W/1", "[]")
    with etags.hold():
        etags.put("pulls", "W/2", "[1]")
        assert etags.get("pulls") == ("W/2", "[1]")  # the poll sees its own answer
        assert EtagStore(store).get("pulls") == ("W/1", "[]")  # nothing kept yet
    assert etags.get("pulls") == ("W/1", "[]")  # left without a flush: dropped
    with etags.hold():
        etags.put("pulls", "W/3", "[2]")
        etags.flush()
    assert EtagStore(store).get("pulls") == ("W/3", "[2]")
    assert EtagStore(store).get("comments") is None
