"""Markdown for the sticky PR comment, and one-line descriptions for commit statuses.

Rendering only: what to say is decided in bot/verdicts.py. Text that comes
from outside (error output, PR titles) is shown inside code fences longer than
any run of backticks in it, so it cannot break out of its block.
"""

from __future__ import annotations

import re

from bot.verdicts import DeviceReport, PrReport, Row, counts_text, tail
from bot.vocabulary import STATE_ICONS, label

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
    return "–" if value is None else f"{value:,.2f}"


def _verdict(row: Row) -> str:
    return f"**{row.verdict_text}**" if row.alarming else row.verdict_text


def device_section(device: DeviceReport, details: bool = True) -> list[str]:
    d = device.device
    head = f"#### {STATE_ICONS[device.state]} `{d.name}`: {d.description or d.arch}"
    lines = [head]
    facts = [d.arch, f"{d.threads} thread{'s' if d.threads != 1 else ''}"]
    if device.tvm_version:
        facts.append(f"TVM {device.tvm_version}")
    if d.emulated:
        facts.append("emulated: latency recorded, never judged")
    lines.append("_" + ", ".join(facts) + "_")
    if device.pending or device.running:
        lines.append(f"\n{device.running} running, {device.pending} queued.")
    for reason in device.failed_jobs:
        lines.append(f"\nA job failed: {_one_line(reason)}")
    for reason in device.baseline_failed:
        lines.append(f"\nThe baseline run failed ({_one_line(reason)}): no comparison with the base branch.")
    if device.cancelled and not (device.pending or device.running):
        lines.append(
            f"\n{len(device.cancelled)} job{'s' if len(device.cancelled) != 1 else ''} cancelled "
            f"({_one_line(device.cancelled[-1])})."
        )
    if not device.rows:
        return lines
    lines += [
        "",
        "| workload | scheme | config | base ms | PR ms | change | verdict | TVM/TFLite | correctness |",
        "|---|---|---|--:|--:|--:|---|--:|---|",
    ]
    for row in device.sorted_rows():
        lines.append(
            f"| `{row.workload}` | {row.scheme} | {row.config} | {_ms(row.base_ms)} | {_ms(row.pr_ms)} | "
            f"{row.change_text} | {_verdict(row)} | {row.ratio_text} | {row.correctness_text} |"
        )
    failures = device.failures()
    if failures and details:
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


def _one_line(text: str, limit: int = 300) -> str:
    """Outside text on one line of a markdown paragraph: no line breaks, no backticks to break out of."""
    flat = " ".join(text.split()).replace("`", "'")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def comment(
    report: PrReport, mention: str, dashboard_url: str | None = None, notes: list[str] = (), details: bool = True
) -> str:
    lines = [marker(mention), f"### perfbot: {report.summary()}", ""]
    if report.closed:
        lines += ["This pull request is closed; its queued jobs were cancelled.", ""]
    if report.awaiting_approval:
        lines.append(
            f"This pull request comes from a fork. Its code runs on shared boards, so it waits until someone "
            f"with write access comments `@{mention} run`, which approves head `{report.head_sha[:10]}` only."
        )
        lines.append("")
    base = f" against `{report.base_sha[:10]}`, its merge base with `{report.base_ref}`" if report.base_sha else ""
    lines.append(f"Head `{report.head_sha[:10]}`{base}. TVM/TFLite below 1 means TVM is faster than TFLite.")
    for note in notes:
        lines += ["", note]
    for device in report.devices:
        lines += [""] + device_section(device, details)
    lines.append("")
    links = []
    if dashboard_url:
        links.append(f"[Dashboard for this PR]({dashboard_url}/pr/{report.number}.html)")
    links.append(f"Comment `@{mention} help` for commands")
    lines.append(" · ".join(links))
    text = "\n".join(lines) + "\n"
    if len(text) > MAX_COMMENT and details:  # a huge suite full of failures: drop their output first
        return comment(report, mention, dashboard_url, notes, details=False)
    if len(text) > MAX_COMMENT:
        text = text[: MAX_COMMENT - 200].rsplit("\n|", 1)[0] + "\n\n(cut to fit GitHub's comment size limit)\n"
    return text


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
