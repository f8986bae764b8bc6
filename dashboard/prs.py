"""A PR page: per device, the table the PR comment shows, with links to the trend pages.

What each row says (verdict, change, new failure) is decided by
bot.verdicts, the same decision the comment renders; this only lays it out.
"""

from __future__ import annotations

from bot import verdicts
from bot.devices import Registry
from bot.verdicts import tail
from bot.vocabulary import FAILURES, FASTER, label
from dashboard.html import esc, link, page, table
from dashboard.site import Site, config_of, ms

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
        body = head + _raw(site, repo, number)
        summary = "results only (no PR record)"
    site.pr_summaries[(repo, number)] = (title, summary)
    site.write(site.pr_href(repo, number, 0), page(f"PR #{number}", body, 1))


def _device(site: Site, report: verdicts.DeviceReport) -> str:
    d = report.device
    emulated = d.emulated or d.name in site.emulated
    out = (
        f"<h2>{esc(d.name)}{'<span class=tag>emulated</span>' if emulated else ''} "
        f'<span class="{STATE_CLASS.get(report.state, "")}">{esc(report.state)}</span></h2>'
    )
    facts = [d.description or d.arch, f"{d.threads} thread{'s' if d.threads != 1 else ''}"]
    if report.tvm_version:
        facts.append(f"TVM {report.tvm_version}")
    if emulated:
        facts.append("emulated: latency recorded, never judged")
    out += f"<p class=muted>{esc(', '.join(facts))}</p>"
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
    rows = report.sorted_rows()
    cells = []
    for row in rows:
        key = (d.name, row.workload, row.scheme)
        name = f"<code>{esc(row.workload)}</code>"
        if key in site.series or key in site.pr_points:
            name = link(site.trend_href(key, 1), name)
        cells.append(
            [
                name,
                esc(row.scheme),
                esc(row.config),
                ms(row.base_ms),
                ms(row.pr_ms),
                esc(row.change_text),
                _verdict(row),
                row.ratio_text,
                esc(row.correctness_text),
            ]
        )
    out += table(
        ["workload", "scheme", "config", "base ms", "PR ms", "change", "verdict", "TVM/TFLite", "correctness"],
        cells,
        numeric=(3, 4, 5, 7),
    )
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


def _verdict(row: verdicts.Row) -> str:
    word = esc(row.verdict_text)
    if row.alarming or row.verdict in FAILURES:
        return f'<span class="bad">{word}</span>'
    if row.verdict == FASTER:
        return f'<span class="ok">{word}</span>'
    return word


def _raw(site: Site, repo: str, number: int) -> str:
    """PR results the bot has no PR record for (e.g. `perfbot run --kind pr`): the results as recorded."""
    cells = []
    for key in site.keys:
        for r in site.pr_points.get(key, []):
            if r["pr"] == number and (site.repo_of(r) or "") == repo:
                status = esc(r["status"]) if r["status"] == "ok" else f'<span class="bad">{esc(r["status"])}</span>'
                cells.append(
                    [
                        link(site.trend_href(key, 1), f"<code>{esc(r['workload'])}</code>"),
                        esc(r["scheme"]),
                        esc(config_of(r)),
                        esc(key[0]),
                        site.commit_link(r),
                        status,
                        ms(r.get("median_ms")),
                        f"{r['ratio']:.2f}" if r.get("ratio") else "–",
                        f"<pre>{esc(tail(r['error']))}</pre>" if r.get("error") else "",
                    ]
                )
    return (
        "<p class=muted>perfbot has no record of this pull request (it was not seen on GitHub), so there is no "
        "comparison with its merge base; these are its recorded results.</p>"
        + table(
            ["workload", "scheme", "config", "device", "head", "status", "PR ms", "TVM/TFLite", "error"],
            cells,
            numeric=(6, 7),
        )
    )
