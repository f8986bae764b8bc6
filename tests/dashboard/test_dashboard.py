"""The dashboard, built from a database filled through the Store API and opened in headless Chromium."""

import json
import re
import sqlite3
from pathlib import Path

import pytest

from bot import devices, verdicts
from bot.errors import DatabaseError
from bot.github import comment
from bot.store import Store
from dashboard.build import build_site, slug
from dashboard.html import chart, script_json
from tests.dashboard.browser import open_page, screenshot, serve
from tests.sample_history import PR_NUMBER, fill

EVIL_TITLE = "<script>window.__pwned=1</script> faster convs"
EVIL_ERROR = "<img src=x onerror=\"window.__pwned=2\"> & 'quotes'"
EVIL_WORKLOAD = "</script><script>window.__pwned=3</script>.tflite"
STEP = slug("local", "qconv_17x17x128_128_1x7_s1_same", "uint8")  # 15% slower two thirds along
FAILING = slug("local", "qconv_18x18x128_128_1x7_s1_same", "uint8")  # NCHW compile error at the newest commit
USER = slug("local", EVIL_WORKLOAD, "uint8")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dash")
    store = Store.open(folder / "perf.db")
    fill(
        store,
        devices=("local", "qemu-aarch64"),
        workloads=3,
        commits=24,
        pr_title=EVIL_TITLE,
        pr_error=EVIL_ERROR,
        user_workload=EVIL_WORKLOAD,
    )
    store.close()
    calls = []
    built = build_site(folder / "perf.db", folder / "site", progress=lambda done, total: calls.append((done, total)))
    return folder / "site", built, calls, folder / "perf.db"


def read(folder: Path, name: str) -> str:
    return (folder / name).read_text()


def test_every_page_shares_one_local_copy_of_plotly(site):
    folder, built, _, _ = site
    pages = list(folder.rglob("*.html"))
    assert built.pages == len(pages) == built.trend_pages + built.pr_pages + 2 * built.device_pages + 1
    assert built.trend_pages == 16 and built.pr_pages == 1 and built.device_pages == 2
    assert [p.name for p in folder.rglob("*.js")] == ["plotly.min.js"]
    for page in pages:
        text = page.read_text()
        assert len(text) < 100_000 and "cdn" not in text and "http://" not in text
        if page.parent.name == "trend":
            assert '<script src="../plotly.min.js">' in text


def test_progress_counts_every_page(site):
    _, built, calls, _ = site
    assert calls[-1] == (built.pages, built.pages)
    assert [done for done, _ in calls] == list(range(1, built.pages + 1))


def test_the_pr_comment_links_to_the_pr_page(site):
    folder, _, _, db = site
    store = Store.open(db, create=False)
    built = verdicts.build(store, devices.load(None), "apache/tvm", PR_NUMBER)
    store.close()
    body = comment.comment(built, "perfbot", dashboard_url="https://perf.example")
    path = re.search(r"https://perf\.example/(\S+?\.html)", body).group(1)
    assert (folder / path).is_file()


def test_the_pr_page_shows_the_comment_table_with_links_to_trends(site):
    folder, _, _, _ = site
    text = read(folder, f"pr/{PR_NUMBER}.html")
    for header in (
        "workload",
        "scheme",
        "config",
        "base ms",
        "PR ms",
        "change",
        "verdict",
        "TVM/TFLite",
        "correctness",
    ):
        assert f"<th>{header}</th>" in text
    assert "new compile error" in text and ">slower than +2%, confirmed by a rerun<" in text and "+30" in text
    assert text.index("new compile error") < text.index(">slower than +2%, confirmed")  # what needs attention first
    for href in re.findall(r'href="\.\./(trend/[^"]+)"', text):
        assert (folder / href).is_file()
    assert 'href="https://github.com/apache/tvm/pull/4242"' in text


