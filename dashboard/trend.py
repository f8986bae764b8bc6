"""A trend page: one (device, workload, scheme) over base-branch commits.

One series per layout/pipeline config: the median latency with a band from
the fastest to the slowest sample, TFLite as its own line, the TVM/TFLite
ratio in a second panel, change points from bot.stats, failures (hover for
the error) and PR results (placed at their merge base). Every point links to
its commit or PR on GitHub.
"""

from __future__ import annotations

from collections import Counter

from bot.stats import change_points
from bot.vocabulary import MIN_EFFECT
from dashboard.html import chart, esc, link, page, plot_text, table
from dashboard.site import Site, config_of, ms, num, when

#: Relative change a level shift must reach to be marked (as for PR verdicts).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
ERROR_LINES, ERROR_LINE_CHARS = 8, 160
DATE = "%{x|%Y-%m-%d %H:%M}"


def write_page(site: Site, key: tuple) -> None:
    device, workload, scheme = key
    rows, prs = site.series.get(key, []), site.pr_points.get(key, [])
    figure, marks = figure_for(site, key, rows, prs)
    intro = (
        f"<p>Latency of <b>{esc(workload)}</b> ({esc(scheme)}) on <b>{esc(device)}</b> over base-branch "
        f"commits: the median of each run with a band from its fastest to its slowest sample, TFLite as its "
        f"own line, and the TVM/TFLite ratio below (under 1: TVM is faster). Triangles mark change points, "
        f"crosses failures (hover for the error), diamonds PR results at their merge base. Click a point to "
        f"open its commit or PR.</p>"
    )
    if device in site.emulated:
        intro += "<p class=warn>Emulated device: latency is recorded but says nothing about the hardware.</p>"
    body = intro + chart("trend", figure)
    body += "<h2>Change points</h2>" + (
        table(
            ["config", "first commit of the new level", "commit time", "before ms", "after ms", "change"],
            marks,
            numeric=(3, 4, 5),
        )
        if marks
        else "<p>None found.</p>"
    )
    body += _pr_table(site, prs) + _failures_table(site, rows)
    site.write(site.trend_href(key, 0), page(f"{workload} · {scheme} on {device}", body, 1, plotly=True))


