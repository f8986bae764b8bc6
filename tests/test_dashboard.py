"""The dashboard, built from a real database and opened in headless Chromium."""

import functools
import http.server
import threading
from pathlib import Path

import pytest

from bot.errors import DatabaseError
from bot.store import Store
from dashboard.build import build_site, slug
from dashboard.sample import fill

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
EVIL_TITLE = "<script>window.__pwned=1</script> faster convs"
EVIL_ERROR = "<img src=x onerror=\"window.__pwned=2\">"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dash")
    store = Store.open(folder / "perf.db")
    fill(store, devices=("local", "qemu-aarch64"), workloads=3, commits=24, pr_title=EVIL_TITLE, pr_error=EVIL_ERROR)
    store.close()
    report = build_site(folder / "perf.db", folder / "site")
    return folder / "site", report


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site[0]))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_one_copy_of_plotly_for_the_whole_site(site):
    folder, report = site
    assert report.pages == len(list(folder.rglob("*.html")))
    assert len(list(folder.rglob("plotly*.js"))) == 1
    for page in folder.rglob("*.html"):
        assert len(page.read_text()) < 200_000  # no inlined plotly.js


def test_untrusted_text_is_escaped_in_every_page(site):
    folder, _ = site
    text = "".join(p.read_text() for p in folder.rglob("*.html"))
    assert "<script>window.__pwned" not in text and "<img src=x" not in text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in text


def test_change_points_and_failures_are_on_the_trend_page(site):
    folder, _ = site
    page = (folder / "trend" / f"{slug('local', 'qconv_17x17x128_128_1x7_s1_same', 'uint8')}.html").read_text()
    assert "+15" in page  # the injected 15% step is found
    failing = (folder / "trend" / f"{slug('local', 'qconv_18x18x128_128_1x7_s1_same', 'uint8')}.html").read_text()
    assert "compile_error" in failing and "kernel_layout" in failing


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (/usr/bin/chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.mark.parametrize("path", ["index.html", f"trend/{slug('local', 'qconv_17x17x128_128_1x7_s1_same', 'uint8')}.html",
                                  f"pr/{slug('apache/tvm', 4242)}.html"])
def test_pages_render_in_chromium_without_errors(browser, server, path):
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/{path}")
    page.wait_for_load_state("networkidle")
    if path.startswith("trend/"):
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15000)
        assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 4
    if path.startswith("pr/"):
        assert "<script>window.__pwned=1</script>" in page.inner_text("body")
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{path.replace('/', '_')}.png"), full_page=True)
    page.close()


def test_a_missing_database_gets_an_empty_state_page(tmp_path):
    report = build_site(tmp_path / "nope.db", tmp_path / "site")
    assert report.empty and "perfbot run" in (tmp_path / "site" / "index.html").read_text()
    assert not (tmp_path / "nope.db").exists()


def test_an_empty_database_gets_an_empty_state_page(tmp_path):
    Store.open(tmp_path / "perf.db").close()
    report = build_site(tmp_path / "perf.db", tmp_path / "site")
    assert report.empty and "no base-branch or PR results yet" in (tmp_path / "site" / "index.html").read_text()


def test_a_database_from_a_newer_perfbot_is_one_line(tmp_path):
    import sqlite3

    conn = sqlite3.connect(tmp_path / "perf.db")
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(DatabaseError, match="newer perfbot"):
        build_site(tmp_path / "perf.db", tmp_path / "site")
