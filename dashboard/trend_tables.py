"""The tables under a trend's chart: its steps, bisections, top functions, local tries, PRs and failures.

Values are written in the page's measure (dashboard/measures.py): ms on a
timed device, instructions on a counting one. Tested through the trend
pages: tests/dashboard/test_dashboard.py and test_counts.py.
"""

from __future__ import annotations

from dashboard.html import esc, link, table
from dashboard.measures import Measure, exact
from dashboard.site import Site, config_of, status_cell, when

#: Per config, the newest run's functions with the most instructions (the rest of the row's count is summed).
TOP_FUNCTIONS = 8


def _ratio(row: dict, measure: Measure) -> str:
    value = row.get(measure.ratio_column)
    return f"{value:.2f}" if value else "–"


def steps(site: Site, marks: list, measure: Measure) -> str:
    """Where the series moved: change points of times, or steps between consecutive counts (exact values)."""
    head = f"<h2>{measure.steps_title}</h2>"
    if not marks:
        return head + "<p>None found.</p>"
    text = exact if measure.counts else measure.text
    cells = [
        [esc(config), site.commit_link(row), esc(x), text(point.before), text(point.after),
         f'<span class="{"bad" if point.change > 0 else "ok"}">{point.change:+.2%}</span>']
        for config, row, x, point in marks
    ]  # fmt: skip
    unit = measure.unit
    return head + table(
        ["config", "first commit of the new level", "commit time", f"before {unit}", f"after {unit}", "change"],
        cells,
        numeric=(3, 4, 5),
    )


def functions(site: Site, rows: list[dict]) -> str:
    """The newest run's instructions by function, per config: where one inference spends its count."""
    if not rows:
        return ""
    run = rows[-1]["run_id"]
    counted = site.functions(run)
    cells = []
    for r in (r for r in rows if r["run_id"] == run and r["id"] in counted):
        mine = counted[r["id"]]
        total = sum(mine.values())
        for name, n in sorted(mine.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_FUNCTIONS]:
            cells.append([esc(config_of(r)), f"<code>{esc(name)}</code>", exact(n), f"{n / total:.1%}"])
    if not cells:
        return ""
    return (
        f"<h2>Where the instructions go</h2><p class=muted>The newest run's {TOP_FUNCTIONS} functions with the most "
        f"instructions per config (group:function: kernel is TVM's compiled model, one per PrimFunc).</p>"
        + table(["config", "function", "instructions", "share of the item's"], cells, numeric=(2, 3))
    )


def bisections(site: Site, key: tuple) -> str:
    found = site.bisections.get(key, [])
    if not found:
        return ""
    cells = []
    for b in found:
        repo = b.get("repo") or site.repo
        cells.append(
            [
                esc(f"{b['layout']}/{b['pipeline']}"),
                site.commit_link({"sha": b["first_bad_sha"], "repo": repo}),
                link(site.pull_url(repo, b.get("pr")), f"#{int(b['pr'])}") if b.get("pr") else "–",
                f"{b['change']:+.1%}" if b.get("change") is not None else "–",
                site.commit_link({"sha": b.get("good_sha"), "repo": repo})
                + " … "
                + site.commit_link({"sha": b.get("bad_sha"), "repo": repo}),
            ]
        )
    return "<h2>Commits that moved this series</h2><p class=muted>Found by <code>perfbot bisect</code>.</p>" + table(
        ["config", "first bad commit", "PR", "change", "bisected range (good … bad)"], cells, numeric=(3,)
    )


def local(rows: list[dict], measure: Measure) -> str:
    """The local tries, newest first: what each point of the local series is."""
    if not rows:
        return ""
    cells = [
        [str(int(r["run_id"])), esc(when(r)), esc(r.get("tvm_version") or "?"), f"<code>{esc(r.get('env') or '?')}</code>",
         esc(config_of(r)), status_cell(r), measure.text(measure.value(r)), measure.text(measure.tflite(r)),
         _ratio(r, measure)]
        for r in rows[-60:][::-1]
    ]  # fmt: skip
    unit = measure.unit
    return "<h2>Local runs (newest first)</h2>" + table(
        ["run", "started", "TVM", "env", "config", "status", f"TVM {unit}", f"TFLite {unit}", "TVM/TFLite"],
        cells,
        numeric=(0, 6, 7, 8),
    )


def prs(site: Site, rows: list[dict], measure: Measure) -> str:
    if not rows:
        return ""
    cells = []
    for r in rows[-30:][::-1]:
        repo = site.repo_of(r) or ""
        status = "same code" if r.get("same_code") and r["status"] == "ok" else status_cell(r)
        cells.append(
            [
                link(site.pr_href(repo, r["pr"], 1), f"#{int(r['pr'])}") if r.get("pr") else "?",
                link(site.pull_url(repo, r["pr"]), "GitHub") if repo and r.get("pr") else "–",
                site.commit_link(r),
                esc(config_of(r)),
                str(r.get("attempt") or 1),
                status,
                measure.text(r.get(measure.base_column)),
                measure.text(measure.value(r)),
                _ratio(r, measure),
            ]
        )
    unit = measure.unit
    return (
        "<h2>Pull requests</h2><p class=muted>Each PR's page has the verdicts (bot/verdicts.py decides them).</p>"
        + table(
            ["PR", "", "head", "config", "attempt", "status", f"base {unit}", f"PR {unit}", "TVM/TFLite"],
            cells,
            numeric=(4, 6, 7, 8),
        )
    )


def failures(site: Site, rows: list[dict]) -> str:
    failed = [r for r in rows if r["status"] != "ok"][-20:][::-1]
    if not failed:
        return ""
    cells = [
        [
            site.commit_link(r),
            esc(when(r)),
            esc(config_of(r)),
            f'<span class="bad">{esc(r["status"])}</span>',
            f"<pre>{esc((r.get('error') or '').strip()[-800:])}</pre>",
        ]
        for r in failed
    ]
    return "<h2>Failures (newest first)</h2>" + table(["commit", "commit time", "config", "status", "error"], cells)