def test_untrusted_text_is_escaped_in_every_page(site):
    folder, _, _, _ = site
    text = "".join(p.read_text() for p in folder.rglob("*.html"))
    assert "<script>window.__pwned" not in text and "<img src=x" not in text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in text  # the PR title, shown as text
    assert "&lt;img src=x onerror=&quot;window.__pwned=2&quot;&gt;" in text  # the error, shown as text
    assert "&lt;/script&gt;&lt;script&gt;window.__pwned=3" in text  # the user's workload name


def test_json_in_a_script_element_cannot_end_it():
    evil = {
        "data": [{"name": "</script><script>alert(1)</script><!--", "text": ["a&b", "</SCRIPT >"]}],
        "layout": {"title": {"text": "<!-- -->"}},
    }
    html = chart("c", evil)
    assert html.count("</script") == 1 and "<!--" not in html and "</SCRIPT" not in html
    payload = re.search(r"newPlot\(\"c\",(.*),\{\"responsive\"", html).group(1)
    assert json.loads("[" + payload + "]") == [evil["data"], evil["layout"]]
    with pytest.raises(ValueError):
        script_json(float("nan"))  # not JSON; figures carry None instead
    import plotly.io

    assert "</" not in plotly.io.to_json(evil, validate=False)  # plotly escapes the same way


def test_the_trend_page_marks_change_points_failures_and_links(site):
    folder, _, _, _ = site
    step = read(folder, f"trend/{STEP}.html")
    assert re.search(r"\+1[45]\.\d%", step)  # the injected 15% step, found by bot.stats
    failing = read(folder, f"trend/{FAILING}.html")
    assert "compile_error" in failing and "kernel_layout" in failing
    assert "https://github.com/apache/tvm/commit/0017" in failing  # the failing commit, linked
    emulated = slug("qemu-aarch64", "qconv_17x17x128_128_1x7_s1_same", "uint8")
    assert "Emulated device" in read(folder, f"trend/{emulated}.html")


def test_the_index_shows_devices_failures_regressions_and_ratios(site):
    folder, _, _, _ = site
    text = read(folder, "index.html")
    assert "emulated</span>" in text and "conv" in text
    failing = text.split("<h2>Failing in the newest run</h2>")[1].split("<h2>")[0]
    assert "qconv_18x18" in failing and "compile_error" in failing and "window.__pwned=2" in failing
    regressions = text.split("<h2>Worst regressions</h2>")[1].split("<h2>")[0]
    assert "qconv_17x17" in regressions and "qemu" not in regressions  # emulated latency is never judged
    assert "TVM against TFLite" in text and f'href="pr/{PR_NUMBER}.html"' in text
    assert "Newest local runs" in text


def test_pages_of_series_that_are_gone_are_removed(site, tmp_path):
    _, _, _, db = site
    stale = tmp_path / "site" / "trend" / "gone.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    build_site(db, tmp_path / "site")
    assert not stale.exists() and (tmp_path / "site" / "trend" / f"{STEP}.html").exists()


def test_sparse_records_still_build(tmp_path):
    """A local try, a PR run without a PR number or repository, a base run without commit or time."""
    store = Store.open(tmp_path / "perf.db")
    for kind, extra in (("local", {}), ("pr", {"sha": "abc"}), ("base", {})):
        run = store.start_run(suite="smoke", device="local", kind=kind, **extra)
        store.add_result(
            run,
            workload="m.tflite",
            scheme="uint8",
            layout="NHWC",
            pipeline="default",
            status="ok",
            samples_ms=[1.0, 1.1],
            median_ms=1.05,
            tflite_median_ms=2.0,
            ratio=0.525,
        )
        store.add_result(
            run,
            workload="m.tflite",
            scheme="uint8",
            layout="NCHW",
            pipeline="default",
            status="crash",
            error="Segmentation fault",
        )
        store.finish_run(run)
    store.close()
    built = build_site(tmp_path / "perf.db", tmp_path / "site")
    assert not built.empty and built.trend_pages == 1 and built.pr_pages == 0
    index = read(tmp_path / "site", "index.html")
    assert "Newest local runs" in index and "0.53" in index and "crash" in index
    assert "Segmentation fault" in read(tmp_path / "site", f"trend/{slug('local', 'm.tflite', 'uint8')}.html")


