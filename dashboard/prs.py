"""A PR page: per device, the table the PR comment shows, with links to the trend pages.

What each row says (verdict, change, new failure) is decided by
bot.verdicts, the same decision the comment renders; this only lays it out.
"""

from __future__ import annotations

from bot import verdicts
from bot.devices import Registry
from bot.github.comment import LABELS, VERDICT_ORDER, summary_line, tail
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
            f"<p>{esc(summary_line(built))}. Head {site.commit_link({'sha': built.head_sha, 'repo': repo})}"
            + (
                f" against {site.commit_link(base)}, its merge base with {esc(built.base_ref or 'the base branch')}"
                if built.base_sha
                else ""
            )
            + ". TVM/TFLite below 1 means TVM is faster than TFLite.</p>"
        )
        body = head + "".join(_device(site, device) for device in built.devices)
        summary = summary_line(built)
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
    rows = sorted(
        report.rows,
        key=lambda r: (
            VERDICT_ORDER.index(r.verdict) if r.verdict in VERDICT_ORDER else 99,
            r.workload,
            r.scheme,
            r.config,
        ),
    )
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
                esc(_change(row)),
                _verdict(row),
                f"{row.ratio:.2f}" if row.ratio is not None else "–",
                esc(_correctness(row)),
            ]
        )
    out += table(
        ["workload", "scheme", "config", "base ms", "PR ms", "change", "verdict", "TVM/TFLite", "correctness"],
        cells,
        numeric=(3, 4, 5, 7),
    )
    failures = [r for r in rows if r.status != "ok" and r.error]
    if failures:
        out += f"<details open><summary>{len(failures)} failure(s) on {esc(d.name)}: last lines of output</summary>"
        for row in failures:
            out += (
                f"<p><code>{esc(row.workload)}</code> {esc(row.scheme)} {esc(row.config)}: "
                f"<span class=bad>{esc(LABELS.get(row.status, row.status))}</span></p>"
                f"<pre>{esc(tail(row.error))}</pre>"
            )
        out += "</details>"
    return out


def _change(row: verdicts.Row) -> str:
    c = row.comparison
    if c is None or c.change is None:
        return "–"
    text = f"{c.change:+.1%}"
    if c.ci_low is not None and c.ci_high is not None:
        text += f" [{c.ci_low:+.1%}, {c.ci_high:+.1%}]"
    return text


def _verdict(row: verdicts.Row) -> str:
    word = esc(LABELS.get(row.verdict, row.verdict))
    if row.new_failure:
        return f'<span class="bad">new {word}</span>'
    if row.verdict in ("slower", "wrong_result", *verdicts.FAILURES):
        return f'<span class="bad">{word}</span>'
    if row.verdict == "faster":
        return f'<span class="ok">{word}</span>'
    return word


def _correctness(row: verdicts.Row) -> str:
    if row.max_abs_diff is None:
        return "–"
    text = f"{'✓' if row.status != 'wrong_result' else '✗'} max diff {row.max_abs_diff:g}"
    if row.mismatch_fraction:
        text += f", {row.mismatch_fraction * 100:.2g}% differ"
    return text


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
