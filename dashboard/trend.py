"""A trend page: one (device, workload, scheme) over base-branch commits, in the device's own measure.

One series per layout/pipeline config. On a timed device: the median
latency with a band from the fastest to the slowest sample, change points
from bot.stats.change_points. On a device that counts instructions (the
emulated AArch64 board): TVM's count of one inference, exact, so no band,
and a step wherever two consecutive commits differ beyond
bot.stats.compare_counts' margin (dashboard/measures.py). Either way TFLite
is its own line, the TVM/TFLite ratio is in a second panel, failures sit
where the series broke (hover for the error), PR results at their merge
base (never at 0: a PR row without a value of its own is drawn at its
base's), and first bad commits bisections found are marked. Every point
links to its commit or PR on GitHub.

Local tries (`perfbot run`, no base-branch commit) are their own series,
placed by when they ran and labelled with their TVM version and
environment: a first dashboard needs no bot, and a try never passes for
history (no steps are looked for in it).
"""

from __future__ import annotations

from collections import Counter

from bot.vocabulary import COUNT_FLOOR, COUNT_MIN_EFFECT
from dashboard import traces, trend_tables
from dashboard.html import chart, esc, page, plot_text
from dashboard.measures import Measure, measure_of
from dashboard.site import Site, config_of, num, when
from dashboard.traces import DATE, PALETTE, info, markers

BISECT_COLOR = "#6a3d9a"


def write_page(site: Site, key: tuple) -> None:
    device, workload, scheme = key
    measure = measure_of(site.counting, device)
    rows, prs, local = site.series.get(key, []), site.pr_points.get(key, []), site.local.get(key, [])
    figure, marks = figure_for(site, key, rows, prs, measure)
    body = _intro(site, key, rows, local, measure) + chart("trend", figure)
    if rows:
        body += trend_tables.steps(site, marks, measure)
    body += trend_tables.bisections(site, key)
    if measure.counts:
        body += trend_tables.functions(site, rows or local)
    body += trend_tables.local(local, measure) + trend_tables.prs(site, prs, measure)
    body += trend_tables.failures(site, rows)
    site.write(site.trend_href(key, 0), page(f"{workload} · {scheme} on {device}", body, 1, plotly=True))


def _intro(site: Site, key: tuple, rows: list[dict], local: list[dict], measure: Measure) -> str:
    device, workload, scheme = key
    what = "base-branch commits" if rows else "your local runs"
    if measure.counts:
        emulators = Counter(r.get("emulator") for r in rows + local if r.get("emulator"))
        where = f" ({esc(emulators.most_common(1)[0][0])})" if emulators else ""
        text = (
            f"<p>Instructions of one inference of <b>{esc(workload)}</b> ({esc(scheme)}) on <b>{esc(device)}</b>, "
            f"counted on emulated AArch64{where}, over {what}: TVM's count per config, TFLite's count as its own "
            f"line, and the TVM/TFLite instruction ratio below (under 1: TVM executes fewer). Counts are exact, so "
            f"there is no band, and a step is a change between consecutive commits beyond "
            f"{COUNT_MIN_EFFECT:.1%} (and {COUNT_FLOOR:,} instructions). They count the work the code does, not "
            f"caches, memory bandwidth or pipeline stalls: not time."
        )
        marks = "Triangles mark steps"
    else:
        text = (
            f"<p>Latency of <b>{esc(workload)}</b> ({esc(scheme)}) on <b>{esc(device)}</b> over {what}: the "
            f"median of each run with a band from its fastest to its slowest sample, TFLite as its own line, and "
            f"the TVM/TFLite ratio below (under 1: TVM is faster)."
        )
        marks = "Triangles mark change points"
    if rows:
        text += (
            f" {marks}, crosses failures (hover for the error), diamonds PR results at their merge base (open: "
            "same code or a failure, drawn at the base's level), purple lines the first bad commits bisections "
            "found. Click a point to open its commit or PR."
        )
    if local:
        runs = len({r["run_id"] for r in local})
        text += (
            f" {'Beside them, ' if rows else ''}{runs} local run{'s' if runs != 1 else ''} of "
            f"<code>perfbot run</code> (no base-branch commit) {'are' if runs != 1 else 'is'} drawn by when "
            f"{'they' if runs != 1 else 'it'} ran, as open circles labelled with the TVM version and environment."
        )
    text += "</p>"
    if device in site.emulated and not measure.counts:
        text += "<p class=warn>Emulated device: latency is recorded but says nothing about the hardware.</p>"
    return text