def test_a_missing_database_gets_an_empty_state_page(tmp_path):
    built = build_site(tmp_path / "nope.db", tmp_path / "site")
    assert built.empty and "perfbot run" in read(tmp_path / "site", "index.html")
    assert not (tmp_path / "nope.db").exists()
    assert (tmp_path / "site" / "plotly.min.js").is_file()


@pytest.mark.parametrize("how", ["new", "zero bytes"])
def test_an_empty_database_gets_an_empty_state_page(tmp_path, how):
    if how == "new":
        Store.open(tmp_path / "perf.db").close()
    else:
        (tmp_path / "perf.db").write_bytes(b"")
    built = build_site(tmp_path / "perf.db", tmp_path / "site")
    assert built.empty and "<code>perfbot run</code>" in read(tmp_path / "site", "index.html")
    if how == "zero bytes":
        assert (tmp_path / "perf.db").stat().st_size == 0  # left as it was, not turned into a database


def test_a_database_from_a_newer_perfbot_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / "perf.db")
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(DatabaseError, match="newer perfbot") as caught:
        build_site(tmp_path / "perf.db", tmp_path / "site")
    assert "\n" not in str(caught.value)


def test_a_foreign_sqlite_file_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / "other.db")
    conn.execute("create table photos (id integer)")
    conn.close()
    with pytest.raises(DatabaseError, match="not a perfbot database"):
        build_site(tmp_path / "other.db", tmp_path / "site")


# -- in a real browser ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server(site):
    with serve(site[0]) as url:
        yield url


@pytest.mark.parametrize(
    "path", ["index.html", f"pr/{PR_NUMBER}.html", f"trend/{STEP}.html", f"trend/{FAILING}.html", f"trend/{USER}.html"]
)
def test_pages_render_in_chromium_without_errors(browser, server, path):
    page, errors = open_page(browser, server, path)
    if path.startswith("trend/"):
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15000)
        assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 6
    if path.startswith("pr/"):
        body = page.inner_text("body")
        assert EVIL_TITLE in body and EVIL_ERROR in body
    if path == f"trend/{USER}.html":
        assert EVIL_WORKLOAD in page.inner_text("h1")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert errors == []
    screenshot(page, path)
    page.close()


def test_hovering_a_failure_shows_its_error_as_text(browser, server):
    page, errors = open_page(browser, server, f"trend/{FAILING}.html")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15000)
    page.evaluate("""() => {
        const gd = document.getElementById("trend");
        const i = gd.data.findIndex(t => (t.name || "").startsWith("failures"));
        Plotly.Fx.hover(gd, [{curveNumber: i, pointNumber: 0}]);
    }""")
    hover = page.evaluate("() => document.querySelector('.hoverlayer').textContent")
    assert "compile_error" in hover and "kernel_layout" in hover and EVIL_ERROR in hover
    assert page.evaluate("typeof window.__pwned") == "undefined" and errors == []
    screenshot(page, "hover-failure")
    page.close()


def test_clicking_a_point_opens_its_commit_on_github(browser, server):
    page, errors = open_page(browser, server, f"trend/{STEP}.html")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15000)
    opened = page.evaluate("""() => {
        const gd = document.getElementById("trend");
        let url = null;
        window.open = u => { url = u; };
        const t = gd.data.find(t => (t.name || "").startsWith("TVM NHWC"));
        gd.emit("plotly_click", {points: [{customdata: t.customdata[0]}]});
        const pr = gd.data.find(t => (t.name || "").startsWith("PRs"));
        const first = url;
        gd.emit("plotly_click", {points: [{customdata: pr.customdata[0]}]});
        return [first, url];
    }""")
    assert opened == [
        "https://github.com/apache/tvm/commit/0000abababababababababababababababababab",
        f"https://github.com/apache/tvm/pull/{PR_NUMBER}",
    ]
    assert errors == []
    page.close()
