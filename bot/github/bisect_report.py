"""Telling a pull request that it moved the base branch: one sticky comment per PR, posted once per bisection.

A bisection found by `perfbot bisect` or a bisect job (bot/engine/bisect.py)
names a commit; GitHub's "pull requests associated with a commit" names the
merged PR that brought it. That PR gets one comment, found again by its
hidden marker, that shows every bisection naming it (a second one, of another
device or workload, edits the comment instead of adding one). A bisection is
marked posted in the store once GitHub took the comment, so a second cycle,
or a restarted bot, does not post again; a crash between the two edits the
same comment (found by the marker), never a second one. A commit GitHub knows
no merged PR for (pushed straight to main) gets a note instead, and is not
asked about again.
"""

from __future__ import annotations

import logging

from bot.errors import GitHubError

log = logging.getLogger("perfbot.bisect")


def marker(mention: str) -> str:
    """The hidden line of the bisect comment (not the PR report's: the two are separate comments)."""
    return f"<!-- {mention}:bisect -->"


def trend_url(dashboard_url: str, row: dict) -> str:
    """The trend page of the bisected series (where the dashboard marks the commit)."""
    from dashboard.site import slug

    return f"{dashboard_url}/trend/{slug(row['device'], row['workload'], row['scheme'])}.html"


def render(bisections: list[dict], mention: str, dashboard_url: str | None = None) -> str:
    """The comment: per bisection, what got slower where, the range, and every probe's paired evidence."""
    lines = [marker(mention), "### perfbot: this pull request moved the base branch", ""]
    for row in bisections:
        first = row["first_bad_sha"]
        change = f"{row['change']:+.1%} " if row.get("change") is not None else ""
        lines.append(
            f"**`{row['workload']}`** ({row['scheme']}, {row['layout']}/{row['pipeline']}) on "
            f"**{row['device']}** got {change}slower at `{first[:10]}`, a commit of this pull request. "
            f"Bisected between `{row['good_sha'][:10]}` (good) and `{row['bad_sha'][:10]}` (bad), "
            f"{len(row.get('evidence') or [])} commits measured; started by: "
            f"{row.get('reason') or 'a person'}."
        )
        lines += [
            "",
            "| commit | is | verdict | against good | 99% interval | rounds |",
            "|---|---|---|--:|--:|--:|",
            f"| `{row['good_sha'][:10]}` | good (endpoint) | the known-good build | – | – | – |",
        ]
        for probe in row.get("evidence") or []:
            lines.append(_probe_row(probe, first))
        if dashboard_url:
            lines += ["", f"[Trend of this series]({trend_url(dashboard_url, row)})"]
        lines.append("")
    lines.append(
        "Each commit's TVM was built and timed beside the known-good build on the same device, in alternating "
        "rounds; a commit is bad when it is significantly slower than good by more than half the step (the "
        "level it is nearer to). Skipped commits could not be built or measured."
    )
    return "\n".join(lines) + "\n"


def _probe_row(probe: dict, first_bad: str) -> str:
    sha = probe["sha"]
    role = "**first bad**" if sha == first_bad else {True: "bad", False: "good", None: "skipped"}[probe.get("bad")]
    if probe.get("role") == "endpoint":
        role += " (endpoint)"
    verdict = probe.get("verdict") or ""
    if verdict == "skipped":
        verdict = f"skipped: {_one_line(probe.get('reason') or '')}"
    change = f"{probe['change']:+.1%}" if probe.get("change") is not None else "–"
    low, high = probe.get("ci_low"), probe.get("ci_high")
    interval = f"{low:+.1%} … {high:+.1%}" if low is not None and high is not None else "–"
    return f"| `{sha[:10]}` | {role} | {verdict} | {change} | {interval} | {probe.get('rounds') or '–'} |"


def _one_line(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split()).replace("|", "\\|").replace("`", "'")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def post_found(store, github, settings, on_post=None) -> int:
    """Post every found, unposted bisection on its PR; returns how many were posted.

    GitHub trouble leaves the rest for the next cycle (they stay unposted).
    """
    from bot.github.publish import record_post
    from bot.store import utcnow

    posted = 0
    for row in store.unposted_bisections():
        repo, first = row["repo"], row["first_bad_sha"]
        try:
            number = row["pr"]
            if number is None:
                merged = [p for p in github.pulls_for_commit(repo, first) if p.merged]
                if not merged:
                    store.update_bisection(row["id"], post_note=f"GitHub knows no merged pull request for {first[:10]}")
                    log.info("bisection %s: no merged pull request brought %s; nothing to post", row["id"], first[:10])
                    continue
                number = merged[0].number
                store.update_bisection(row["id"], pr=number)
            others = store.pr_bisections(repo, number)
            body = render(others, settings.mention, settings.dashboard_url)
            known_id = next((o["comment_id"] for o in others if o.get("comment_id")), None)
            comment_id = github.upsert_comment(repo, number, marker(settings.mention), body, known_id=known_id)
        except GitHubError as e:
            log.warning("bisection %s: posting deferred: %s", row["id"], e)
            break  # the others would fail the same way; they stay unposted for the next cycle
        store.update_bisection(row["id"], posted_at=utcnow(), comment_id=comment_id or known_id)
        record_post(store, github, on_post, "comment", repo, number, first, str(comment_id or known_id or "new"), body)
        log.info("bisection %s: posted on %s#%s", row["id"], repo, number)
        posted += 1
    return posted
