"""Two pages per device: TVM against TFLite, and where a whole network's time goes.

"TVM against TFLite" answers the question that started perfbot: per
workload, the fastest configuration TVM has on that device (layout and
pipeline, from bot.breakdown.best_configs, the same choice `perfbot run`
prints) against TFLite, for the newest base-branch run and the newest local
try of each suite. The break-down page lays out bot.breakdown.breakdown:
Inception-v3's time per conv configuration, from the conv suite, and the
rest as the difference to the end-to-end measurement.
"""

from __future__ import annotations

from bot.breakdown import Breakdown, best_configs, breakdown
from bot.vocabulary import UNTUNED, label
from dashboard.html import chart, esc, link, page, plot_text, table
from dashboard.site import Site, ms, num

KINDS = (("base", "newest base-branch run"), ("local", "newest local run"))


def best_rows(site: Site, device: str, kind: str) -> dict[str, tuple[int, list]]:
    """{suite: (run id, bot.breakdown.Best per workload)} of the device's newest run of each suite."""
    return {suite: (run, best_configs(site.run_rows[run])) for suite, run in site.newest_runs(device, kind).items()}


def write_page(site: Site, device: str) -> None:
    tag = '<span class="tag">emulated</span>' if device in site.emulated else ""
    body = (
        f"<p>{tag}For each workload, the fastest configuration TVM has on <b>{esc(device)}</b> (layout and "
        f"pipeline: the lowest median among the ok results of the run), its median, TFLite's median and the "
        f"ratio (under 1: TVM is faster). Tuned rows whose tasks the device's tuning database had no record "
        f"for are left out: they are not tuned latency. See also "
        f"{link(site.breakdown_href(device, 1), 'where the time of Inception-v3 goes')}.</p>"
    )
    if device in site.emulated:
        body += "<p class=warn>Emulated device: latency is recorded but says nothing about the hardware.</p>"
    for kind, title in KINDS:
        for suite, (run, bests) in sorted(best_rows(site, device, kind).items()):
            body += f"<h2>{esc(suite)} · {title}</h2><p>{site.run_name(site.run_rows[run][0], kind)}</p>"
            body += best_table(site, device, run, bests)
    body += _trends(site, device)
    site.write(site.device_href(device, 0), page(f"{device}: TVM against TFLite", body, 1))


def best_table(site: Site, device: str, run: int, bests: list) -> str:
    cells = []
    for best in bests:
        key = (device, best.workload, best.scheme)
        name = link(site.trend_href(key, 1) if key in site.keys else None, f"<code>{esc(best.workload)}</code>")
        if best.best_config is None:
            mine = [r for r in site.run_rows[run] if (r["workload"], r["scheme"]) == (best.workload, best.scheme)]
            statuses = sorted({r["status"] for r in mine} - {"ok"}) or [label(UNTUNED)]
            choice = f'<span class="bad">{esc(", ".join(statuses))}</span>'
        else:
            choice = f"<b>{esc(best.best_config)}</b>"
        ratio = best.ratio
        cells.append(
            [
                name,
                esc(best.scheme),
                ms(best.default_ms),
                ms(best.tuned_ms),
                choice,
                ms(best.best_ms),
                ms(best.tflite_ms),
                f'<span class="{"ok" if ratio < 1 else "bad"}">{ratio:.2f}</span>' if ratio else "–",
            ]
        )
    return table(
        ["workload", "scheme", "default ms", "tuned ms", "TVM's best", "best ms", "TFLite ms", "best/TFLite"],
        cells,
        numeric=(2, 3, 5, 6, 7),
    )


def _trends(site: Site, device: str) -> str:
    keys = [k for k in site.keys if k[0] == device]
    if not keys:
        return ""
    items = "".join(f"<li>{link(site.trend_href(k, 1), f'<code>{esc(k[1])}</code> · {esc(k[2])}')}</li>" for k in keys)
    return f"<h2>Trends on {esc(device)}</h2><ul>{items}</ul>"


# -- where the time goes ------------------------------------------------------------


def _newest_with(site: Site, device: str, wanted) -> tuple[str, int] | None:
    """The newest run of the device (base-branch history first, else local tries) with a result `wanted` picks."""
    for kind in ("base", "local"):
        for run in reversed(site.device_runs[device][kind]):
            if any(wanted(r) for r in site.run_rows[run]):
                return kind, run
    return None


