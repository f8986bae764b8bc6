"""The pieces of a trend figure, as plotly trace dicts: the shapes every series shares, in latency or in counts.

Each builder takes the rows of one config (or of TFLite) and the page's
`Measure` (dashboard/measures.py), so one function draws a trace whatever
the device measures. Text that came from the database goes through
`plot_text`; a point's `customdata[0]` is the link a click opens
(dashboard/html.py CLICK_JS). Tested through the pages that draw them, in
headless Chromium: tests/dashboard/test_dashboard.py and test_counts.py.
"""

from __future__ import annotations

from dashboard.html import plot_text
from dashboard.measures import Measure
from dashboard.site import Site, num, when

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
ERROR_LINES, ERROR_LINE_CHARS = 8, 160
DATE = "%{x|%Y-%m-%d %H:%M}"
WORSE, BETTER = "#d62728", "#2ca02c"


def markers(
    x: list, y: list, name: str, marker: dict, info: list, hover: str, group: dict | None = None, **extra
) -> dict:
    """Points without a line: failures, PR results, steps, first bad commits."""
    return {"x": x, "y": y, "mode": "markers", "name": name, "marker": marker, "customdata": info,
            "hovertemplate": hover, **(group or {}), **extra}  # fmt: skip


def ratio(x: list, rows: list[dict], measure: Measure, name: str, line: dict, group: dict, **extra) -> dict:
    """TVM/TFLite (in the measure's own terms) in the lower panel, for the points that have one."""
    rated = [(xi, r) for xi, r in zip(x, rows) if r.get(measure.ratio_column)]
    return {
        "x": [xi for xi, _ in rated],
        "y": [num(r[measure.ratio_column]) for _, r in rated],
        "yaxis": "y2",
        "name": name,
        "line": line,
        "hovertemplate": measure.ratio_hover + "<br>" + DATE,
        "showlegend": False,
        **extra,
        **group,
    }


def band(x: list, rows: list[dict], color: str, group: dict) -> list[dict]:
    """The fastest to the slowest sample of each run, as a filled band (times only: a count has no spread)."""
    low = [num(min(r["samples_ms"])) if r.get("samples_ms") else num(r["median_ms"]) for r in rows]
    high = [num(max(r["samples_ms"])) if r.get("samples_ms") else num(r["median_ms"]) for r in rows]
    edge = {"mode": "lines", "line": {"width": 0, "color": color}, "showlegend": False, "hoverinfo": "skip", **group}
    return [{"x": x, "y": low, **edge}, {"x": x, "y": high, "fill": "tonexty", "fillcolor": color + "33", **edge}]


def spread(row: dict, measure: Measure) -> str:
    """What a point's hover says beside its value (`measure.detail`): the samples' range (times), or the emulator
    and core that counted it (without the plugin's file name: the figure carries one per point)."""
    if measure.counts:
        return plot_text((row.get("emulator") or "emulated AArch64").split(",")[0])
    samples = row.get("samples_ms") or [row["median_ms"]]
    return f"{min(samples):.3f}–{max(samples):.3f}"


def info(site: Site, row: dict, links: str | None) -> list:
    """customdata of a point: [link, short sha, TVM version] (text escaped for plotly).

    The link is the commit's address relative to the figure's `meta.link`
    (the commit page prefix of the repository most of its runs belong to),
    or a whole address for a run of another repository: pages stay small.
    Worked out once per run: every result of a run shares it.
    """
    cached = site.run_info.get((row["run_id"], links))
    if cached is None:
        sha = row.get("sha") or ""
        url = site.commit_url(site.repo_of(row), sha) or ""
        if links and url.startswith(links):
            url = url[len(links) :]
        cached = site.run_info[(row["run_id"], links)] = [
            url,
            plot_text(sha[:10] or "no commit"),
            plot_text(row.get("tvm_version") or "?"),
        ]
    return list(cached)


def error_text(row: dict) -> str:
    lines = (row.get("error") or "").strip().splitlines()[-ERROR_LINES:]
    cut = [line if len(line) <= ERROR_LINE_CHARS else line[: ERROR_LINE_CHARS - 1] + "…" for line in lines]
    return "<br>".join(plot_text(line) for line in cut) or "(no output)"


def tflite(rows: list[dict], measure: Measure, name: str = "TFLite", dash: str = "dash") -> list[dict]:
    """TFLite's value, once per run (every config of a run shares one TFLite reference)."""
    seen, x, y = set(), [], []
    for r in rows:
        if measure.tflite(r) and r["run_id"] not in seen:
            seen.add(r["run_id"])
            x.append(when(r))
            y.append(measure.y(measure.tflite(r)))
    if not x:
        return []
    return [
        {
            "x": x,
            "y": y,
            "mode": "lines+markers" if dash == "dot" or measure.counts else "lines",
            "name": name,
            "line": {"color": "#222", "dash": dash, "width": 1.5},
            "marker": {"size": 5, "symbol": "circle-open"},
            "hovertemplate": "TFLite " + measure.hover + "<br>" + DATE,
        }
    ]


def failures(site: Site, mine: list[dict], links: str | None, measure: Measure, style: dict) -> list[dict]:
    """Failures sit at the level of the last good run before them, so they show where the series broke.

    A config that never had a good run has no level to sit at: its failures
    are in the page's failure table, not on the chart (never at 0).
    """
    level, x, y, hover = None, [], [], []
    fallback = next((measure.value(r) for r in mine if r["status"] == "ok" and measure.value(r)), None)
    for r in mine:
        if r["status"] == "ok" and measure.value(r):
            level = measure.value(r)
        elif r["status"] != "ok" and (level or fallback):
            x.append(when(r))
            y.append(measure.y(level or fallback))
            hover.append(info(site, r, links) + [plot_text(r["status"]), error_text(r)])
    if not x:
        return []
    marker = {"symbol": "x", "color": WORSE, "size": 10, "line": {"color": style["color"], "width": 1}}
    return [markers(x, y, f"failures {style['name']}", marker, hover,
                    "<b>%{customdata[3]}</b> %{customdata[1]} · " + DATE + " · TVM %{customdata[2]}<br>%{customdata[4]}",
                    style["group"])]  # fmt: skip


def steps(site: Site, points: list, ok: list[dict], x: list[str], links: str | None, measure: Measure,
          style: dict) -> dict:  # fmt: skip
    """The first point of each new level: a triangle up (worse) or down (better)."""
    hover = [
        info(site, ok[p.index], links)
        + [plot_text(f"{p.change:+.1%}: {measure.text(p.before)} → {measure.text(p.after)} {measure.unit}")]
        for p in points
    ]
    marker = {
        "symbol": ["triangle-up" if p.change > 0 else "triangle-down" for p in points],
        "size": 13,
        "color": [WORSE if p.change > 0 else BETTER for p in points],
        "line": {"width": 1, "color": "#333"},
    }
    what = "step" if measure.counts else "change point"
    return markers([x[p.index] for p in points], [measure.y(p.after) for p in points], f"{what}s {style['name']}", marker,
                   hover, what + " %{customdata[3]}<br>first commit %{customdata[1]} · " + DATE, style["group"],
                   showlegend=False)  # fmt: skip


def vertical(x: str, color: str, dash: str, width: int) -> dict:
    """A line across the whole plot at one time: a step, or a first bad commit."""
    return {"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
            "line": {"color": color, "dash": dash, "width": width}}  # fmt: skip
