"""A trend page: one (device, workload, scheme) over base-branch commits.

One series per layout/pipeline config: the median latency with a band from
the fastest to the slowest sample, TFLite as its own line, the TVM/TFLite
ratio in a second panel, change points from bot.stats, failures (hover for
the error), PR results (placed at their merge base) and the first bad
commits bisections found. Every point links to its commit or PR on GitHub.

Local tries (`perfbot run`, no base-branch commit) are their own series,
placed by when they ran and labelled with their TVM version and
environment: a first dashboard needs no bot, and a try never passes for
history (no change points are looked for in it).
"""

from __future__ import annotations

from collections import Counter

from bot.stats import change_points
from bot.vocabulary import MIN_EFFECT
from dashboard.html import chart, esc, link, page, plot_text, table
from dashboard.site import Site, config_of, ms, num, status_cell, when

#: Relative change a level shift must reach to be marked (as for PR verdicts).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
ERROR_LINES, ERROR_LINE_CHARS = 8, 160
DATE = "%{x|%Y-%m-%d %H:%M}"


def write_page(site: Site, key: tuple) -> None:
    device, workload, scheme = key
    rows, prs, local = site.series.get(key, []), site.pr_points.get(key, []), site.local.get(key, [])
    figure, marks = figure_for(site, key, rows, prs)
    what = "base-branch commits" if rows else "your local runs"
    intro = (
        f"<p>Latency of <b>{esc(workload)}</b> ({esc(scheme)}) on <b>{esc(device)}</b> over {what}: the "
        f"median of each run with a band from its fastest to its slowest sample, TFLite as its own line, and "
        f"the TVM/TFLite ratio below (under 1: TVM is faster)."
    )
    if rows:
        intro += (
            " Triangles mark change points, crosses failures (hover for the error), diamonds PR results at their "
            "merge base, purple lines the first bad commits bisections found. Click a point to open its commit or PR."
        )
    if local:
        runs = len({r["run_id"] for r in local})
        intro += (
            f" {'Beside them, ' if rows else ''}{runs} local run{'s' if runs != 1 else ''} of "
            f"<code>perfbot run</code> (no base-branch commit) {'are' if runs != 1 else 'is'} drawn by when "
            f"{'they' if runs != 1 else 'it'} ran, as open circles labelled with the TVM version and environment."
        )
    intro += "</p>"
    if device in site.emulated:
        intro += "<p class=warn>Emulated device: latency is recorded but says nothing about the hardware.</p>"
    body = intro + chart("trend", figure)
    if rows:
        body += "<h2>Change points</h2>" + (
            table(
                ["config", "first commit of the new level", "commit time", "before ms", "after ms", "change"],
                marks,
                numeric=(3, 4, 5),
            )
            if marks
            else "<p>None found.</p>"
        )
    body += _bisections_table(site, key) + _local_table(local) + _pr_table(site, prs) + _failures_table(site, rows)
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
    local = site.local.get(key, [])
    data += _tflite(rows) + _tflite(local, "TFLite (local runs)", "dot")
    configs = sorted({config_of(r) for r in rows + prs + local})
    labelled = len({(r.get("tvm_version"), r.get("env")) for r in local}) > 1
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
        data += _local(site, [r for r in local if config_of(r) == config], color, name, group, labelled)
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
    bisected, notes = _bisections(site, key, rows, configs)
    data += bisected
    shapes += [note.pop("shape") for note in notes]
    axis = "commit time" if rows else "run time"
    if rows and local:
        axis = "commit time; run time for local runs"
    layout = {
        "xaxis": {"type": "date", "anchor": "y2", "title": {"text": f"{axis} (UTC)"}},
        "annotations": notes,
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


def _tflite(rows: list[dict], name: str = "TFLite", dash: str = "dash") -> list[dict]:
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
            "mode": "lines+markers" if dash == "dot" else "lines",
            "name": name,
            "line": {"color": "#222", "dash": dash, "width": 1.5},
            "marker": {"size": 5, "symbol": "circle-open"},
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


def _local(site: Site, mine: list[dict], color: str, name: str, group: dict, labelled: bool) -> list[dict]:
    """A config's local tries: medians by run time with min–max bars, and their ratio to TFLite below.

    Each point is labelled with the run's TVM version (on the point when the
    tries differ in version or environment, else in the hover).
    """
    ok = [r for r in mine if r["status"] == "ok" and r.get("median_ms")]
    out: list[dict] = []
    if ok:
        x = [when(r) for r in ok]
        y = [num(r["median_ms"]) for r in ok]
        samples = [r.get("samples_ms") or [r["median_ms"]] for r in ok]
        info = [
            [
                "",
                plot_text(f"local run {r['run_id']}"),
                plot_text(r.get("tvm_version") or "?"),
                f"{min(xs):.3f}–{max(xs):.3f}",
                plot_text(r.get("env") or "?"),
            ]
            for r, xs in zip(ok, samples)
        ]
        out.append(
            {
                "x": x,
                "y": y,
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": [num(max(xs) - r["median_ms"]) for r, xs in zip(ok, samples)],
                    "arrayminus": [num(r["median_ms"] - min(xs)) for r, xs in zip(ok, samples)],
                    "color": color,
                    "thickness": 1,
                    "width": 3,
                },
                "mode": "lines+markers+text" if labelled else "lines+markers",
                "text": [plot_text(r.get("tvm_version") or "?") for r in ok],
                "textposition": "top center",
                "textfont": {"size": 10, "color": color},
                "name": f"local {name}",
                "line": {"color": color, "dash": "dash", "width": 1.5},
                "marker": {"symbol": "circle-open", "size": 9, "color": color, "line": {"width": 2}},
                "customdata": info,
                "hovertemplate": "%{y:.3f} ms (min–max %{customdata[3]})<br>%{customdata[1]} · "
                + DATE
                + "<br>TVM %{customdata[2]} · %{customdata[4]}<extra></extra>",
                **group,
            }
        )
        rated = [(xi, r) for xi, r in zip(x, ok) if r.get("ratio")]
        out.append(
            {
                "x": [xi for xi, _ in rated],
                "y": [num(r["ratio"]) for _, r in rated],
                "yaxis": "y2",
                "mode": "lines+markers",
                "name": f"TVM/TFLite local {name}",
                "line": {"color": color, "dash": "dashdot", "width": 1},
                "marker": {"symbol": "circle-open", "size": 6, "color": color},
                "hovertemplate": "%{y:.2f}× TFLite<br>" + DATE,
                "showlegend": False,
                **group,
            }
        )
    failed = [r for r in mine if r["status"] != "ok"]
    if failed:
        level = num(ok[-1]["median_ms"]) if ok else 0.0
        out.append(
            {
                "x": [when(r) for r in failed],
                "y": [level] * len(failed),
                "mode": "markers",
                "name": f"local failures {name}",
                "marker": {"symbol": "x-open", "color": "#d62728", "size": 10},
                "customdata": [
                    ["", plot_text(f"local run {r['run_id']}"), plot_text(r["status"]), _error_text(r)] for r in failed
                ],
                "hovertemplate": "<b>%{customdata[2]}</b> %{customdata[1]} · " + DATE + "<br>%{customdata[3]}",
                **group,
            }
        )
    return out


