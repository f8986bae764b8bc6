"""A device's "where the time goes" page: bot.breakdown laid out in the device's measure, with an ARM column.

On a timed device: Inception-v3's end-to-end time split by conv
configuration (each measured alone by the conv suite) and the rest, which
is never negative (where the convs alone sum to more than the whole, the
row says by how much). Beside it, when the emulated AArch64 board
(devices.yml `metric: instructions`) has counted them, its newest run's
instructions per configuration (count x the standalone conv's count) and
their share of the network's own count: the ARM column. On the counting
board's own page the whole break-down is in instructions. Where the network
itself was counted, its instructions by kernel kind follow, from its
per-function counts (bot.breakdown.kernel_kinds): that split needs no
standalone runs at all. Tested in tests/dashboard/test_local_and_devices.py
(a timed board) and test_counts.py (the ARM column, the counting board's page).
"""

from __future__ import annotations

from bot.breakdown import Breakdown, Part, Remainder, breakdown
from bot.vocabulary import INSTRUCTIONS
from dashboard.devices import counts_note, newest_with
from dashboard.html import chart, esc, link, page, plot_text, table
from dashboard.measures import COUNTS, Measure, exact, measure_of
from dashboard.site import Site, num

REST = "the rest: pools, concatenations, classifier"
REST_OR_OVER = "the rest, or (+) how far the convs' sum is over the whole"


def write_page(site: Site, device: str, network: str, parts: dict[str, int]) -> None:
    measure = measure_of(site.counting, device)
    what = "instructions" if measure.counts else "time"
    title = f"{device}: where the {what} of {network} {'go' if measure.counts else 'goes'}"
    todo = f"<code>perfbot run --suite full --device {esc(device)}</code>"
    arm_device = None if measure.counts else next(iter(sorted(site.counting)), None)
    body = _intro(site, device, network, measure, arm_device)
    own = _rows(site, device, network, parts, need_both=True)
    arm = _rows(site, arm_device, network, parts) if arm_device else None
    if not parts or own is None:
        body += _missing(site, device, network, parts, todo, arm_device if arm else None)
        site.write(site.breakdown_href(device, 0), page(title, body, 1))
        return
    body += f"<p>Measured here: {own[0]}.</p>"
    if arm is not None:
        body += f"<p>The ARM column: {link(site.breakdown_href(arm_device, 1), esc(arm_device))}: {arm[0]}.</p>"
    rows, arm_rows = own[1], arm[1] if arm else []
    for scheme in sorted({r["scheme"] for r in rows if r["workload"] == network}):
        bd = breakdown(network, scheme, parts, rows, measure.metric.name)
        on_arm = breakdown(network, scheme, parts, arm_rows, INSTRUCTIONS) if arm_rows else None
        body += f"<h2>{esc(network)} · {esc(scheme)}</h2>" + _warnings(bd, rows, scheme, todo)
        body += _table(site, device, scheme, bd, on_arm, measure) + _shares_chart(f"shares-{scheme}", bd, on_arm)
        body += _kinds(bd, on_arm, device, arm_device)
    site.write(site.breakdown_href(device, 0), page(title, body, 1, plotly=True))


def _intro(site: Site, device: str, network: str, measure: Measure, arm_device: str | None) -> str:
    if measure.counts:
        text = (
            f"<p>{esc(network)}'s instructions of one inference on <b>{esc(device)}</b>, broken down by its conv2d "
            f"configurations: how many times each occurs in the network, its TVM count (default and tuned "
            f"pipeline, the better layout of each) and TFLite's, as the conv suite counted each on its own, and "
            f"its share of the network's count."
        )
    else:
        text = (
            f"<p>{esc(network)}'s end-to-end time on <b>{esc(device)}</b>, broken down by its conv2d "
            f"configurations: how many times each occurs in the network, its TVM time (default and tuned "
            f"pipeline, the faster layout of each) and TFLite time as the conv suite measured it on its own, and "
            f"its share of the network's time."
        )
        if arm_device:
            text += (
                f" The ARM column is each configuration's instructions on emulated AArch64 "
                f"({esc(arm_device)}: count x the standalone conv's count) and its share of the network's count."
            )
    text += (
        " The rest (pools, concatenations, the classifier, and whatever the convs cost differently inside the "
        "network) is the whole minus the convs; where the convs alone sum to more than the whole, the row says "
        "by how much instead. TVM's Relax VM has no per-operator profiler; the conv suite measures each "
        f"configuration alone. See also {link(site.device_href(device, 1), 'TVM against TFLite')}.</p>"
    )
    return text + (counts_note(device) if measure.counts else "")