def figure_for(site: Site, key: tuple, rows: list[dict], prs: list[dict], measure: Measure) -> tuple[dict, list]:
    """The plotly figure (data + layout) and the steps' table rows."""
    data: list[dict] = []
    shapes: list[dict] = [
        {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y2", "y0": 1, "y1": 1,
         "line": {"color": "#999", "width": 1, "dash": "dot"}}
    ]  # fmt: skip
    marks: list[list[str]] = []
    repos = Counter(site.repo_of(r) for r in rows if site.repo_of(r))
    links = site.commit_url(repos.most_common(1)[0][0], "_")[:-1] if repos else None
    local = site.local.get(key, [])
    data += traces.tflite(rows, measure) + traces.tflite(local, measure, "TFLite (local runs)", "dot")
    configs = sorted({config_of(r) for r in rows + prs + local})
    labelled = len({(r.get("tvm_version"), r.get("env")) for r in local}) > 1
    for number, config in enumerate(configs):
        color = PALETTE[number % len(PALETTE)]
        style = {"color": color, "name": plot_text(config), "group": {"legendgroup": config}}
        mine = [r for r in rows if config_of(r) == config]
        ok = [r for r in mine if r["status"] == "ok" and measure.value(r)]
        x = [when(r) for r in ok]
        if measure.banded:
            data += traces.band(x, ok, color, style["group"])
        data.append(_series(site, ok, x, links, measure, style))
        data.append(traces.ratio(x, ok, measure, f"TVM/TFLite {style['name']}",
                                 {"color": color, "dash": "dot", "width": 1.5}, style["group"], mode="lines"))  # fmt: skip
        data += traces.failures(site, mine, links, measure, style)
        data += _local(site, [r for r in local if config_of(r) == config], measure, style, labelled)
        data += _prs(site, [r for r in prs if config_of(r) == config], ok, measure, style)
        points = measure.steps([measure.value(r) for r in ok])
        if points:
            data.append(traces.steps(site, points, ok, x, links, measure, style))
        for point in points:
            row, worse = ok[point.index], point.change > 0
            shapes.append(traces.vertical(x[point.index], traces.WORSE if worse else traces.BETTER, "dot", 1))
            marks.append([config, row, x[point.index], point])
            if worse and (key[0] not in site.emulated or measure.counts):
                site.regressions.append((point.change, key, config, row))
    bisected, notes = _bisections(site, key, rows, measure)
    data += bisected
    shapes += [note.pop("shape") for note in notes]
    return {"data": data, "layout": _layout(rows, local, measure, notes, shapes, links)}, marks


def _layout(rows, local, measure: Measure, notes: list, shapes: list, links: str | None) -> dict:
    axis = "commit time" if rows else "run time"
    if rows and local:
        axis = "commit time; run time for local runs"
    scale = [{"label": s, "method": "relayout", "args": [{"yaxis.type": s}]} for s in ("linear", "log")]
    return {
        "xaxis": {"type": "date", "anchor": "y2", "title": {"text": f"{axis} (UTC)"}},
        "annotations": notes,
        "yaxis": {"title": {"text": measure.axis}, "domain": [0.34, 1], "exponentformat": "SI"},
        "yaxis2": {"title": {"text": "TVM / TFLite"}, "domain": [0, 0.26], "anchor": "x"},
        "meta": {"link": links},
        "shapes": shapes,
        "hovermode": "closest",
        "hoverlabel": {"align": "left"},
        "margin": {"t": 70, "r": 20, "l": 70},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "updatemenus": [{"type": "buttons", "direction": "left", "x": 1, "xanchor": "right", "y": 1.02,
                         "yanchor": "bottom", "showactive": True, "buttons": scale}],
    }  # fmt: skip


