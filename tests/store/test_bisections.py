"""The bisections table: queued and running rows, a series' bisections, what the GitHub side still has to post."""

from bot.store import Store

SERIES = ("qconv_a", "uint8", "NHWC", "default")


def start(store, status="running", **fields):
    base = dict(repo="apache/tvm", device="rpi4", workload=SERIES[0], scheme=SERIES[1], layout=SERIES[2],
                pipeline=SERIES[3], good_sha="g" * 40, bad_sha="b" * 40)  # fmt: skip
    return store.start_bisection(status=status, **{**base, **fields})


def test_a_queued_bisection_is_found_again_by_its_series_and_range(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    queued = start(store, status="queued", reason="change point")
    start(store, device="other")
    assert store.bisection(queued)["status"] == "queued"
    assert store.bisection_for("rpi4", SERIES, "g" * 40, "b" * 40)["id"] == queued
    assert [b["id"] for b in store.series_bisections("rpi4", SERIES)] == [queued]
    assert store.series_bisections("rpi4", ("qconv_b", "uint8", "NHWC", "default")) == []


def test_found_bisections_wait_for_the_github_side_until_posted_or_noted(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    posted, noted, waiting, local, running = (start(store, bad_sha=c * 40) for c in "pnwlr")
    for bisection_id in (posted, noted, waiting, local):
        store.update_bisection(bisection_id, status="found", first_bad_sha="f" * 40, evidence=[{"sha": "f" * 40}])
    store.update_bisection(local, repo=None)  # a bisection of a checkout that is not on GitHub
    store.update_bisection(posted, pr=7, posted_at="2026-01-01T00:00:00+00:00", comment_id=99)
    store.update_bisection(noted, post_note="GitHub knows no merged pull request for ffffffffff")
    (left,) = store.unposted_bisections()
    assert left["id"] == waiting and left["pr"] is None and left["evidence"] == [{"sha": "f" * 40}]
    assert store.bisection(waiting)["finished_at"]  # found is an end
    store.update_bisection(waiting, pr=7)
    assert [b["id"] for b in store.pr_bisections("apache/tvm", 7)] == [posted, waiting]
    assert store.bisection(posted)["comment_id"] == 99
