"""Build the site: index, one trend page per (device, workload, scheme), one page per PR.

Figures are plain plotly JSON (data + layout) rendered by one shared copy of
plotly.js (`plotly.min.js`, written once from the installed plotly package),
so a site of hundreds of charts stays small and builds in seconds.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import plotly.offline

from bot import pr_report
from bot.devices import Registry
from bot.stats import change_points
from bot.store import Store
from dashboard.html import chart, esc, page, table

COLORS = {"NHWC/default": "#1f77b4", "NCHW/default": "#ff7f0e", "NHWC/tuned": "#2ca02c", "NCHW/tuned": "#9467bd"}


@dataclass
class BuildReport:
    out_dir: Path
    pages: int = 0
    results: int = 0
    seconds: float = 0.0
    empty: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.empty:
            return f"no results yet: wrote an empty-state page to {self.out_dir}"
        return f"{self.pages} pages from {self.results} results in {self.seconds:.1f} s"


def slug(*parts) -> str:
    return "-".join(re.sub(r"[^A-Za-z0-9_.]+", "_", str(p)) for p in parts)


def build_site(db_path: Path, out_dir: Path, *, repo: str | None = None, registry: Registry | None = None,
               github_url: str = "https://github.com", progress=None) -> BuildReport:
    started = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = BuildReport(out_dir)
    (out_dir / "plotly.min.js").write_text(plotly.offline.get_plotlyjs())
    if not Path(db_path).is_file():
        return _empty(report, f"There is no database at {db_path} yet.")
    store = Store.open(db_path, create=False)
    try:
        base = store.base_history()
        prs = store.pr_results()
        runs = store.runs(order_by="id")
        if not base and not prs:
            return _empty(report, f"{db_path} has no base-branch or PR results yet.")
        site = Site(out_dir, repo, github_url, base, prs, progress)
        site.trend_pages()
        site.pr_pages(store, registry)
        site.index(runs)
        report.pages, report.results = site.pages, len(base) + len(prs)
    finally:
        store.close()
    report.seconds = time.perf_counter() - started
    return report


def _empty(report: BuildReport, why: str) -> BuildReport:
    body = (f"<p>{esc(why)}</p><p>Record a first run with <code>perfbot run</code> (a local try) or "
            f"<code>perfbot run --kind base --sha SHA</code> (a base-branch point), then build this site again "
            f"with <code>perfbot dashboard --out site/</code>.</p>")
    (report.out_dir / "index.html").write_text(page("perfbot: no results yet", body))
    report.empty, report.pages = True, 1
    return report


class Site:
    def __init__(self, out_dir: Path, repo: str | None, github_url: str, base: list[dict], prs: list[dict], progress):
        self.out, self.repo, self.github = out_dir, repo, github_url.rstrip("/")
        self.pages = 0
        self.progress = progress or (lambda done, total: None)
        self.series: dict[tuple, list[dict]] = defaultdict(list)  # (device, workload, scheme) -> results
        for r in base:
            self.series[(r["device"], r["workload"], r["scheme"])].append(r)
        self.pr_points: dict[tuple, list[dict]] = defaultdict(list)
        for r in prs:
            self.pr_points[(r["device"], r["workload"], r["scheme"])].append(r)
        self.regressions: list[tuple] = []  # (change, key, config, change point, row)

    # -- links -------------------------------------------------------------------------

    def trend_href(self, key: tuple, depth: int) -> str:
        return "../" * depth + f"trend/{slug(*key)}.html"

    def commit_link(self, row: dict) -> str:
        sha, repo = row.get("sha"), row.get("repo") or self.repo
        if not sha:
            return "-"
        if repo:
            return f'<a href="{esc(self.github)}/{esc(repo)}/commit/{esc(sha)}">{esc(sha[:10])}</a>'
        return f"<code>{esc(sha[:10])}</code>"

    # -- trend pages -------------------------------------------------------------------

    def trend_pages(self) -> None:
        (self.out / "trend").mkdir(exist_ok=True)
        keys = sorted(set(self.series) | set(self.pr_points))
        for number, key in enumerate(keys):
            self.progress(number, len(keys))
            rows, prs = self.series.get(key, []), self.pr_points.get(key, [])
            figure, marks = self.figure(key, rows, prs)
            device, workload, scheme = key
            emulated = any(r.get("emulated") for r in rows + prs)
            intro = (f"<p>Latency of <b>{esc(workload)}</b> ({esc(scheme)}) on <b>{esc(device)}</b> over base-branch "
                     f"commits: median with the min-max band of every sample, TFLite as its own line, and the "
                     f"TVM/TFLite ratio below (under 1 means TVM is faster). Diamonds are PR results, red crosses "
                     f"failures (hover for the error).</p>")
            if emulated:
                intro += "<p class=muted>Emulated device: latency is recorded, never used for verdicts.</p>"
            points = table(["config", "first commit of the new level", "before ms", "after ms", "change"], marks)
            body = intro + chart("trend", figure) + "<h2>Change points</h2>" + (points if marks else "<p>None found.</p>")
            body += self.failures_table(rows)
            self.write(f"trend/{slug(*key)}.html", page(f"{workload} {scheme} on {device}", body, 1, plotly=True))

    def figure(self, key: tuple, rows: list[dict], prs: list[dict]) -> tuple[dict, list[list[str]]]:
        data, shapes, marks = [], [], []
        configs = sorted({f"{r['layout']}/{r['pipeline']}" for r in rows + prs})
        tflite_done = False
        for config in configs:
            color = COLORS.get(config, "#555")
            mine = [r for r in rows if f"{r['layout']}/{r['pipeline']}" == config]
            ok = [r for r in mine if r["status"] == "ok" and r["median_ms"]]
            x = [r.get("commit_time") or r["started_at"] for r in ok]
            hover = [f"{(r.get('sha') or '')[:10]}<br>{r.get('commit_time') or r['started_at']}<br>"
                     f"TVM {r.get('tvm_version') or '?'}" for r in ok]
            low = [min(r["samples_ms"]) if r["samples_ms"] else r["median_ms"] for r in ok]
            high = [max(r["samples_ms"]) if r["samples_ms"] else r["median_ms"] for r in ok]
            data += [
                {"x": x, "y": low, "mode": "lines", "line": {"width": 0}, "showlegend": False, "hoverinfo": "skip",
                 "legendgroup": config},
                {"x": x, "y": high, "mode": "lines", "line": {"width": 0}, "fill": "tonexty", "fillcolor": color + "33",
                 "name": f"{config} spread", "hoverinfo": "skip", "legendgroup": config, "showlegend": False},
                {"x": x, "y": [r["median_ms"] for r in ok], "mode": "lines+markers", "name": f"TVM {config}",
                 "line": {"color": color}, "text": hover, "hovertemplate": "%{y:.3f} ms<br>%{text}<extra></extra>",
                 "legendgroup": config},
                {"x": x, "y": [r["ratio"] for r in ok], "mode": "lines", "name": f"TVM/TFLite {config}",
                 "line": {"color": color, "dash": "dot"}, "xaxis": "x", "yaxis": "y2", "legendgroup": config,
                 "hovertemplate": "%{y:.2f}x<extra></extra>"},
            ]
            if not tflite_done and any(r.get("tflite_median_ms") for r in ok):
                tfl = [r for r in ok if r.get("tflite_median_ms")]
                data.append({"x": [r.get("commit_time") or r["started_at"] for r in tfl],
                             "y": [r["tflite_median_ms"] for r in tfl], "mode": "lines", "name": "TFLite",
                             "line": {"color": "#000", "dash": "dash"}})
                tflite_done = True
            failed = [r for r in mine if r["status"] != "ok"]
            if failed:
                level = statistics.median([r["median_ms"] for r in ok]) if ok else 0
                data.append({"x": [r.get("commit_time") or r["started_at"] for r in failed], "y": [level] * len(failed),
                             "mode": "markers", "name": f"failures {config}",
                             "marker": {"symbol": "x", "color": "#d62728", "size": 11},
                             "text": [esc(f"{r['status']}: {(r.get('error') or '').strip()[-300:]}").replace("\n", "<br>")
                                      for r in failed],
                             "hovertemplate": "%{text}<extra></extra>"})
            for point in change_points([r["median_ms"] for r in ok]):
                row = ok[point.index]
                shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": x[point.index], "x1": x[point.index],
                               "y0": 0, "y1": 1, "line": {"color": "#d62728" if point.change > 0 else "#2ca02c",
                                                          "dash": "dot"}})
                marks.append([esc(config), self.commit_link(row), f"{point.before:.3f}", f"{point.after:.3f}",
                              f'<span class="{"bad" if point.change > 0 else "ok"}">{point.change:+.1%}</span>'])
                if point.change > 0:
                    self.regressions.append((point.change, key, config, row))
            pr_mine = [r for r in prs if f"{r['layout']}/{r['pipeline']}" == config and r["median_ms"]]
            if pr_mine:
                # A PR result sits at its merge base on the base-branch axis.
                at = {r.get("sha"): xi for r, xi in zip(ok, x)}
                data.append({"x": [at.get(r.get("base_sha"), x[-1] if x else r["started_at"]) for r in pr_mine], "y": [r["median_ms"] for r in pr_mine],
                             "mode": "markers", "name": f"PRs {config}",
                             "marker": {"symbol": "diamond", "color": color, "size": 9, "line": {"width": 1}},
                             "text": [f"PR #{r['pr']} {(r.get('sha') or '')[:10]}" for r in pr_mine],
                             "hovertemplate": "%{y:.3f} ms<br>%{text}<extra></extra>"})
        layout = {"grid": {"rows": 2, "columns": 1, "roworder": "top to bottom"},
                  "yaxis": {"title": {"text": "latency ms"}, "domain": [0.38, 1]},
                  "yaxis2": {"title": {"text": "TVM/TFLite"}, "domain": [0, 0.3], "anchor": "x"},
                  "xaxis": {"title": {"text": "commit time"}}, "shapes": shapes, "hovermode": "closest",
                  "margin": {"t": 20}, "legend": {"orientation": "h"}}
        return {"data": data, "layout": layout}, marks

    def failures_table(self, rows: list[dict]) -> str:
        failed = [r for r in rows if r["status"] != "ok"][-20:]
        if not failed:
            return ""
        cells = [[self.commit_link(r), esc(f"{r['layout']}/{r['pipeline']}"), f'<span class="bad">{esc(r["status"])}</span>',
                  f"<pre>{esc((r.get('error') or '').strip()[-600:])}</pre>"] for r in failed]
        return "<h2>Failures</h2>" + table(["commit", "config", "status", "error"], cells)

    # -- PR pages --------------------------------------------------------------------

    def pr_pages(self, store: Store, registry: Registry | None) -> None:
        from bot import devices

        registry = registry or devices.load(None)
        (self.out / "pr").mkdir(exist_ok=True)
        self.prs = sorted({(r.get("repo") or self.repo or "", r["pr"]) for rows in self.pr_points.values()
                           for r in rows if r.get("pr")})
        self.pr_titles = {}
        for repo, number in self.prs:
            built = pr_report.build(store, registry, repo, number) if repo else None
            pull = store.pull(repo, number) if repo else None
            title = (pull or {}).get("title") or ""
            self.pr_titles[(repo, number)] = title
            link = f'<a href="{esc(self.github)}/{esc(repo)}/pull/{number}">{esc(repo)}#{number}</a>' if repo else f"#{number}"
            body = f"<p>{link}: {esc(title)}</p>"
            if built is None or not built.devices:
                body += self.pr_fallback(repo, number)
            for device in built.devices if built else []:
                body += f"<h2>{esc(device.device.name)}</h2>"
                cells = []
                for row in device.rows:
                    key = (device.device.name, row.workload, row.scheme)
                    change = f"{row.comparison.change:+.1%}" if row.comparison and row.comparison.change is not None else "-"
                    css = "bad" if row.verdict in ("slower", "wrong_result") or row.new_failure else ""
                    cells.append([f'<a href="{self.trend_href(key, 1)}">{esc(row.workload)}</a>', esc(row.scheme),
                                  esc(row.config), _ms(row.base_ms), _ms(row.pr_ms), change,
                                  f'<span class="{css}">{esc(row.verdict)}</span>',
                                  f"{row.ratio:.2f}" if row.ratio else "-",
                                  esc(f"max diff {row.max_abs_diff:g}" if row.max_abs_diff is not None else row.status)])
                body += table(["workload", "scheme", "config", "base ms", "PR ms", "change", "verdict",
                               "TVM/TFLite", "correctness"], cells)
            self.write(f"pr/{slug(repo, number)}.html", page(f"PR #{number}", body, 1))

    def pr_fallback(self, repo: str, number: int) -> str:
        """PR results without the bot's PR record (e.g. `perfbot run --kind pr`): the raw results."""
        cells = []
        for key, rows in sorted(self.pr_points.items()):
            for r in rows:
                if r["pr"] == number and (r.get("repo") or self.repo or "") == repo:
                    cells.append([f'<a href="{self.trend_href(key, 1)}">{esc(r["workload"])}</a>', esc(r["scheme"]),
                                  esc(f"{r['layout']}/{r['pipeline']}"), esc(key[0]), esc(r["status"]),
                                  _ms(r["median_ms"]), f"{r['ratio']:.2f}" if r.get("ratio") else "-"])
        return table(["workload", "scheme", "config", "device", "status", "PR ms", "TVM/TFLite"], cells)

    # -- index -----------------------------------------------------------------------

    def index(self, runs: list[dict]) -> None:
        latest: dict[tuple, dict] = {}
        for run in runs:
            if run["kind"] == "base" and run["status"] == "complete":
                latest[(run["device"], run["suite"])] = run
        overview = [[esc(d), esc(s), self.commit_link(r), esc(r.get("tvm_version")), esc(r.get("finished_at")),
                     "emulated" if r.get("emulated") else ""] for (d, s), r in sorted(latest.items())]
        body = "<h2>Devices and suites</h2>" + table(["device", "suite", "latest base commit", "TVM", "finished", ""],
                                                     overview)
        worst = sorted(self.regressions, key=lambda item: -item[0])[:15]
        body += "<h2>Worst regressions (change points)</h2>"
        body += table(["series", "config", "first commit", "change"], [
            [f'<a href="{self.trend_href(key, 0)}">{esc(" ".join(key))}</a>', esc(config), self.commit_link(row),
             f'<span class="bad">{change:+.1%}</span>'] for change, key, config, row in worst]) if worst else "<p>None.</p>"
        failing, ratios = [], []
        for key, rows in sorted(self.series.items()):
            last_by_config: dict[str, dict] = {}
            for r in rows:
                last_by_config[f"{r['layout']}/{r['pipeline']}"] = r
            for config, r in last_by_config.items():
                link = f'<a href="{self.trend_href(key, 0)}">{esc(" ".join(key))}</a>'
                if r["status"] != "ok":
                    failing.append([link, esc(config), f'<span class="bad">{esc(r["status"])}</span>',
                                    esc((r.get("error") or "").strip().splitlines()[-1:][0][:200] if r.get("error") else "")])
                elif r.get("ratio"):
                    ratios.append([link, esc(config), _ms(r["median_ms"]), _ms(r.get("tflite_median_ms")),
                                   f"{r['ratio']:.2f}"])
        body += "<h2>Failing now</h2>" + (table(["series", "config", "status", "error"], failing) if failing else "<p>Nothing fails.</p>")
        body += "<h2>Latest TVM/TFLite ratios</h2><p class=muted>Under 1 means TVM is faster than TFLite.</p>"
        body += table(["series", "config", "TVM ms", "TFLite ms", "TVM/TFLite"], ratios)
        if getattr(self, "prs", None):
            body += "<h2>Pull requests</h2>" + table(["PR", "title"], [
                [f'<a href="pr/{slug(repo, number)}.html">{esc(repo)}#{number}</a>', esc(self.pr_titles.get((repo, number)))]
                for repo, number in self.prs])
        self.write("index.html", page("perfbot: TVM quantized inference", body))

    def write(self, name: str, text: str) -> None:
        (self.out / name).write_text(text)
        self.pages += 1


def _ms(value) -> str:
    return f"{value:.3f}" if value else "-"
