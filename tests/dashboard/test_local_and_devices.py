"""What a first dashboard shows without a bot: local runs plotted, TVM's best against TFLite, where the time goes,
and the first bad commits bisections found, each built from a real database and opened in headless Chromium."""

from __future__ import annotations

import re

import pytest

from bot.store import Store
from dashboard.build import build_site, slug
from tests.dashboard.browser import open_page, screenshot, serve
from tests.results import failed, ok
from tests.sample_history import fill, sha_of

CONV = "qconv_12x12x8_8_3x3_s1_same"
MODEL = "mobilenet.tflite"
BROKEN = "broken.tflite"
TRIES = (  # (started_at, TVM version, environment) of three `perfbot run`s
    ("2026-03-01T10:00:00+00:00", "0.26.0", "pip:apache-tvm==0.26.0"),
    ("2026-03-02T10:00:00+00:00", "0.27.0.post1", "python:/usr/bin/python3"),
    ("2026-03-03T10:00:00+00:00", "0.27.0.post1", "python:/usr/bin/python3"),
)


def local_run(store, started_at, tvm_version, env, rows, device="local", suite="smoke") -> int:
    run = store.start_run(
        suite=suite, device=device, kind="local", started_at=started_at, tvm_version=tvm_version, env=env
    )
    for row in rows:
        store.add_result(run, **row)
    store.finish_run(run)
    return run


def row(workload, layout, pipeline, median, tflite=2.0, scheme="uint8", **extra) -> dict:
    return ok(workload, [median * 0.98, median, median * 1.03], scheme=scheme, tflite=tflite,
              layout=layout, pipeline=pipeline, **extra)  # fmt: skip


# -- three local runs, nothing else ---------------------------------------------------------


@pytest.fixture(scope="module")
def tries(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tries")
    store = Store.open(folder / "perf.db")
    for n, (started, version, env) in enumerate(TRIES):
        rows = [row(w, layout, "default", level * (1 + 0.1 * n)) for w, level in ((CONV, 4.0), (MODEL, 9.0))
                for layout in ("NHWC", "NCHW")]  # fmt: skip
        if n == 2:  # the newest try also ran the tuned pipeline: NCHW/tuned is TVM's best for the conv
            rows += [row(CONV, "NHWC", "tuned", 3.0), row(CONV, "NCHW", "tuned", 1.5)]
            rows += [row(MODEL, "NHWC", "tuned", 0.5, untuned_tasks=4)]  # no records: not tuned latency
            rows += [failed(BROKEN, "compile_error", "TVMError: boom", layout=layout, pipeline="default")
                     for layout in ("NHWC", "NCHW")]  # fmt: skip
        local_run(store, started, version, env, rows)
    store.close()
    built = build_site(folder / "perf.db", folder / "site")
    with serve(folder / "site") as url:
        yield folder / "site", built, url


def test_three_local_runs_make_a_dashboard_that_says_what_it_plots(tries, browser):
    folder, built, url = tries
    assert not built.empty and built.results == 4 + 4 + 9 and built.trend_pages == 3
    index = (folder / "index.html").read_text()
    assert "There is no base-branch history yet, so the trends plot 3 local runs of <code>perfbot run</code>" in index
    assert f'href="trend/{slug("local", CONV, "uint8")}.html"' in index
    assert index.count("untuned: no record") == 1  # MODEL's tuned row had no records: not tuned latency
    assert f'href="device/{slug("local")}.html"' in index and f'href="breakdown/{slug("local")}.html"' in index
    page, errors = open_page(browser, url, "index.html")
    devices = page.inner_text("table:below(h2:has-text('TVM against TFLite, per device'))")
    assert "1 of 2" in devices and "newest local run" in devices  # TVM's best beats TFLite for the conv only
    assert errors == []
    screenshot(page, "index-local-only")
    page.close()


def test_the_trend_plots_three_points_per_config_with_tflite_in_chromium(tries, browser):
    folder, _, url = tries
    path = f"trend/{slug('local', CONV, 'uint8')}.html"
    page, errors = open_page(browser, url, path)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15000)
    traces = page.evaluate("""() => document.getElementById("trend").data.map(
        t => ({name: t.name, n: t.x.length, mode: t.mode, text: t.text, y2: t.yaxis === "y2"}))""")
    by_name = {t["name"]: t for t in traces if not t["y2"]}
    for config in ("NHWC/default", "NCHW/default"):
        assert by_name[f"local {config}"]["n"] == 3
    assert by_name["local NCHW/tuned"]["n"] == 1 and by_name["TFLite (local runs)"]["n"] == 3
    assert "text" in by_name["local NHWC/default"]["mode"]  # the tries differ in TVM version: labelled
    assert by_name["local NHWC/default"]["text"] == ["0.26.0", "0.27.0.post1", "0.27.0.post1"]
    assert sum(1 for t in traces if t["y2"]) >= 3  # the ratio panel has the local series too
    points = page.locator(".js-plotly-plot .scatterlayer .trace .points path").count()
    assert points >= 3 * 2 + 3 + 1  # drawn, not only in the data
    assert "run time (UTC)" in page.text_content(".js-plotly-plot")
    body = page.inner_text("body")
    assert "3 local runs of perfbot run" in body and "pip:apache-tvm==0.26.0" in body
    assert errors == []
    screenshot(page, path)
    page.close()