def figure_for(site: Site, key: tuple, rows: list[dict], prs: list[dict]) -> tuple[dict, list[list[str]]]:
    """The plotly figure (data + layout) and the change-point table rows."""
    data: list[dict] = []
    shapes: list[dict] = [
        {
            "type": "line",
            "xref": "paper",
            "x0": 0,
            "x1": 1,
            "yref": "y2",
            "y0": 1,
            "y1": 1,
            "line": {"color": "#999", "width": 1, "dash": "dot"},
        }
    ]
    marks: list[list[str]] = []
    at_commit = {r.get("sha"): when(r) for r in rows}
    repos = Counter(site.repo_of(r) for r in rows if site.repo_of(r))
    links = site.commit_url(repos.most_common(1)[0][0], "_")[:-1] if repos else None
    data += _tflite(rows)
    configs = sorted({config_of(r) for r in rows + prs})
    for number, config in enumerate(configs):
        color = PALETTE[number % len(PALETTE)]
        name = plot_text(config)
        mine = [r for r in rows if config_of(r) == config]
        ok = [r for r in mine if r["status"] == "ok" and r.get("median_ms")]
        x = [when(r) for r in ok]
        low = [num(min(r["samples_ms"])) if r.get("samples_ms") else num(r["median_ms"]) for r in ok]
        high = [num(max(r["samples_ms"])) if r.get("samples_ms") else num(r["median_ms"]) for r in ok]
        info = [
            _info(site, r, links) + [f"{lo:.3f}–{hi:.3f}" if lo is not None and hi is not None else "?"]
            for r, lo, hi in zip(ok, low, high)
        ]
        group = {"legendgroup": config}
        data += [
            {
                "x": x,
                "y": low,
                "mode": "lines",
                "line": {"width": 0, "color": color},
                "showlegend": False,
                "hoverinfo": "skip",
                **group,
            },
            {
                "x": x,
                "y": high,
                "mode": "lines",
                "line": {"width": 0, "color": color},
                "fill": "tonexty",
                "fillcolor": color + "33",
                "showlegend": False,
                "hoverinfo": "skip",
                **group,
            },
            {
                "x": x,
                "y": [num(r["median_ms"]) for r in ok],
                "mode": "lines+markers",
                "name": f"TVM {name}",
                "line": {"color": color, "width": 1.5},
                "marker": {"size": 4},
                "customdata": info,
                "hovertemplate": "%{y:.3f} ms (min–max %{customdata[3]})<br>%{customdata[1]} · "
                + DATE
                + "<br>TVM %{customdata[2]}",
                **group,
            },
        ]
        rated = [(xi, r) for xi, r in zip(x, ok) if r.get("ratio")]
        data.append(
            {
                "x": [xi for xi, _ in rated],
                "y": [num(r["ratio"]) for _, r in rated],
                "yaxis": "y2",
                "mode": "lines",
                "name": f"TVM/TFLite {name}",
                "line": {"color": color, "dash": "dot", "width": 1.5},
                "hovertemplate": "%{y:.2f}× TFLite<br>" + DATE,
                "showlegend": False,
                **group,
            }
        )
        data += _failures(site, mine, links, color, name, group)
        data += _prs(site, [r for r in prs if config_of(r) == config], mine, at_commit, color, name, group)
        points = change_points([r["median_ms"] for r in ok], min_effect=MIN_EFFECT)
        if points:
            data.append(_change_trace(site, points, ok, x, links, name, group))
        for point in points:
            row = ok[point.index]
            worse = point.change > 0
            shapes.append(
                {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": x[point.index],
                    "x1": x[point.index],
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": "#d62728" if worse else "#2ca02c", "dash": "dot", "width": 1},
                }
            )
            marks.append(
                [
                    esc(config),
                    site.commit_link(row),
                    esc(x[point.index]),
                    ms(point.before),
                    ms(point.after),
                    f'<span class="{"bad" if worse else "ok"}">{point.change:+.1%}</span>',
                ]
            )
            if worse and key[0] not in site.emulated:
                site.regressions.append((point.change, key, config, row))
    layout = {
        "xaxis": {"type": "date", "anchor": "y2", "title": {"text": "commit time (UTC)"}},
        "yaxis": {"title": {"text": "latency (ms)"}, "domain": [0.34, 1]},
        "yaxis2": {"title": {"text": "TVM / TFLite"}, "domain": [0, 0.26], "anchor": "x"},
        "meta": {"link": links},
        "shapes": shapes,
        "hovermode": "closest",
        "hoverlabel": {"align": "left"},
        "margin": {"t": 70, "r": 20, "l": 70},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "updatemenus": [
            {
                "type": "buttons",
                "direction": "left",
                "x": 1,
                "xanchor": "right",
                "y": 1.02,
                "yanchor": "bottom",
                "showactive": True,
                "buttons": [
                    {"label": "linear", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
                    {"label": "log", "method": "relayout", "args": [{"yaxis.type": "log"}]},
                ],
            }
        ],
    }
    return {"data": data, "layout": layout}, marks


def _info(site: Site, row: dict, links: str | None) -> list:
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


def _error_text(row: dict) -> str:
    lines = (row.get("error") or "").strip().splitlines()[-ERROR_LINES:]
    cut = [line if len(line) <= ERROR_LINE_CHARS else line[: ERROR_LINE_CHARS - 1] + "…" for line in lines]
    return "<br>".join(plot_text(line) for line in cut) or "(no output)"


def _tflite(rows: list[dict]) -> list[dict]:
    """TFLite's median, once per run (every config of a run shares one TFLite reference)."""
    seen, x, y = set(), [], []
    for r in rows:
        if r.get("tflite_median_ms") and r["run_id"] not in seen:
            seen.add(r["run_id"])
            x.append(when(r))
            y.append(num(r["tflite_median_ms"]))
    if not x:
        return []
    return [
        {
            "x": x,
            "y": y,
            "mode": "lines",
            "name": "TFLite",
            "line": {"color": "#222", "dash": "dash", "width": 1.5},
            "hovertemplate": "TFLite %{y:.3f} ms<br>" + DATE,
        }
    ]


def _failures(site: Site, mine: list[dict], links: str | None, color: str, name: str, group: dict) -> list[dict]:
    """Failures sit at the level of the last good run before them, so they show where the series broke."""
    level, x, y, info = None, [], [], []
    fallback = next((r["median_ms"] for r in mine if r["status"] == "ok" and r.get("median_ms")), 0.0)
    for r in mine:
        if r["status"] == "ok" and r.get("median_ms"):
            level = r["median_ms"]
        elif r["status"] != "ok":
            x.append(when(r))
            y.append(num(level if level is not None else fallback))
            info.append(_info(site, r, links) + [plot_text(r["status"]), _error_text(r)])
    if not x:
        return []
    return [
        {
            "x": x,
            "y": y,
            "mode": "markers",
            "name": f"failures {name}",
            "marker": {"symbol": "x", "color": "#d62728", "size": 10, "line": {"color": color, "width": 1}},
            "customdata": info,
            **group,
            "hovertemplate": "<b>%{customdata[3]}</b> %{customdata[1]} · " + DATE + " · TVM %{customdata[2]}"
            "<br>%{customdata[4]}",
        }
    ]


def _prs(
    site: Site, prs: list[dict], mine: list[dict], at_commit: dict, color: str, name: str, group: dict
) -> list[dict]:
    if not prs:
        return []
    levels = [r["median_ms"] for r in mine if r["status"] == "ok" and r.get("median_ms")]
    fallback = levels[-1] if levels else 0.0
    x, y, info, symbols = [], [], [], []
    for r in prs:
        repo, sha = site.repo_of(r), r.get("sha") or ""
        if r.get("pr"):
            href = site.pull_url(repo, r["pr"]) or site.pr_href(repo or "", r["pr"], 1)
        else:  # a `perfbot run --kind pr` without --pr
            href = site.commit_url(repo, sha) or ""
        x.append(at_commit.get(r.get("base_sha")) or when(r))
        good = r["status"] == "ok" and r.get("median_ms")
        y.append(num(r["median_ms"] if good else fallback))
        symbols.append("diamond" if good else "diamond-open")
        what = f"{r['median_ms']:.3f} ms" if good else f"<b>{plot_text(r['status'])}</b><br>{_error_text(r)}"
        info.append(
            [
                href,
                plot_text(f"PR #{r['pr'] or '?'} at {sha[:10] or '?'}"),
                plot_text(when(r)),
                plot_text(r.get("tvm_version") or "?"),
                what,
            ]
        )
    return [
        {
            "x": x,
            "y": y,
            "mode": "markers",
            "name": f"PRs {name}",
            "customdata": info,
            **group,
            "marker": {"symbol": symbols, "color": color, "size": 9, "line": {"width": 1, "color": "#333"}},
            "hovertemplate": "%{customdata[1]}: %{customdata[4]}<br>%{customdata[2]} · TVM %{customdata[3]}",
        }
    ]


def _change_trace(site: Site, points, ok: list[dict], x: list[str], links: str | None, name: str, group: dict) -> dict:
    info = [
        _info(site, ok[p.index], links) + [plot_text(f"{p.change:+.1%}: {p.before:.3f} → {p.after:.3f} ms")]
        for p in points
    ]
    return {
        "x": [x[p.index] for p in points],
        "y": [num(p.after) for p in points],
        "mode": "markers",
        "name": f"change points {name}",
        "showlegend": False,
        "customdata": info,
        **group,
        "marker": {
            "symbol": ["triangle-up" if p.change > 0 else "triangle-down" for p in points],
            "size": 13,
            "color": ["#d62728" if p.change > 0 else "#2ca02c" for p in points],
            "line": {"width": 1, "color": "#333"},
        },
        "hovertemplate": "change point %{customdata[3]}<br>first commit %{customdata[1]} · " + DATE,
    }


def _pr_table(site: Site, prs: list[dict]) -> str:
    if not prs:
        return ""
    cells = []
    for r in prs[-30:][::-1]:
        repo = site.repo_of(r) or ""
        cells.append(
            [
                link(site.pr_href(repo, r["pr"], 1), f"#{int(r['pr'])}") if r.get("pr") else "?",
                link(site.pull_url(repo, r["pr"]), "GitHub") if repo and r.get("pr") else "–",
                site.commit_link(r),
                esc(config_of(r)),
                esc(r["status"]) if r["status"] == "ok" else f'<span class="bad">{esc(r["status"])}</span>',
                ms(r.get("median_ms")),
                f"{r['ratio']:.2f}" if r.get("ratio") else "–",
            ]
        )
    return "<h2>Pull requests</h2>" + table(
        ["PR", "", "head", "config", "status", "PR ms", "TVM/TFLite"], cells, numeric=(5, 6)
    )


def _failures_table(site: Site, rows: list[dict]) -> str:
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
