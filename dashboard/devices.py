"""A device's "TVM against TFLite" page (its break-down page is dashboard/breakdown_page.py).

It answers the question that started perfbot: per workload, the best
configuration TVM has on that device (layout and pipeline, from
bot.breakdown.best_configs, the same choice `perfbot run` prints) against
TFLite, for the newest base-branch run and the newest local try of each
suite; fastest on a timed device, fewest instructions on a counting one.
"""

from __future__ import annotations

from bot.breakdown import best_configs
from bot.vocabulary import COUNT_FLOOR, COUNT_MIN_EFFECT, UNTUNED, label
from dashboard.html import esc, link, page, table
from dashboard.measures import Measure, measure_of
from dashboard.site import Site

KINDS = (("base", "newest base-branch run"), ("local", "newest local run"))


def best_rows(site: Site, device: str, kind: str) -> dict[str, tuple[int, list]]:
    """{suite: (run id, bot.breakdown.Best per workload)} of the device's newest run of each suite."""
    metric = measure_of(site.counting, device).metric.name
    return {
        suite: (run, best_configs(site.run_rows[run], metric)) for suite, run in site.newest_runs(device, kind).items()
    }


def counts_note(device: str) -> str:
    """What every page of a counting device says about its numbers, once."""
    return (
        f"<p class=muted>{esc(device)} counts instructions: one inference on emulated AArch64, exact (a change "
        f"beyond {COUNT_MIN_EFFECT:.1%} and {COUNT_FLOOR:,} instructions is real), not time: they count the work "
        f"the code does, not caches, memory bandwidth or pipeline stalls.</p>"
    )


def write_page(site: Site, device: str) -> None:
    measure = measure_of(site.counting, device)
    if measure.counts:
        best = (
            "the configuration with the fewest instructions TVM has on <b>{}</b> (layout and pipeline), its count, "
            "TFLite's count on the same board and the ratio (under 1: TVM executes fewer)"
        )
    else:
        best = (
            "the fastest configuration TVM has on <b>{}</b> (layout and pipeline: the lowest median among the ok "
            "results of the run), its median, TFLite's median and the ratio (under 1: TVM is faster)"
        )
    goes = "where Inception-v3's " + ("instructions go" if measure.counts else "time goes")
    body = (
        f"<p>{site.tag(device)}For each workload, {best.format(esc(device))}. Tuned rows whose tasks the device's "
        f"tuning database had no record for are left out: they are not tuned results. See also "
        f"{link(site.breakdown_href(device, 1), goes)}.</p>"
    )
    if measure.counts:
        body += counts_note(device)
    elif device in site.emulated:
        body += "<p class=warn>Emulated device: latency is recorded but says nothing about the hardware.</p>"
    for kind, title in KINDS:
        for suite, (run, bests) in sorted(best_rows(site, device, kind).items()):
            body += f"<h2>{esc(suite)} · {title}</h2><p>{site.run_name(site.run_rows[run][0], kind)}</p>"
            body += best_table(site, device, run, bests, measure)
    body += _trends(site, device)
    site.write(site.device_href(device, 0), page(f"{device}: TVM against TFLite", body, 1))


def best_table(site: Site, device: str, run: int, bests: list, measure: Measure) -> str:
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
        text = measure.text
        cells.append(
            [name, esc(best.scheme), text(best.default), text(best.tuned), choice, text(best.best), text(best.tflite),
             f'<span class="{"ok" if ratio < 1 else "bad"}">{ratio:.2f}</span>' if ratio else "–"]
        )  # fmt: skip
    unit = measure.unit
    return table(
        ["workload", "scheme", f"default {unit}", f"tuned {unit}", "TVM's best", f"best {unit}", f"TFLite {unit}",
         "best/TFLite"],
        cells,
        numeric=(2, 3, 5, 6, 7),
    )  # fmt: skip


def _trends(site: Site, device: str) -> str:
    keys = [k for k in site.keys if k[0] == device]
    if not keys:
        return ""
    items = "".join(f"<li>{link(site.trend_href(k, 1), f'<code>{esc(k[1])}</code> · {esc(k[2])}')}</li>" for k in keys)
    return f"<h2>Trends on {esc(device)}</h2><ul>{items}</ul>"


def newest_with(site: Site, device: str, wanted) -> tuple[str, int] | None:
    """The newest run of the device (base-branch history first, else local tries) with a result `wanted` picks."""
    for kind in ("base", "local"):
        for run in reversed(site.device_runs[device][kind]):
            if any(wanted(r) for r in site.run_rows[run]):
                return kind, run
    return None
