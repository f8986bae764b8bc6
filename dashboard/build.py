"""Build the site: an index, a trend page per (device, workload, scheme), a page per PR, two per device.

Figures are plain plotly JSON (data + layout) drawn by one shared copy of
plotly.js (`plotly.min.js`, written once from the installed plotly package),
so a site of hundreds of charts stays small, needs no network to view, and
builds in seconds: results are read with one query per kind of run (base
branch, PR, local try) and grouped in Python.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import plotly.offline

from bot import devices
from bot.devices import Registry
from bot.store import Store
from dashboard import breakdown_page, index, trend
from dashboard import devices as device_pages
from dashboard import prs as pr_pages
from dashboard.html import esc, page
from dashboard.site import PageProgress, Site, slug  # noqa: F401  (slug: the file name of a trend page)

#: The whole network whose time the break-down pages split by conv configuration.
NETWORK = "inception_v3"


@dataclass
class BuildReport:
    out_dir: Path
    pages: int = 0  # HTML pages written, index included
    trend_pages: int = 0
    pr_pages: int = 0
    device_pages: int = 0  # one "TVM against TFLite" page and one break-down page per device
    results: int = 0  # base-branch, PR and local results drawn
    seconds: float = 0.0
    empty: bool = False  # no results: only the empty-state index was written
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.empty:
            return f"no results yet: wrote an empty-state page to {self.out_dir}"
        return (
            f"{self.pages} pages ({self.trend_pages} trends, {self.pr_pages} PRs, {self.device_pages} devices) "
            f"from {self.results:,} results "
            f"in {self.seconds:.1f} s"
        )


def build_site(
    db_path: Path,
    out_dir: Path,
    *,
    repo: str | None = None,
    registry: Registry | None = None,
    github_url: str = "https://github.com",
    progress: PageProgress | None = None,
) -> BuildReport:
    """Write the static site for the database at `db_path` into `out_dir`.

    A missing or empty database gives an empty-state index that says how to
    record a first run. A database perfbot cannot use (newer schema, not a
    perfbot file) raises the `bot.errors.DatabaseError` of `Store.open`.
    `repo` (OWNER/NAME) is used for links when a run did not record its own.
    """
    started = time.perf_counter()
    db_path, out_dir = Path(db_path), Path(out_dir)
    report = BuildReport(out_dir)
    if not db_path.is_file() or db_path.stat().st_size == 0:
        return _empty(report, f"There is no perfbot database at {db_path} yet.", started)
    store = Store.open(db_path, create=False)
    try:
        base = store.dashboard_points("base")
        prs = store.dashboard_points("pr")
        local = store.dashboard_points("local")
        if not base and not prs and not local:
            return _empty(report, f"{db_path} has no results yet.", started)
        _write_shell(out_dir)
        site = Site(out_dir, repo, github_url, base, prs, progress, local, store.bisections(status="found"),
                    store.functions_of)  # fmt: skip
        total = len(site.keys) + len(site.pr_numbers) + 2 * len(site.devices) + 1
        for key in site.keys:
            trend.write_page(site, key)
            site.tick(total)
        if site.pr_numbers and registry is None:
            registry = devices.load(None)
        for pr in site.pr_numbers:
            pr_pages.write_page(site, store, registry, pr)
            site.tick(total)
        parts = store.network_parts(NETWORK)
        for device in site.devices:
            device_pages.write_page(site, device)
            site.tick(total)
            breakdown_page.write_page(site, device, NETWORK, parts)
            site.tick(total)
        index.write_page(site, store.complete_runs("base"), _local_runs(site))
        site.tick(total)
        _remove_stale(out_dir, site.written)
        report.pages, report.results = site.pages, len(base) + len(prs) + len(local)
        report.trend_pages, report.pr_pages = len(site.keys), len(site.pr_numbers)
        report.device_pages = len(site.devices)
    finally:
        store.close()
    report.seconds = time.perf_counter() - started
    return report


FOLDERS = ("trend", "pr", "device", "breakdown")


def _write_shell(out_dir: Path) -> None:
    for folder in FOLDERS:
        (out_dir / folder).mkdir(parents=True, exist_ok=True)
    target = out_dir / "plotly.min.js"
    script = plotly.offline.get_plotlyjs()
    if not target.is_file() or target.stat().st_size != len(script.encode()):
        target.write_text(script, encoding="utf-8")


def _remove_stale(out_dir: Path, written: set[str]) -> None:
    """Pages of series or PRs that are gone from the database (only in the folders this builder owns)."""
    for folder in FOLDERS:
        for path in (out_dir / folder).glob("*.html"):
            if f"{folder}/{path.name}" not in written:
                path.unlink()


def _local_runs(site: Site, limit: int = 10) -> list[tuple[dict, list[dict]]]:
    """The newest `perfbot run` tries (kind local), newest first, each as (its run fields, its results)."""
    runs = sorted({r["run_id"] for rows in site.local.values() for r in rows}, reverse=True)[:limit]
    return [(site.run_rows[run][0], site.run_rows[run]) for run in runs]


def _empty(report: BuildReport, why: str, started: float) -> BuildReport:
    body = (
        f"<p>{esc(why)}</p><p>Record a first run with <code>perfbot run</code> (a try on this machine, plotted by "
        f"when it ran), "
        f"<code>perfbot run --kind base --repo OWNER/NAME --sha SHA</code> (a point of base-branch history) or "
        f"<code>perfbot history --versions '0.25.0 0.26.0 0.27.0'</code> (one point per TVM release), "
        f"then build this site again with <code>perfbot dashboard --out site/</code>.</p>"
    )
    _write_shell(report.out_dir)
    (report.out_dir / "index.html").write_text(page("perfbot: no results yet", body), encoding="utf-8")
    _remove_stale(report.out_dir, {"index.html"})
    report.empty, report.pages = True, 1
    report.seconds = time.perf_counter() - started
    return report
