"""A PR page: per device, the table the PR comment shows, with links to the trend pages.

What each row says (verdict, change, new failure) is decided by
bot.verdicts, the same decision the comment renders; this only lays it out.
A PR perfbot saw on GitHub is judged by `verdicts.build`; a PR run made at
the terminal (`perfbot run --kind pr --pr N --base-env ...`: no GitHub, no
jobs) by `verdicts.judge` over the PR's own runs, so it shows base against
head with its verdicts too. A device that counts instructions shows counts,
never ms.
"""

from __future__ import annotations

from collections import Counter

from bot import verdicts
from bot.devices import Device, Registry
from bot.verdicts import counts_text, tail
from bot.vocabulary import FAILURES, FASTER, FEWER_INSTRUCTIONS, TIME, instructions, label
from dashboard.devices import counts_note
from dashboard.html import esc, link, page, table
from dashboard.site import Site, ms

STATE_CLASS = {"success": "ok", "failure": "bad", "error": "bad", "pending": "warn"}


def write_page(site: Site, store, registry: Registry, pr: tuple[str, int]) -> None:
    repo, number = pr
    pull = store.pull(repo, number) if repo else None
    built = verdicts.build(store, registry, repo, number) if pull else None
    title = (pull or {}).get("title") or ""
    head = f"<p>{link(site.pull_url(repo, number), esc(f'{repo}#{number}' if repo else f'#{number}'))}"
    head += f": <b>{esc(title)}</b>" if title else ""
    if pull:
        head += (
            f" <span class=muted>({esc(pull.get('state') or '?')}, by {esc(pull.get('author') or '?')}, "
            f"branch {esc(pull.get('head_ref') or '?')})</span>"
        )
    head += "</p>"
    if built is not None and built.devices:
        base = {"sha": built.base_sha, "repo": repo}
        head += (
            f"<p>{esc(built.summary())}. Head {site.commit_link({'sha': built.head_sha, 'repo': repo})}"
            + (
                f" against {site.commit_link(base)}, its merge base with {esc(built.base_ref or 'the base branch')}"
                if built.base_sha
                else ""
            )
            + ". TVM/TFLite below 1 means TVM is faster than TFLite.</p>"
        )
        body = head + "".join(_device(site, device) for device in built.devices)
        summary = built.summary()
    else:
        reports, sides = _terminal(store, registry, repo, number)
        summary = counts_text(Counter(r.verdict for d in reports for r in d.rows)) or "no results"
        body = head + (
            "<p class=muted>perfbot has no record of this pull request from GitHub: these are its runs made with "
            "<code>perfbot run --kind pr</code>, judged as the comment would judge them.</p>"
            f"<p>{esc(summary)}, on {len(reports)} device{'s' if len(reports) != 1 else ''}. {sides}</p>"
        )
        body += "".join(_device(site, device) for device in reports)
    site.pr_summaries[(repo, number)] = (title, summary)
    site.write(site.pr_href(repo, number, 0), page(f"PR #{number}", body, 1))


def _terminal(store, registry: Registry, repo: str, number: int) -> tuple[list[verdicts.DeviceReport], str]:
    """The PR's own runs per device (the newest of each suite), judged by bot.verdicts.judge against the base
    measured beside them, or the base branch's run of the merge base; and what the two sides were, as HTML."""
    newest: dict[str, dict[str, dict]] = {}
    for run in store.pr_runs(number, repo):
        newest.setdefault(run["device"], {})[run["suite"]] = run
    reports, sides = [], set()
    for name, suites in sorted(newest.items()):
        runs = sorted(suites.values(), key=lambda r: r["id"])
        last = runs[-1]
        device = registry.devices.get(name) or Device(
            name, "(not in devices.yml)", last.get("arch") or "?", {"kind": "llvm"},
            emulated=bool(last.get("emulated")), metric=last.get("metric") or TIME,
        )  # fmt: skip
        results = [row for run in runs for row in store.results(run["id"])]
        base = store.results_at(name, last["base_sha"], "base") if last.get("base_sha") else []
        rows = verdicts.judge(store, name, results, base, emulated=device.emulated)
        reports.append(verdicts.DeviceReport(device, rows=rows, tvm_version=last.get("tvm_version"),
                                             device_runtime=last.get("device_runtime"), emulator=last.get("emulator")))  # fmt: skip
        sides.add(_sides(last))
    return reports, " ".join(sorted(sides))


def _sides(run: dict) -> str:
    """What was measured on each side of a PR run: the environments and commits it recorded."""

    def side(env: str | None, sha: str | None) -> str:
        text = f"<code>{esc(env or '?')}</code>"
        return text + (f" ({esc(sha[:10])})" if sha else "")

    if not run.get("paired"):
        return f"Head {side(run.get('env'), run.get('sha'))}, measured without its base beside it."
    return f"Head {side(run.get('env'), run.get('sha'))} against base {side(run.get('base_env'), run.get('base_sha'))}."