def write_breakdown(site: Site, device: str, network: str, parts: dict[str, int]) -> None:
    title = f"{device}: where the time of {network} goes"
    todo = f"<code>perfbot run --suite full --device {esc(device)}</code>"
    intro = (
        f"<p>{esc(network)}'s end-to-end time on <b>{esc(device)}</b>, broken down by its conv2d "
        f"configurations: how many times each occurs in the network, its TVM time (default and tuned pipeline, "
        f"the faster layout of each) and TFLite time as the conv suite measured it on its own, and its share "
        f"of the network's time. The rest (pools, concatenations, the classifier, and whatever the convs cost "
        f"differently inside the network) is the end-to-end time minus the convs. TVM's Relax VM has no "
        f"per-operator profiler; the conv suite measures each configuration alone. See also "
        f"{link(site.device_href(device, 1), 'TVM against TFLite')}.</p>"
    )
    net = _newest_with(site, device, lambda r: r["workload"] == network)
    conv = _newest_with(site, device, lambda r: r["workload"] in parts)
    if not parts or net is None or conv is None:
        missing = []
        if net is None:
            missing.append(f"no {esc(network)} results")
        if not parts:
            missing.append(f"perfbot does not know what {esc(network)} is made of yet")
        elif conv is None:
            missing.append("no conv suite results")
        body = intro + (
            f"<p class=warn>{esc(device)} has {'; '.join(missing)}. Run {todo} (the conv suite and the whole "
            f"network, in one run), then build this site again.</p>"
        )
        site.write(site.breakdown_href(device, 0), page(title, body, 1))
        return
    (net_kind, net_run), (conv_kind, conv_run) = net, conv
    body = intro + f"<p>The network as measured at {site.run_name(site.run_rows[net_run][0], net_kind)}"
    if conv_run != net_run:
        body += f"; its convolutions at {site.run_name(site.run_rows[conv_run][0], conv_kind)}"
    body += ".</p>"
    rows = [r for r in site.run_rows[net_run] if r["workload"] == network]
    rows += [r for r in site.run_rows[conv_run] if r["workload"] in parts]
    for scheme in sorted({r["scheme"] for r in rows if r["workload"] == network}):
        bd = breakdown(network, scheme, parts, rows)
        body += f"<h2>{esc(network)} · {esc(scheme)}</h2>"
        if bd.network_ms is None:
            statuses = sorted({r["status"] for r in rows if r["workload"] == network and r["scheme"] == scheme})
            body += (
                f"<p class=bad>No end-to-end time: {esc(', '.join(statuses))}. The convs alone are below; "
                f"rerun {todo} for the rest.</p>"
            )
        if bd.missing:
            body += (
                f"<p class=warn>{len(bd.missing)} configuration(s) of the network have no conv suite time "
                f"({esc(', '.join(bd.missing[:5]))}{'…' if len(bd.missing) > 5 else ''}): the rest includes them. "
                f"Run {todo}.</p>"
            )
        body += _breakdown_table(site, device, scheme, bd) + _shares_chart(f"shares-{scheme}", bd)
    site.write(site.breakdown_href(device, 0), page(title, body, 1, plotly=True))


def _share(part_ms: float | None, whole: float | None) -> str:
    return f"{part_ms / whole:.1%}" if part_ms is not None and whole else "–"


def _breakdown_table(site: Site, device: str, scheme: str, bd: Breakdown) -> str:
    cells = []
    for part in bd.parts:
        key = (device, part.workload, scheme)
        name = link(site.trend_href(key, 1) if key in site.keys else None, f"<code>{esc(part.workload)}</code>")
        tvm = part.count * part.best_ms if part.best_ms is not None else None
        tflite = part.count * part.tflite_ms if part.tflite_ms is not None else None
        cells.append(
            [
                name,
                str(part.count),
                ms(part.default_ms),
                ms(part.tuned_ms),
                ms(part.tflite_ms),
                ms(tvm),
                _share(tvm, bd.network_ms),
                ms(tflite),
                _share(tflite, bd.network_tflite_ms),
            ]
        )
    rest, rest_tflite = bd.rest_ms, _rest_tflite(bd)
    cells.append(
        ["<b>convs</b>", str(sum(p.count for p in bd.parts)), "", "", "", ms(bd.convs_ms),
         _share(bd.convs_ms, bd.network_ms), ms(bd.convs_tflite_ms or None),
         _share(bd.convs_tflite_ms or None, bd.network_tflite_ms)]
    )  # fmt: skip
    cells.append(
        ["the rest: pools, concatenations, classifier", "", "", "", "", ms(rest), _share(rest, bd.network_ms),
         ms(rest_tflite), _share(rest_tflite, bd.network_tflite_ms)]
    )  # fmt: skip
    cells.append(
        [f"<b>{esc(bd.network)} end to end</b>", "", "", "", "", ms(bd.network_ms), "100%" if bd.network_ms else "–",
         ms(bd.network_tflite_ms), "100%" if bd.network_tflite_ms else "–"]
    )  # fmt: skip
    return table(
        ["conv configuration", "count", "default ms", "tuned ms", "TFLite ms", "count × TVM ms", "share of TVM's",
         "count × TFLite ms", "share of TFLite's"],
        cells,
        numeric=tuple(range(1, 9)),
    )  # fmt: skip


def _rest_tflite(bd: Breakdown) -> float | None:
    if bd.network_tflite_ms is None:
        return None
    return bd.network_tflite_ms - bd.convs_tflite_ms


def _shares_chart(div_id: str, bd: Breakdown) -> str:
    """Horizontal bars: each configuration's share (count × time) of the network, TVM beside TFLite."""
    names = [p.workload for p in bd.parts] + ["the rest"]
    tvm = [p.count * p.best_ms / bd.network_ms if p.best_ms is not None and bd.network_ms else None for p in bd.parts]
    tflite = [
        p.count * p.tflite_ms / bd.network_tflite_ms if p.tflite_ms is not None and bd.network_tflite_ms else None
        for p in bd.parts
    ]
    rest = bd.rest_ms / bd.network_ms if bd.rest_ms is not None and bd.network_ms else None
    rest_tflite = _rest_tflite(bd)
    tvm.append(rest)
    tflite.append(rest_tflite / bd.network_tflite_ms if rest_tflite is not None else None)
    labels = [plot_text(n) for n in names][::-1]
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "name": name,
            "y": labels,
            "x": [num(v) for v in values][::-1],
            "marker": {"color": color},
            "hovertemplate": "%{y}: %{x:.1%} of " + name + "'s end-to-end time<extra></extra>",
        }
        for name, values, color in (("TVM", tvm, "#1f77b4"), ("TFLite", tflite, "#444"))
    ]
    layout = {
        "barmode": "group",
        "xaxis": {"title": {"text": "share of the network's end-to-end time"}, "tickformat": ".0%"},
        "yaxis": {"automargin": True},
        "margin": {"t": 30, "r": 20},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    }
    return chart(div_id, {"data": data, "layout": layout}, height=max(320, 26 * len(names) + 120))