def test_the_device_page_picks_tvms_best_and_says_which(tries, browser):
    _, _, url = tries
    page, errors = open_page(browser, url, f"device/{slug('local')}.html")
    cells = {
        r[0]: r
        for r in page.evaluate("""() => [...document.querySelectorAll("tbody tr")].map(
            tr => [...tr.querySelectorAll("td")].map(td => td.innerText))""")
    }
    # workload, scheme, default ms, tuned ms, TVM's best, best ms, TFLite ms, best/TFLite
    assert cells[CONV] == [CONV, "uint8", "4.800", "1.500", "NCHW/tuned", "1.500", "2.000", "0.75"]
    assert cells[MODEL][2:] == ["10.800", "–", "NHWC/default", "10.800", "2.000", "5.40"]  # untuned row left out
    assert cells[BROKEN][2:] == ["–", "–", "compile_error", "–", "–", "–"]  # nothing ok: it says why
    assert "smoke · newest local run" in page.inner_text("body")
    assert "local run 3" in page.inner_text("body") and errors == []
    screenshot(page, "device-local")
    page.close()


def test_without_inception_the_breakdown_page_says_what_to_run(tries):
    folder, _, _ = tries
    text = (folder / f"breakdown/{slug('local')}.html").read_text()
    assert "<code>perfbot run --suite full --device local</code>" in text and "no inception_v3 results" in text


# -- base-branch history beside local runs, and a full suite ---------------------------------------

PARTS = {"qconv_a": 3, "qconv_b": 1}


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    folder = tmp_path_factory.mktemp("history")
    store = Store.open(folder / "perf.db")
    fill(store, devices=("local",), workloads=3, commits=12)  # 15% step in qconv_17x17 from commit 8 on
    step = "qconv_17x17x128_128_1x7_s1_same"
    store.record_network_parts("inception_v3", PARTS)
    full = [
        row("inception_v3", "NHWC", "default", 100.0, tflite=20.0),
        row("inception_v3", "NCHW", "default", 130.0, tflite=20.0),
        row("qconv_a", "NHWC", "default", 10.0, tflite=2.0),
        row("qconv_a", "NCHW", "default", 12.0, tflite=2.0),
        row("qconv_a", "NHWC", "tuned", 8.0, tflite=2.0),
        row("qconv_b", "NHWC", "default", 20.0, tflite=4.0),
    ]
    local_run(store, "2026-03-05T10:00:00+00:00", "0.27.0.post1", "python:test", full, device="rpi4", suite="full")
    local_run(store, "2026-03-05T11:00:00+00:00", "0.27.0.post1", "python:test", [row(step, "NHWC", "default", 400.0)])
    local_run(store, "2026-03-05T12:00:00+00:00", "0.27.0.post1", "python:test", full[2:], device="pi5", suite="conv")
    found = store.start_bisection(repo="apache/tvm", device="local", workload=step, scheme="uint8", layout="NHWC",
                                  pipeline="default", good_sha=sha_of(7), bad_sha=sha_of(8), reason="change point")  # fmt: skip
    store.update_bisection(found, status="found", first_bad_sha="beef" * 10, pr=777, change=0.15)
    at_measured = store.start_bisection(repo="apache/tvm", device="local", workload=step, scheme="uint8",
                                        layout="NCHW", pipeline="default", good_sha=sha_of(7), bad_sha=sha_of(8))  # fmt: skip
    store.update_bisection(at_measured, status="found", first_bad_sha=sha_of(8), change=0.14)
    store.start_bisection(repo="apache/tvm", device="local", workload=step, scheme="int8", layout="NHWC",
                          pipeline="default", good_sha=sha_of(7), bad_sha=sha_of(8))  # still running: not drawn  # fmt: skip
    store.close()
    built = build_site(folder / "perf.db", folder / "site")
    with serve(folder / "site") as url:
        yield folder / "site", built, url, step


def test_local_runs_are_their_own_series_beside_history(history, browser):
    folder, built, url, step = history
    index = (folder / "index.html").read_text()
    assert re.search(r"The trends plot 12 base-branch runs by commit time and, as their own series beside them, "
                     r"4 local runs", index)  # fmt: skip
    page, errors = open_page(browser, url, f"trend/{slug('local', step, 'uint8')}.html")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15000)
    names = page.evaluate("() => document.getElementById('trend').data.map(t => [t.name, t.x.length])")
    assert ["TVM NHWC/default", 12] in names and ["local NHWC/default", 1] in names
    assert "commit time; run time for local runs (UTC)" in page.text_content(".js-plotly-plot") and errors == []
    page.close()


