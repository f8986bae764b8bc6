"""Markdown for the sticky PR comment, and one-line descriptions for commit statuses.

Rendering only: what to say is decided in bot/verdicts.py. Text that comes
from outside (error output, PR titles) is shown inside code fences longer than
any run of backticks in it, so it cannot break out of its block.
"""

from __future__ import annotations

import re
from collections import Counter

from bot.breakdown import best_configs
from bot.verdicts import DeviceReport, PrReport, Row, counts_text, foreign_runtime, tail
from bot.vocabulary import (
    COUNT_FLOOR,
    COUNT_MIN_EFFECT,
    EMULATED,
    LAYOUTS,
    PIPELINES,
    SAME_CODE,
    SCHEMES,
    STATE_ICONS,
    UNCHANGED,
    change_percent,
    instructions,
    label,
    milliseconds,
)

#: Verdicts folded into a block of their own per device: nothing to look at, just their numbers.
FOLDED = (UNCHANGED, SAME_CODE, EMULATED)
#: Of the failures on a device, the comment shows the output of this many (the dashboard has the rest).
MAX_FAILURES_SHOWN = 8
#: GitHub refuses comments longer than 65536 characters.
MAX_COMMENT = 65000


def marker(mention: str) -> str:
    """The hidden line that finds the bot's comment again, also after a restart."""
    return f"<!-- {mention}:report -->"