def _series(site: Site, ok: list[dict], x: list[str], links: str | None, measure: Measure, style: dict) -> dict:
    """TVM's value per base-branch commit; the hover says what was measured (range of samples, or the emulator)."""
    return {
        "x": x,
        "y": [measure.y(measure.value(r)) for r in ok],
        "mode": "lines+markers",
        "name": f"TVM {style['name']}",
        "line": {"color": style["color"], "width": 1.5},
        "marker": {"size": 4},
        "customdata": [info(site, r, links) + [traces.spread(r, measure)] for r in ok],
        "hovertemplate": measure.hover + measure.detail + "<br>%{customdata[1]} · " + DATE + "<br>TVM %{customdata[2]}",
        **style["group"],
    }


def _local(site: Site, mine: list[dict], measure: Measure, style: dict, labelled: bool) -> list[dict]:
    """A config's local tries by run time (times with min–max bars), and their ratio to TFLite below.

    Each point is labelled with the run's TVM version (on the point when the
    tries differ in version or environment, else in the hover).
    """
    ok = [r for r in mine if r["status"] == "ok" and measure.value(r)]
    color, name, group = style["color"], style["name"], style["group"]
    out: list[dict] = []
    if ok:
        x = [when(r) for r in ok]
        y = [measure.y(measure.value(r)) for r in ok]
        hover = [["", plot_text(f"local run {r['run_id']}"), plot_text(r.get("tvm_version") or "?"),
                  traces.spread(r, measure), plot_text(r.get("env") or "?")] for r in ok]  # fmt: skip
        trace = {
            "x": x,
            "y": y,
            "mode": "lines+markers+text" if labelled else "lines+markers",
            "text": [plot_text(r.get("tvm_version") or "?") for r in ok],
            "textposition": "top center",
            "textfont": {"size": 10, "color": color},
            "name": f"local {name}",
            "line": {"color": color, "dash": "dash", "width": 1.5},
            "marker": {"symbol": "circle-open", "size": 9, "color": color, "line": {"width": 2}},
            "customdata": hover,
            "hovertemplate": measure.hover
            + measure.detail
            + "<br>%{customdata[1]} · "
            + DATE
            + "<br>TVM %{customdata[2]} · %{customdata[4]}<extra></extra>",
            **group,
        }
        if measure.banded:
            samples = [r.get("samples_ms") or [r["median_ms"]] for r in ok]
            trace["error_y"] = {"type": "data", "symmetric": False, "color": color, "thickness": 1, "width": 3,
                                "array": [num(max(xs) - r["median_ms"]) for r, xs in zip(ok, samples)],
                                "arrayminus": [num(r["median_ms"] - min(xs)) for r, xs in zip(ok, samples)]}  # fmt: skip
        out.append(trace)
        out.append(traces.ratio(x, ok, measure, f"TVM/TFLite local {name}", {"color": color, "dash": "dashdot", "width": 1},
                                group, mode="lines+markers", marker={"symbol": "circle-open", "size": 6, "color": color}))  # fmt: skip
    failed = [r for r in mine if r["status"] != "ok"]
    if failed and ok:
        level = measure.y(measure.value(ok[-1]))
        hover = [
            ["", plot_text(f"local run {r['run_id']}"), plot_text(r["status"]), traces.error_text(r)] for r in failed
        ]
        out.append(markers([when(r) for r in failed], [level] * len(failed), f"local failures {name}",
                           {"symbol": "x-open", "color": traces.WORSE, "size": 10}, hover,
                           "<b>%{customdata[2]}</b> %{customdata[1]} · " + DATE + "<br>%{customdata[3]}", group))  # fmt: skip
    return out