def test_a_found_first_bad_commit_is_marked_on_its_trend_and_links_to_its_pr(history, browser):
    folder, _, url, step = history
    path = f"trend/{slug('local', step, 'uint8')}.html"
    page, errors = open_page(browser, url, path)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15000)
    layout = page.evaluate("""() => { const l = document.getElementById("trend").layout;
        return {notes: l.annotations.map(a => [a.text, a.x]), lines: l.shapes.map(s => [s.x0, s.line.color])}; }""")
    eighth = "2026-01-03 00:00"  # sha_of(8): the first measured commit at the new level, where both are drawn
    assert [
        '<a href="https://github.com/apache/tvm/pull/777">first bad beefbeefbe (#777)</a>',
        eighth,
    ] in layout["notes"]
    assert [f'<a href="https://github.com/apache/tvm/commit/{sha_of(8)}">first bad {sha_of(8)[:10]}</a>', eighth] in (
        layout["notes"]
    )
    assert layout["lines"].count([eighth, "#6a3d9a"]) == 2
    links = page.evaluate("""() => [...document.querySelectorAll(".annotation-text a")].map(
        a => [a.textContent, a.getAttribute("href") || a.getAttribute("xlink:href")])""")
    assert ["first bad beefbeefbe (#777)", "https://github.com/apache/tvm/pull/777"] in links  # a link to click
    opened = page.evaluate("""() => { const gd = document.getElementById("trend"); let url = null;
        window.open = u => { url = u; };
        const t = gd.data.find(t => t.name === "first bad commits");
        gd.emit("plotly_click", {points: [{customdata: t.customdata[0]}]}); return url; }""")
    assert opened == "https://github.com/apache/tvm/pull/777"
    assert "Commits that moved this series" in page.inner_text("body") and errors == []
    screenshot(page, "bisection")
    page.close()
    other = (folder / f"trend/{slug('local', step, 'int8')}.html").read_text()
    assert '"annotations":[]' in other and "Commits that moved" not in other  # a running one found nothing yet
    index = (folder / "index.html").read_text()
    assert "Commits that moved the base branch" in index and 'href="https://github.com/apache/tvm/pull/777"' in index


def test_the_breakdown_page_splits_inception_by_conv_configuration(history, browser):
    _, _, url, _ = history
    page, errors = open_page(browser, url, f"breakdown/{slug('rpi4')}.html")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15000)
    rows = {
        r[0]: r[1:]
        for r in page.evaluate("""() => [...document.querySelectorAll("tbody tr")].map(
            tr => [...tr.querySelectorAll("td")].map(td => td.innerText))""")
    }
    # count, default ms, tuned ms, TFLite ms, count x TVM ms, TVM share, count x TFLite ms, TFLite share
    assert rows["qconv_a"] == ["3", "10.000", "8.000", "2.000", "24.000", "24.0%", "6.000", "30.0%"]
    assert rows["qconv_b"] == ["1", "20.000", "–", "4.000", "20.000", "20.0%", "4.000", "20.0%"]
    assert rows["the rest: pools, concatenations, classifier"][4:] == ["56.000", "56.0%", "10.000", "50.0%"]
    assert rows["inception_v3 end to end"][4:] == ["100.000", "100%", "20.000", "100%"]
    bars = page.evaluate("() => document.getElementById('shares-uint8').data.map(t => [t.name, t.y, t.x])")
    assert bars == [
        ["TVM", ["the rest", "qconv_b", "qconv_a"], [0.56, 0.2, 0.24]],
        ["TFLite", ["the rest", "qconv_b", "qconv_a"], [0.5, 0.2, 0.3]],
    ]
    assert page.locator(".js-plotly-plot .barlayer .point").count() == 6 and errors == []
    screenshot(page, "breakdown-rpi4")
    page.close()


def test_a_device_with_only_the_conv_suite_is_told_to_run_the_full_suite(history):
    folder, *_ = history
    text = (folder / f"breakdown/{slug('pi5')}.html").read_text()
    assert "pi5 has no inception_v3 results" in text and "<code>perfbot run --suite full --device pi5</code>" in text


def test_the_device_page_shows_the_newest_base_run_and_the_newest_local_run(history):
    folder, *_ = history
    text = (folder / f"device/{slug('local')}.html").read_text()
    assert "conv · newest base-branch run" in text and "smoke · newest local run" in text
    assert f"https://github.com/apache/tvm/commit/{sha_of(11)}" in text  # the newest commit of history
