"""`perfbot dashboard` as a user runs it: the site from a database on disk, or one line when there is none.
What the pages hold, and how they open in Chromium, is tests/dashboard/'s."""

from __future__ import annotations

import re

from bot.store import Store
from tests.cli.conftest import perfbot, show
from tests.sample_history import fill


def test_dashboard_writes_the_site_and_says_what_it_wrote(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    fill(store, devices=("local",), workloads=2, commits=6)
    store.close()
    result = perfbot("dashboard", "--db", tmp_path / "perf.db", "--out", tmp_path / "site",
                     cache=tmp_path / "cache", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, show(result)
    said = re.search(r"(\d+) pages \((\d+) trends, (\d+) PRs, (\d+) devices\) from ([\d,]+) results", result.stdout)
    assert said, show(result)
    pages, trends, prs, device_pages, results = (int(n.replace(",", "")) for n in said.groups())
    assert pages == len(list((tmp_path / "site").rglob("*.html"))) and trends > 0 and device_pages == 1
    assert results > 0 and f"open {tmp_path / 'site' / 'index.html'}" in result.stdout.replace("\n", "")
    assert (tmp_path / "site" / "index.html").is_file()


def test_a_database_that_is_not_there_is_one_line_naming_it_and_nothing_is_written(tmp_path):
    result = perfbot("dashboard", "--db", tmp_path / "none.db", "--out", tmp_path / "site",
                     cache=tmp_path / "cache", cwd=tmp_path)  # fmt: skip
    assert result.returncode != 0, show(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "none.db" in lines[0] and "Traceback" not in result.stderr, show(result)
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "site").exists()