def _prs(site: Site, prs: list[dict], ok: list[dict], measure: Measure, style: dict) -> list[dict]:
    """PR results at their merge base: the head's value, or (same code, a failure) the base's level, never 0.

    The base's level is the value its own side of the job measured, else the
    base branch's value at the merge base, else its newest; a PR row with
    none of these is left to the page's PR table.
    """
    at = {r.get("sha"): (when(r), measure.value(r)) for r in ok}
    newest = measure.value(ok[-1]) if ok else None
    x, y, hover, symbols = [], [], [], []
    for r in prs:
        if (r.get("attempt") or 1) != 1:
            continue  # the confirming rerun of the same item: its first attempt stands for both on the chart
        repo, sha = site.repo_of(r), r.get("sha") or ""
        if r.get("pr"):
            href = site.pull_url(repo, r["pr"]) or site.pr_href(repo or "", r["pr"], 1)
        else:  # a `perfbot run --kind pr` without --pr
            href = site.commit_url(repo, sha) or ""
        place, base_level = at.get(r.get("base_sha"), (None, None))
        own = measure.value(r) if r["status"] == "ok" else None
        level = own or r.get(measure.base_column) or base_level or newest
        if not level:
            continue
        x.append(place or when(r))
        y.append(measure.y(level))
        symbols.append("diamond" if own else "diamond-open")
        hover.append([href, plot_text(f"PR #{r.get('pr') or '?'} at {sha[:10] or '?'}"), plot_text(when(r)),
                      plot_text(r.get("tvm_version") or "?"), _pr_says(r, own, measure)])  # fmt: skip
    if not x:
        return []
    marker = {"symbol": symbols, "color": style["color"], "size": 9, "line": {"width": 1, "color": "#333"}}
    return [markers(x, y, f"PRs {style['name']}", marker, hover,
                    "%{customdata[1]}: %{customdata[4]}<br>%{customdata[2]} · TVM %{customdata[3]}", style["group"])]  # fmt: skip


def _pr_says(r: dict, own, measure: Measure) -> str:
    base = r.get(measure.base_column)
    against = f" (base {measure.text(base)})" if base else ""
    if own:
        return plot_text(f"{measure.text(own)} {measure.unit}{against}")
    if r.get("same_code"):
        return plot_text(f"same code as its base{against}: nothing {'counted' if measure.counts else 'timed'}")
    return f"<b>{plot_text(r['status'])}</b><br>{traces.error_text(r)}"


def _bisections(site: Site, key: tuple, rows: list[dict], measure: Measure) -> tuple[list[dict], list[dict]]:
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
    x, y, hover, notes = [], [], [], []
    for b in found:
        row = at.get(b["first_bad_sha"]) or at.get(b.get("bad_sha"))
        if row is None:
            continue
        config = f"{b['layout']}/{b['pipeline']}"
        level = next((measure.value(r) for r in rows
                      if r.get("sha") == row.get("sha") and config_of(r) == config and measure.value(r)), None)  # fmt: skip
        repo = b.get("repo") or site.repo_of(row)
        pr_url = site.pull_url(repo, b.get("pr")) or site.commit_url(repo, b["first_bad_sha"]) or ""
        short = b["first_bad_sha"][:10]
        text = plot_text(f"first bad {short}" + (f" (#{int(b['pr'])})" if b.get("pr") else ""))
        if pr_url:
            text = f'<a href="{esc(pr_url)}">{text}</a>'
        notes.append(
            {"x": when(row), "xref": "x", "y": 0.99 - 0.07 * (len(notes) % 4),  # stacked: configs share a commit
             "yref": "paper", "yanchor": "top", "xanchor": "left", "text": text, "showarrow": False,
             "font": {"color": BISECT_COLOR, "size": 11}, "bgcolor": "rgba(255,255,255,0.8)",
             "shape": traces.vertical(when(row), BISECT_COLOR, "dashdot", 2)}
        )  # fmt: skip
        x.append(when(row))
        y.append(measure.y(level))
        change = f"{b['change']:+.1%}" if b.get("change") is not None else "?"
        pr = plot_text(f"PR #{b['pr']}" if b.get("pr") else "")
        hover.append([pr_url, plot_text(short), plot_text(config), pr, change])
    if not x:
        return [], notes
    marker = {"symbol": "star", "size": 14, "color": BISECT_COLOR, "line": {"width": 1, "color": "#333"}}
    hovertext = "first bad commit %{customdata[1]} %{customdata[3]}<br>%{customdata[2]}: %{customdata[4]} against its parent<extra></extra>"
    return [markers(x, y, "first bad commits", marker, hover, hovertext)], notes