def _rows(site: Site, device: str, network: str, parts: dict[str, int], need_both: bool = False):
    """(where, as HTML; the rows) of the device's newest run with the network and of its newest with the convs.

    None when it has neither (or, `need_both`, not both). The network's rows
    carry their per-function counts (read for that run only).
    """
    net = newest_with(site, device, lambda r: r["workload"] == network)
    conv = newest_with(site, device, lambda r: r["workload"] in parts)
    if (net is None or conv is None) if need_both else (net is None and conv is None):
        return None
    rows, where = [], []
    if net is not None:
        kind, run = net
        counted = site.functions(run) if device in site.counting else {}
        rows += [{**r, "functions": counted.get(r["id"])} for r in site.run_rows[run] if r["workload"] == network]
        what = "the network and its convolutions" if conv == net else "the network"
        where.append(f"{what} at {site.run_name(site.run_rows[run][0], kind)}")
    if conv is not None:
        kind, run = conv
        rows += [r for r in site.run_rows[run] if r["workload"] in parts]
        if conv != net:
            where.append(f"its convolutions at {site.run_name(site.run_rows[run][0], kind)}")
    return "; ".join(where), rows


def _missing(site: Site, device: str, network: str, parts, todo: str, arm_device: str | None) -> str:
    missing = []
    if newest_with(site, device, lambda r: r["workload"] == network) is None:
        missing.append(f"no {esc(network)} results")
    if not parts:
        missing.append(f"perfbot does not know what {esc(network)} is made of yet")
    elif newest_with(site, device, lambda r: r["workload"] in parts) is None:
        missing.append("no conv suite results")
    text = (
        f"<p class=warn>{esc(device)} has {'; '.join(missing)}. Run {todo} (the conv suite and the whole "
        f"network, in one run), then build this site again.</p>"
    )
    if arm_device:
        text += (
            f"<p>{link(site.breakdown_href(arm_device, 1), esc(arm_device))} has the break-down in instructions.</p>"
        )
    return text


def _warnings(bd: Breakdown, rows: list[dict], scheme: str, todo: str) -> str:
    out = ""
    if bd.whole is None:
        statuses = sorted({r["status"] for r in rows if r["workload"] == bd.network and r["scheme"] == scheme})
        out += (
            f"<p class=bad>No end-to-end value: {esc(', '.join(statuses))}. The convs alone are below; rerun {todo} "
            f"for the rest.</p>"
        )
    if bd.missing:
        out += (
            f"<p class=warn>{len(bd.missing)} configuration(s) of the network have no conv suite value "
            f"({esc(', '.join(bd.missing[:5]))}{'…' if len(bd.missing) > 5 else ''}): the rest includes them. "
            f"Run {todo}.</p>"
        )
    return out + "".join(f"<p class=warn>{esc(note)}</p>" for note in bd.notes)


def _share(part: float | None, whole: float | None) -> str:
    return f"{part / whole:.1%}" if part is not None and whole else "–"


def _rest(rest: Remainder | None, text) -> list[str]:
    """The rest's value and share; `+` marks how far the parts' sum is over the whole (never a negative rest)."""
    if rest is None:
        return ["–", "–"]
    sign = "+" if rest.over else ""
    return [sign + text(rest.amount), f"{sign}{rest.share:.1%}"]


