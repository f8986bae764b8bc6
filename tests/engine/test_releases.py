"""`perfbot history`: releases in order, dates from PyPI's JSON (a local stand-in here), real
pip environments per release, and a broken release recorded without stopping the others."""

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot import devices
from bot.engine import releases
from bot.engine.suite.inception import ConvShape
from bot.engine.suite.suites import Suite
from bot.engine.suite.workloads import qconv
from bot.errors import UnknownName
from bot.store import Store

ROOT = Path(__file__).resolve().parents[2]
SHARED_CACHE = Path(os.environ.get("PERFBOT_TEST_CACHE", Path.home() / ".cache" / "perfbot-test"))


@pytest.fixture
def pypi(monkeypatch):
    """A stand-in for https://pypi.org/pypi/apache-tvm/json, over real HTTP on loopback."""
    published = {
        "0.25.0": [{"upload_time_iso_8601": "2026-06-19T19:03:40Z"}, {"upload_time_iso_8601": "2026-06-19T19:03:32Z"}],
        "0.25.0rc1": [{"upload_time_iso_8601": "2026-06-17T05:52:24Z"}],
        "0.26.0": [{"upload_time_iso_8601": "2026-08-11T02:34:10Z"}],
        "0.27.0.post1": [{"upload_time_iso_8601": "2026-09-29T21:06:11Z"}],
        "0.1.0": [],  # a yanked or empty release
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = json.dumps({"info": {"name": "apache-tvm"}, "releases": published}).encode()
            self.send_response(200 if self.path == "/pypi/apache-tvm/json" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(releases, "PYPI_JSON", f"http://127.0.0.1:{server.server_port}/pypi/apache-tvm/json")
    yield published
    server.shutdown()


def test_release_times_are_each_releases_first_upload(pypi):
    assert releases.release_times(["0.27.0.post1", "0.25.0", "0.1.0", "9.9.9"]) == {
        "0.25.0": "2026-06-19T19:03:32Z",
        "0.27.0.post1": "2026-09-29T21:06:11Z",
    }


def test_release_times_are_empty_when_pypi_cannot_be_reached(monkeypatch):
    monkeypatch.setattr(releases, "PYPI_JSON", "http://127.0.0.1:9/pypi/apache-tvm/json")
    assert releases.release_times(["0.25.0"], timeout=2) == {}


@pytest.mark.parametrize(
    "versions, times, order",
    [
        (["0.27.0.post1", "0.25.0", "0.26.0"], {}, ["0.25.0", "0.26.0", "0.27.0.post1"]),
        (["0.10.0", "0.9.0", "0.27.0.post1", "0.27.0"], {}, ["0.9.0", "0.10.0", "0.27.0", "0.27.0.post1"]),
        (
            ["0.26.0", "0.25.0.post1"],
            {"0.26.0": "2026-08-11", "0.25.0.post1": "2026-09-01"},
            ["0.26.0", "0.25.0.post1"],
        ),
        (["0.26.0", "0.25.0"], {"0.26.0": "2026-08-11"}, ["0.25.0", "0.26.0"]),  # a date missing: version order
    ],
)
def test_releases_run_oldest_first(versions, times, order):
    assert releases.release_order(versions, times) == order


@pytest.mark.parametrize(
    "versions, text", [(["0.26.0", "latest"], "Invalid version: 'latest'"), (["0.26.0", "0.26.0"], "named twice")]
)
def test_bad_release_lists_are_refused(versions, text):
    with pytest.raises(UnknownName, match=text):
        releases.release_order(versions, {})


def tiny_suite(name: str = "smoke") -> Suite:
    """One small conv: enough to show a release's TVM compiling and running, in seconds."""
    return Suite(name, (qconv(ConvShape(12, 12, 8, 8, 3, 3, 1, "SAME"), "int8"),), repeat=3)


@pytest.mark.slow
def test_history_records_each_release_as_a_base_point_and_goes_on_past_a_broken_one(tmp_path, pypi):
    """Real pip environments (kept in ~/.cache/perfbot-test), real TVM and TFLite; a tiny suite."""
    cache = SHARED_CACHE if SHARED_CACHE.parent.is_dir() else tmp_path / "cache"
    pypi["0.0.0.post999"] = [{"upload_time_iso_8601": "2026-01-01T00:00:00Z"}]  # listed, but has no wheel
    device = devices.load(ROOT / "devices.yml").get("local")
    lines = []
    recording = Store.open(tmp_path / "perf.db")
    runs = releases.run_history(
        recording, cache, tiny_suite(), device, ["0.26.0", "0.0.0.post999", "0.25.0"], say=lines.append
    )
    recording.close()

    assert [r.version for r in runs] == ["0.0.0.post999", "0.25.0", "0.26.0"]
    broken, old, new = runs
    assert broken.error and "pip:apache-tvm==0.0.0.post999" in broken.error and "log:" in broken.error
    assert [r.status for r in broken.outcome.results] == ["environment_error", "environment_error"]
    assert [r.status for r in old.outcome.results + new.outcome.results] == ["ok"] * 4
    assert any(line.startswith("environment_error: pip:apache-tvm==0.0.0.post999") for line in lines)

    store = Store.open(tmp_path / "perf.db")
    recorded = store.runs("kind = 'base'")
    assert [(r["sha"], r["repo"], r["commit_time"], r["tvm_version"]) for r in recorded] == [
        ("v0.0.0.post999", "apache/tvm", "2026-01-01T00:00:00Z", None),
        ("v0.25.0", "apache/tvm", "2026-06-19T19:03:32Z", "0.25.0"),
        ("v0.26.0", "apache/tvm", "2026-08-11T02:34:10Z", "0.26.0"),
    ]
    assert [r["tvm_ffi_version"] for r in recorded[1:]] == ["0.1.12", "0.1.14.post0"]  # the table's companions
    assert recorded[1]["env"] == "pip:apache-tvm==0.25.0" and all(r["status"] == "complete" for r in recorded)
    assert [row["sha"] for row in store.dashboard_points("base") if row["device"] == "local"] == [
        "v0.0.0.post999"
    ] * 2 + ["v0.25.0"] * 2 + ["v0.26.0"] * 2

    table = releases.markdown_table(runs).splitlines()
    assert table[0] == "| workload | config | 0.0.0.post999 | 0.25.0 | 0.26.0 | TFLite |"
    assert table[1] == "|---|---|---:|---:|---:|---:|"
    assert table[2].startswith("| qconv_12x12x8_8_3x3_s1_same/int8 | NHWC/default | environment_error | ")