def _device(site: Site, report: verdicts.DeviceReport) -> str:
    d = report.device
    counts = d.counts or d.name in site.counting
    out = (
        f"<h2>{esc(d.name)}{site.tag(d.name) or ('<span class=tag>emulated</span>' if d.emulated else '')} "
        f'<span class="{STATE_CLASS.get(report.state, "")}">{esc(report.state)}</span></h2>'
    )
    facts = [d.description or d.arch, f"{d.threads} thread{'s' if d.threads != 1 else ''}"]
    if report.tvm_version:
        facts.append(f"TVM {report.tvm_version}")
    if counts:
        facts.append("instruction counts on emulated AArch64, not time")
        facts += [report.emulator] if report.emulator else []
    elif d.emulated or d.name in site.emulated:
        facts.append("emulated: latency recorded, never judged")
    out += f"<p class=muted>{esc(', '.join(facts))}</p>" + (counts_note(d.name) if counts else "")
    notes = []
    if report.pending or report.running:
        notes.append(f"{report.running} running, {report.pending} queued.")
    notes += [f"A job failed: {reason}" for reason in report.failed_jobs]
    notes += [
        f"The baseline run failed ({reason}): no comparison with the base branch." for reason in report.baseline_failed
    ]
    if report.cancelled and not (report.pending or report.running):
        notes.append(f"{len(report.cancelled)} job(s) cancelled ({report.cancelled[-1]}).")
    out += "".join(f"<p class=warn>{esc(n)}</p>" for n in notes)
    if not report.rows:
        return out
    out += _counted_table(site, d.name, report) if counts else _timed_table(site, d.name, report)
    failures = report.failures()
    if failures:
        out += f"<details open><summary>{len(failures)} failure(s) on {esc(d.name)}: last lines of output</summary>"
        for row in failures:
            out += (
                f"<p><code>{esc(row.workload)}</code> {esc(row.scheme)} {esc(row.config)}: "
                f"<span class=bad>{esc(label(row.status))}</span></p>"
                f"<pre>{esc(tail(row.error))}</pre>"
            )
        out += "</details>"
    return out


def _name(site: Site, device: str, row: verdicts.Row) -> str:
    key = (device, row.workload, row.scheme)
    name = f"<code>{esc(row.workload)}</code>"
    return link(site.trend_href(key, 1), name) if key in site.series or key in site.pr_points else name


def _timed_table(site: Site, device: str, report: verdicts.DeviceReport) -> str:
    cells = [
        [_name(site, device, row), esc(row.scheme), esc(row.config), ms(row.base_ms), ms(row.pr_ms),
         esc(row.change_text), _verdict(row), row.ratio_text, esc(row.correctness_text)]
        for row in report.sorted_rows()
    ]  # fmt: skip
    return table(
        ["workload", "scheme", "config", "base ms", "PR ms", "change", "verdict", "TVM/TFLite", "correctness"],
        cells,
        numeric=(3, 4, 5, 7),
    )


def _counted_table(site: Site, device: str, report: verdicts.DeviceReport) -> str:
    """Rows of a counting board: both sides' exact counts, the change, and the functions whose counts moved most."""
    cells = []
    for row in report.sorted_rows():
        c = row.counts
        moved = "<br>".join(
            f"<code>{esc(name)}</code> {esc(instructions(before, '–'))} → {esc(instructions(after, '–'))}"
            for name, before, after in (c.moved_most() if c and row.comparison is not None else [])
        )
        cells.append(
            [_name(site, device, row), esc(row.scheme), esc(row.config), _count(c.base if c else None),
             _count(c.pr if c else None), esc(row.change_text), _verdict(row),
             f"{c.ratio:.2f}" if c and c.ratio else "–", esc(row.correctness_text), moved]
        )  # fmt: skip
    return table(
        ["workload", "scheme", "config", "base instructions", "PR instructions", "change", "verdict",
         "TVM/TFLite instructions", "correctness", "functions that moved most"],
        cells,
        numeric=(3, 4, 5, 7),
    )  # fmt: skip


def _count(value: int | None) -> str:
    return f"{value:,}" if value is not None else "–"


def _verdict(row: verdicts.Row) -> str:
    word = esc(row.verdict_text)
    if row.alarming or row.verdict in FAILURES:
        return f'<span class="bad">{word}</span>'
    if row.verdict in (FASTER, FEWER_INSTRUCTIONS):
        return f'<span class="ok">{word}</span>'
    return word