def _table(site: Site, device: str, scheme: str, bd: Breakdown, arm: Breakdown | None, measure: Measure) -> str:
    text, unit = measure.text, measure.unit
    arm_parts = {p.workload: p for p in arm.parts} if arm else {}

    def on_arm(part: Part | None) -> list[str]:
        if arm is None:
            return []
        return [COUNTS.text(part.total), _share(part.total, arm.whole)] if part else ["–", "–"]

    cells = []
    for part in bd.parts:
        key = (device, part.workload, scheme)
        name = link(site.trend_href(key, 1) if key in site.keys else None, f"<code>{esc(part.workload)}</code>")
        cells.append([name, str(part.count), text(part.default), text(part.tuned), text(part.tflite),
                      text(part.total), _share(part.total, bd.whole), text(part.tflite_total),
                      _share(part.tflite_total, bd.whole_tflite)] + on_arm(arm_parts.get(part.workload)))  # fmt: skip
    arm_convs = [COUNTS.text(arm.convs or None), _share(arm.convs, arm.whole)] if arm else []
    cells.append(["<b>convs</b>", str(sum(p.count for p in bd.parts)), "", "", "", text(bd.convs or None),
                  _share(bd.convs, bd.whole), text(bd.convs_tflite or None), _share(bd.convs_tflite, bd.whole_tflite),
                  *arm_convs])  # fmt: skip
    rests = [bd.rest, bd.rest_tflite] + ([arm.rest] if arm else [])
    label = REST_OR_OVER if any(r is not None and r.over for r in rests) else REST
    cells.append([label, "", "", "", "", *_rest(bd.rest, text), *_rest(bd.rest_tflite, text),
                  *(_rest(arm.rest, COUNTS.text) if arm else [])])  # fmt: skip
    arm_whole = [COUNTS.text(arm.whole), "100%" if arm.whole else "–"] if arm else []
    cells.append([f"<b>{esc(bd.network)} end to end</b>", "", "", "", "", text(bd.whole), "100%" if bd.whole else "–",
                  text(bd.whole_tflite), "100%" if bd.whole_tflite else "–", *arm_whole])  # fmt: skip
    headers = ["conv configuration", "count", f"default {unit}", f"tuned {unit}", f"TFLite {unit}",
               f"count × TVM {unit}", "share of TVM's", f"count × TFLite {unit}", "share of TFLite's"]  # fmt: skip
    if arm:
        headers += ["count × ARM instructions", "share of ARM's"]
    return table(headers, cells, numeric=tuple(range(1, len(headers))))


def _kinds(bd: Breakdown, arm: Breakdown | None, device: str, arm_device: str | None) -> str:
    """The network's own count by kernel kind, from its per-function counts (no standalone runs needed)."""
    kinds, where = (bd.kinds, device) if bd.kinds else (arm.kinds if arm else [], arm_device)
    if not kinds:
        return ""
    cells = [[esc(k.kind), str(k.functions), exact(k.instructions), f"{k.share:.1%}"] for k in kinds]
    return (
        f"<h3>{esc(bd.network)} on {esc(where)}, by kernel kind</h3><p class=muted>From the network's own "
        f"per-function counts (one inference, TVM's best configuration): no standalone runs. A kernel's kind is read "
        f"from its PrimFunc name; a conv2d kernel includes the bias, requantize and clip TVM fused into it.</p>"
        + table(["kernel kind", "functions", "instructions", "share of the count"], cells, numeric=(1, 2, 3))
    )


def _shares(totals: list[float | None], whole: float | None, rest: Remainder | None) -> list[float | None]:
    """Each part's share of the whole, then the rest's (none where the convs' sum is over the whole)."""
    shares = [t / whole if t is not None and whole else None for t in totals]
    return shares + [rest.share if rest is not None and not rest.over else None]


def _shares_chart(div_id: str, bd: Breakdown, arm: Breakdown | None) -> str:
    """Horizontal bars: each configuration's share (count × value) of the network, TVM beside TFLite (and ARM)."""
    names = [p.workload for p in bd.parts] + ["the rest"]
    unit = "instructions" if bd.metric == INSTRUCTIONS else "end-to-end time"
    series = [
        ("TVM", _shares([p.total for p in bd.parts], bd.whole, bd.rest), "#1f77b4", unit),
        ("TFLite", _shares([p.tflite_total for p in bd.parts], bd.whole_tflite, bd.rest_tflite), "#444", unit),
    ]
    if arm is not None:
        by_name = {p.workload: p.total for p in arm.parts}
        arm_totals = [by_name.get(p.workload) for p in bd.parts]
        series.append(("ARM instructions", _shares(arm_totals, arm.whole, arm.rest), "#2ca02c", "instructions"))
    labels = [plot_text(n) for n in names][::-1]
    data = [
        {"type": "bar", "orientation": "h", "name": name, "y": labels, "x": [num(v) for v in values][::-1],
         "marker": {"color": color}, "hovertemplate": "%{y}: %{x:.1%} of " + name + f"'s {what}<extra></extra>"}
        for name, values, color, what in series
    ]  # fmt: skip
    layout = {
        "barmode": "group",
        "xaxis": {"title": {"text": f"share of the network's {unit}"}, "tickformat": ".0%"},
        "yaxis": {"automargin": True},
        "margin": {"t": 30, "r": 20},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    }
    return chart(div_id, {"data": data, "layout": layout}, height=max(320, 26 * len(names) + 120))