def fence(text: str, lang: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _ms(value: float | None) -> str:
    return milliseconds(value, "–")


def _verdict(row: Row) -> str:
    return f"**{row.verdict_text}**" if row.alarming else row.verdict_text


def _count(value: int | None) -> str:
    return instructions(value, "–")


#: What every instruction-counting device section says about its numbers, once.
COUNTS_NOTE = (
    f"Instruction counts of one inference on the emulated core, not time: exact, so a change beyond "
    f"±{COUNT_MIN_EFFECT:.1%} (and {COUNT_FLOOR:,} instructions) is reported with no rounds and no rerun. "
    "They count the work the code does, not caches, memory bandwidth or pipeline stalls."
)


#: What every device section with timed verdicts says about them, once.
ROUNDS_NOTE = (
    "Both builds timed side by side by pairs of fresh processes, until the 99% interval of the change over "
    "the pairs lies inside ±margin (`unchanged`) or clear of it (`slower`/`faster`); an item still undecided when "
    "its rounds stop (at the cap, or where the cap would not decide it) is `noisy`, with its interval, and does "
    "not fail the status."
)


def device_section(device: DeviceReport, detail: int = 0) -> list[str]:
    d = device.device
    head = f"#### {STATE_ICONS[device.state]} `{d.name}`: {d.description or d.arch}"
    lines = [head]
    facts = [d.arch, f"{d.threads} thread{'s' if d.threads != 1 else ''}"]
    if device.tvm_version:
        facts.append(f"TVM {device.tvm_version}")
    if d.counts:
        facts.append("instruction counts on emulated AArch64, not time")
        if device.emulator:
            facts.append(device.emulator)
    elif d.emulated:
        facts.append("emulated: latency recorded, never judged")
    if foreign_runtime(device):
        facts.append(f"modules run by {device.device_runtime}, not the compiling TVM's own runtime")
    elif device.own_runtime and device.device_runtime:
        facts.append(f"modules run by {device.device_runtime}")
    lines.append("_" + ", ".join(facts) + "_")
    if device.built:
        base = f"; base side: {device.base_built}" if device.base_built else "; no base build beside it"
        lines.append(f"\nPR side: {_one_line(device.built)}{_one_line(base)}.")
    if device.cpu_fallback:
        lines.append(f"\n{_one_line(device.cpu_fallback)}.")
    if device.pending or device.running:
        lines.append(f"\n{device.running} running, {device.pending} queued.")
    for reason in device.failed_jobs:
        lines.append(f"\nA job failed: {_one_line(reason)}")
    for reason in device.baseline_failed:
        lines.append(f"\nThe base branch's own run of the merge base failed ({_one_line(reason)}).")
    if device.cancelled and not (device.pending or device.running):
        lines.append(
            f"\n{len(device.cancelled)} job{'s' if len(device.cancelled) != 1 else ''} cancelled "
            f"({_one_line(device.cancelled[-1])})."
        )
    if not device.rows:
        return lines
    shown = [row for row in device.sorted_rows() if row.verdict not in FOLDED]
    folded = [row for row in device.sorted_rows() if row.verdict in FOLDED]
    if d.counts:
        lines += ["", COUNTS_NOTE]
    elif any(row.rounds for row in device.rows) and not d.emulated:
        lines += ["", ROUNDS_NOTE]
    if shown:
        lines += ["", *(_counted_table(shown) if d.counts else _timed_table(shown))]
    else:
        lines += ["", "Nothing changed, failed or needs a look here."]
    if folded and detail < NO_FOLDED_TABLES:
        lines += ["", *_folded(folded)]
    elif folded:
        lines += ["", f"{counts_text(Counter(r.verdict for r in folded))} (on the dashboard)."]
    if detail < NO_FOLDED_TABLES:
        lines += _where_code_changed(device.sorted_rows())
    if d.counts and detail < NO_FOLDED_TABLES:
        lines += _where_counts_moved(shown)
    if not d.emulated and detail < NO_FOLDED_TABLES:
        lines += _against_tflite(device)
    failures = device.failures()
    if failures and detail < NO_FAILURE_OUTPUT:
        lines += [
            "",
            f"<details><summary>{len(failures)} failure{'s' if len(failures) != 1 else ''} on "
            f"{d.name}: last lines of output</summary>",
            "",
        ]
        for row in failures[:MAX_FAILURES_SHOWN]:
            lines += [
                f"**`{row.workload}` {row.scheme} {row.config}**: {label(row.status)}",
                "",
                fence(tail(row.error)),
                "",
            ]
        if len(failures) > MAX_FAILURES_SHOWN:
            lines += [f"and {len(failures) - MAX_FAILURES_SHOWN} more; the dashboard has every one.", ""]
        lines.append("</details>")
    return lines


def _timed_table(rows: list[Row]) -> list[str]:
    lines = [
        "| workload | scheme | config | base ms | PR ms | change | rounds | verdict | TVM/TFLite | correctness |",
        "|---|---|---|--:|--:|--:|--:|---|--:|---|",
    ]
    for row in rows:
        lines.append(
            f"| `{row.workload}` | {row.scheme} | {row.config} | {_ms(row.base_ms)} | {_ms(row.pr_ms)} | "
            f"{row.change_text} | {row.rounds or '–'} | {_verdict(row)} | {row.ratio_text} | {row.correctness_text} |"
        )
    return lines


def _counted_table(rows: list[Row]) -> list[str]:
    """Rows of an instruction-counting board: counts, never times; TVM/TFLite as instructions on the same core."""
    lines = [
        "| workload | scheme | config | base instructions | PR instructions | change | verdict | "
        "TVM/TFLite instructions | correctness |",
        "|---|---|---|--:|--:|--:|---|--:|---|",
    ]
    for row in rows:
        c = row.counts
        ratio = f"{c.ratio:.2f}" if c and c.ratio else "–"
        lines.append(
            f"| `{row.workload}` | {row.scheme} | {row.config} | {_count(c.base if c else None)} | "
            f"{_count(c.pr if c else None)} | {row.change_text} | {_verdict(row)} | {ratio} | {row.correctness_text} |"
        )
    return lines


def _where_counts_moved(rows: list[Row]) -> list[str]:
    """For each changed row: the functions whose counts moved most, and the compiled module's statistics."""
    changed = [r for r in rows if r.counts and r.counts.base and r.counts.pr and r.comparison is not None]
    if not changed:
        return []
    lines = [
        "",
        f"<details><summary>Where the instructions moved ({_items(len(changed))})</summary>",
        "",
        "| workload | scheme | config | function | base | PR | change |",
        "|---|---|---|---|--:|--:|--:|",
    ]
    for row in changed:
        for name, before, after in row.counts.moved_most():
            change = change_percent(after / before - 1) if before else "new"
            lines.append(
                f"| `{row.workload}` | {row.scheme} | {row.config} | `{_one_line(name, 80)}` | {_count(before)} | "
                f"{_count(after)} | {change} |"
            )
    lines += ["", "| workload | scheme | config | kernels | code bytes | compile s |", "|---|---|---|--:|--:|--:|"]
    for row in changed:
        c = row.counts
        lines.append(
            f"| `{row.workload}` | {row.scheme} | {row.config} | {_pair(c.base_kernels, c.kernels, '{:,}')} | "
            f"{_pair(c.base_code_bytes, c.code_bytes, '{:,}')} | {_pair(c.base_compile_s, c.compile_s, '{:.2f}')} |"
        )
    return [*lines, "", "</details>"]


#: Of the functions whose code changed in an item, the comment names this many (the database has them all).
FUNCTIONS_SHOWN = 6


def _items(n: int) -> str:
    return f"{n} item{'s' if n != 1 else ''}"


def _where_code_changed(rows: list[Row]) -> list[str]:
    """For each item whose code differs from the base's: the compiled functions (PrimFuncs, fused kernels)
    whose code changed, from their per-function hashes (bot/child/measure.py)."""
    changed = [r for r in rows if r.changed_functions is not None and not r.same_code and not r.runtime_only]
    runtime_only = sum(r.runtime_only for r in rows)
    lines = []
    if runtime_only:
        lines += ["", f"{_items(runtime_only)} compiled to the same code on both sides, measured because the two "
                  "sides' runtimes differ: a change there is the runtime's."]  # fmt: skip
    if not changed:
        return lines
    lines += [
        "",
        f"<details><summary>Where the code changed ({_items(len(changed))})</summary>",
        "",
        "| workload | scheme | config | compiled functions whose code differs from the base's |",
        "|---|---|---|---|",
    ]
    for row in changed:
        names = row.changed_functions
        named = ", ".join(f"`{_one_line(n, 80)}`" for n in names[:FUNCTIONS_SHOWN]) or "none: module globals only"
        more = f" and {len(names) - FUNCTIONS_SHOWN} more" if len(names) > FUNCTIONS_SHOWN else ""
        lines.append(f"| `{row.workload}` | {row.scheme} | {row.config} | {named}{more} |")
    return [*lines, "", "</details>"]


def _pair(before, after, form: str) -> str:
    """`6 → 7`, or one value when both sides agree."""
    show = [form.format(v) if v is not None else "–" for v in (before, after)]
    return show[1] if show[0] == show[1] else f"{show[0]} → {show[1]}"


#: Up to this many workloads (the smoke suite has 6) the comment shows TVM's best against TFLite as a
#: table; a bigger suite gets one line, and the table is on the dashboard's "TVM against TFLite" page.
BEST_TABLE_ROWS = 12


def _against_tflite(device: DeviceReport) -> list[str]:
    """The story's question per workload: TVM's fastest configuration (default or tuned) against TFLite."""
    rows = [
        {"workload": r.workload, "scheme": r.scheme, "layout": r.layout, "pipeline": r.pipeline, "status": r.status,
         "median_ms": r.pr_ms, "tflite_median_ms": r.tflite_ms, "untuned_tasks": int(r.untuned)}
        for r in device.rows
    ]  # fmt: skip
    bests = [b for b in best_configs(rows) if b.ratio is not None]
    if not bests:
        return []
    beats = sum(1 for b in bests if b.ratio < 1)
    summary = f"TVM's best configuration beats TFLite on {beats} of {len(bests)} workloads"
    if len(bests) > BEST_TABLE_ROWS:
        return ["", f"{summary} (the dashboard's TVM against TFLite page has each)."]
    lines = ["", f"<details><summary>TVM against TFLite: {summary}</summary>", "",
             "| workload | scheme | default ms | tuned ms | TFLite ms | TVM's best | best/TFLite |",
             "|---|---|--:|--:|--:|---|--:|"]  # fmt: skip
    for b in bests:
        lines.append(
            f"| `{b.workload}` | {b.scheme} | {_ms(b.default)} | {_ms(b.tuned)} | {_ms(b.tflite)} | "
            f"{b.best_config} | {b.ratio:.2f} |"
        )
    return [*lines, "", "</details>"]


def _folded(rows: list[Row]) -> list[str]:
    """Rows that need no look, in a block that opens on a click: one line per workload, one column per config."""
    counts = counts_text(Counter(r.verdict for r in rows))
    columns = sorted(
        {(r.scheme, r.layout, r.pipeline) for r in rows},
        key=lambda c: (_order(SCHEMES, c[0]), _order(LAYOUTS, c[1]), _order(PIPELINES, c[2])),
    )
    cells: dict[str, dict[tuple, str]] = {}
    for r in rows:
        cells.setdefault(r.workload, {})[(r.scheme, r.layout, r.pipeline)] = _folded_cell(r)
    unit = "instructions" if any(r.counts is not None for r in rows) else "ms"
    margins = sorted({f"±{r.comparison.threshold * 100:.2g}%" for r in rows
                      if r.verdict == UNCHANGED and r.rounds and r.comparison is not None})  # fmt: skip
    within = f", each 99% interval within {' or '.join(margins)}" if margins else ""
    out = [
        f"<details><summary>{counts}: base {unit} → PR {unit}{within}</summary>",
        "",
        "| workload | " + " | ".join(f"{s} {lay}/{p}" for s, lay, p in columns) + " |",
        "|---|" + "--:|" * len(columns),
    ]
    for workload in sorted(cells):
        out.append(f"| `{workload}` | " + " | ".join(cells[workload].get(c, "") for c in columns) + " |")
    return [*out, "", "</details>"]


def _folded_cell(row: Row) -> str:
    if row.counts is not None:
        if row.verdict == SAME_CODE:
            return "same code"
        return f"{_count(row.counts.base)} → {_count(row.counts.pr)}"
    if row.verdict == SAME_CODE:
        return f"same code {_ms(row.base_ms)}" if row.base_ms is not None else "same code"
    rounds = f" ({row.rounds} rounds)" if row.rounds else ""
    return f"{_ms(row.base_ms)} → {_ms(row.pr_ms)}{rounds}"


def _order(known: tuple, value: str) -> int:
    return known.index(value) if value in known else len(known)


def _one_line(text: str, limit: int = 300) -> str:
    """Outside text on one line of a markdown paragraph: no line breaks, no backticks to break out of."""
    flat = " ".join(text.split()).replace("`", "'")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def comment(report: PrReport, mention: str, dashboard_url: str | None = None, notes: list[str] = ()) -> str:
    """The sticky comment. Kept under GitHub's size limit by dropping, in this order and only as far as
    needed: the failures' output, then the folded tables (their counts stay), then the rows that no
    longer fit (the dashboard has everything)."""
    for detail in (FULL, NO_FAILURE_OUTPUT, NO_FOLDED_TABLES):
        text = _comment(report, mention, dashboard_url, notes, detail)
        if len(text) <= MAX_COMMENT:
            return text
    cut = text[: MAX_COMMENT - 200].rsplit("\n|", 1)[0]
    return cut + "\n\n(cut to fit GitHub's comment size limit: the dashboard has every row)\n"


#: How much of each device a comment shows (see `comment`).
FULL, NO_FAILURE_OUTPUT, NO_FOLDED_TABLES = 0, 1, 2


def _comment(report: PrReport, mention: str, dashboard_url: str | None, notes, detail: int) -> str:
    lines = [marker(mention), f"### perfbot: {report.summary()}", ""]
    if report.closed:
        lines += ["This pull request is closed; its queued jobs were cancelled.", ""]
    if report.awaiting_approval:
        lines.append(
            f"This pull request comes from a fork. Its code runs on shared boards, so it waits until someone "
            f"with write access comments `@{mention} run`, which approves head `{report.head_sha[:10]}` only."
        )
        lines.append("")
    base = ""
    if report.base_sha:
        base = f" against `{report.base_sha[:10]}`, its merge base" + (
            f" with `{report.base_ref}`" if report.base_ref else ""
        )
    lines.append(f"Head `{report.head_sha[:10]}`{base}. TVM/TFLite below 1 means TVM is faster than TFLite.")
    for note in notes:
        lines += ["", note]
    for device in report.devices:
        lines += [""] + device_section(device, detail)
    lines.append("")
    links = []
    if dashboard_url:
        links.append(f"[Dashboard for this PR]({dashboard_url}/pr/{report.number}.html)")
    links.append(f"Comment `@{mention} help` for commands")
    lines.append(" · ".join(links))
    return "\n".join(lines) + "\n"


def status_description(device: DeviceReport) -> str:
    """At most 140 characters, as GitHub allows."""
    if device.state == "pending":
        text = f"{device.running} running, {device.pending} queued"
    elif device.state == "error" and device.cancelled and not device.failed_jobs and not device.rows:
        text = _one_line(device.cancelled[-1])
    elif device.state == "error":
        text = "could not measure: " + (
            _one_line(device.failed_jobs[0]) if device.failed_jobs else "TVM environment broken"
        )
    else:
        text = counts_text(device.counts) or "no results"
    return text[:140]


def refusal(login: str, why: str) -> str:
    return f"@{login} sorry, I can't do that: {why}."