BISECT_COLOR = "#6a3d9a"


def _bisections(site: Site, key: tuple, rows: list[dict], configs: list[str]) -> tuple[list[dict], list[dict]]:
    """First bad commits found by bisection: a purple line with the short sha and PR, and a point that links to the PR.

    A first bad commit that was never measured on the base branch (the usual
    case: bisection probes commits between two measured ones) is drawn at
    the first measured commit known to be at the new level (`bad_sha`).
    Each annotation carries its line as `shape` for the caller to take.
    """
    found = site.bisections.get(key, [])
    if not found:
        return [], []
    at = {r.get("sha"): r for r in rows}
    x, y, info, notes = [], [], [], []
    for b in found:
        row = at.get(b["first_bad_sha"]) or at.get(b.get("bad_sha"))
        if row is None:
            continue
        config = f"{b['layout']}/{b['pipeline']}"
        level = next(
            (
                r["median_ms"]
                for r in rows
                if r.get("sha") == row.get("sha") and config_of(r) == config and r.get("median_ms")
            ),
            None,
        )
        repo = b.get("repo") or site.repo_of(row)
        pr_url = site.pull_url(repo, b.get("pr")) or site.commit_url(repo, b["first_bad_sha"]) or ""
        short = b["first_bad_sha"][:10]
        text = plot_text(f"first bad {short}" + (f" (#{int(b['pr'])})" if b.get("pr") else ""))
        if pr_url:
            text = f'<a href="{esc(pr_url)}">{text}</a>'
        change = f"{b['change']:+.1%}" if b.get("change") is not None else "?"
        notes.append(
            {
                "x": when(row),
                "xref": "x",
                "y": 0.99 - 0.07 * (len(notes) % 4),  # stacked: bisections of several configs share a commit
                "yref": "paper",
                "yanchor": "top",
                "xanchor": "left",
                "text": text,
                "showarrow": False,
                "font": {"color": BISECT_COLOR, "size": 11},
                "bgcolor": "rgba(255,255,255,0.8)",
                "shape": {
                    "type": "line",
                    "xref": "x",
                    "yref": "paper",
                    "x0": when(row),
                    "x1": when(row),
                    "y0": 0,
                    "y1": 1,
                    "line": {"color": BISECT_COLOR, "dash": "dashdot", "width": 2},
                },
            }
        )
        x.append(when(row))
        y.append(num(level))
        info.append([pr_url, plot_text(short), plot_text(config), plot_text(f"PR #{b['pr']}" if b.get("pr") else "")])
        info[-1].append(change)
    if not x:
        return [], notes
    trace = {
        "x": x,
        "y": y,
        "mode": "markers",
        "name": "first bad commits",
        "marker": {"symbol": "star", "size": 14, "color": BISECT_COLOR, "line": {"width": 1, "color": "#333"}},
        "customdata": info,
        "hovertemplate": "first bad commit %{customdata[1]} %{customdata[3]}<br>%{customdata[2]}: "
        "%{customdata[4]} against its parent<extra></extra>",
    }
    return [trace], notes


def _bisections_table(site: Site, key: tuple) -> str:
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


def _local_table(local: list[dict]) -> str:
    """The local tries, newest first: what each point of the local series is."""
    if not local:
        return ""
    cells = [
        [
            str(int(r["run_id"])),
            esc(when(r)),
            esc(r.get("tvm_version") or "?"),
            f"<code>{esc(r.get('env') or '?')}</code>",
            esc(config_of(r)),
            status_cell(r),
            ms(r.get("median_ms")),
            ms(r.get("tflite_median_ms")),
            f"{r['ratio']:.2f}" if r.get("ratio") else "–",
        ]
        for r in local[-60:][::-1]
    ]
    return "<h2>Local runs (newest first)</h2>" + table(
        ["run", "started", "TVM", "env", "config", "status", "TVM ms", "TFLite ms", "TVM/TFLite"],
        cells,
        numeric=(0, 6, 7, 8),
    )
