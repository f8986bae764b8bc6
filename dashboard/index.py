"""The index: devices x suites at a glance.

What the trends plot (base-branch history, local tries, or both), the
newest base-branch run of each device and suite, what fails in it, the worst
regressions the change points found, the first bad commits bisections
found, per device TVM's best against TFLite (with its page and the
break-down page), the pull requests, and the newest `perfbot run` tries.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from dashboard.devices import KINDS, best_rows
from dashboard.html import esc, link, page, table
from dashboard.site import Site, config_of, ms, status_cell, when

MAX_REGRESSIONS = 15
MAX_LOCAL_ROWS = 200


def write_page(site: Site, runs: list[dict], local: list[tuple[dict, list[dict]]]) -> None:
    latest: dict[tuple, dict] = {}
    counts: Counter = Counter()
    for run in sorted(runs, key=lambda r: (r.get("commit_time") or r.get("started_at") or "", r["id"])):
        latest[(run["device"], run["suite"])] = run
        counts[(run["device"], run["suite"])] += 1
    newest = {run["id"] for run in latest.values()}
    in_newest: dict[int, list[tuple[tuple, dict]]] = defaultdict(list)  # run id -> (series key, result)
    for key, rows in site.series.items():
        for r in rows:
            if r["run_id"] in newest:
                in_newest[r["run_id"]].append((key, r))
    body = _plots(site, len(runs))
    if latest:
        body += _overview(site, latest, counts, in_newest) + _failing(site, latest, in_newest) + _regressions(site)
    body += _bisections(site) + _devices(site) + _pulls(site) + _local(site, local)
    site.write("index.html", page("perfbot: TVM quantized inference on ARM", body))


def _overview(site: Site, latest: dict, counts: Counter, in_newest: dict) -> str:
    cells = []
    for (device, suite), run in sorted(latest.items()):
        statuses = Counter(r["status"] for _, r in in_newest[run["id"]])
        ok, bad = statuses.pop("ok", 0), sum(statuses.values())
        status = f'<span class="ok">{ok} ok</span>'
        if bad:
            status += ", " + ", ".join(f'<span class="bad">{n} {esc(s)}</span>' for s, n in sorted(statuses.items()))
        cells.append(
            [
                esc(device) + site.tag(device),
                esc(suite),
                site.commit_link(run),
                esc(when(run)),
                esc(run.get("tvm_version") or "?"),
                status,
                str(counts[(device, suite)]),
            ]
        )
    return "<h2>Devices and suites: the newest base-branch run</h2>" + table(
        ["device", "suite", "commit", "commit time", "TVM", "results", "runs"], cells, numeric=(6,)
    )


def _failing(site: Site, latest: dict, in_newest: dict) -> str:
    cells = []
    for run in sorted(latest.values(), key=lambda r: (r["device"], r["suite"])):
        for key, r in sorted(in_newest[run["id"]], key=lambda item: (item[0], config_of(item[1]))):
            if r["status"] == "ok":
                continue
            error = (r.get("error") or "").strip().splitlines()
            cells.append(
                [
                    link(site.trend_href(key, 0), site.series_name(key)),
                    esc(config_of(r)),
                    f'<span class="bad">{esc(r["status"])}</span>',
                    _since(site, key, r),
                    esc(error[-1][:200]) if error else "",
                ]
            )
    head = "<h2>Failing in the newest run</h2>"
    return head + (
        table(["series", "config", "status", "since", "last line of output"], cells)
        if cells
        else "<p>Nothing fails.</p>"
    )


def _since(site: Site, key: tuple, failed: dict) -> str:
    """The first commit of the current run of failures of this config."""
    first = failed
    for r in reversed([r for r in site.series[key] if config_of(r) == config_of(failed)]):
        if r["status"] == "ok":
            break
        first = r
    return site.commit_link(first)


def _regressions(site: Site) -> str:
    worst = sorted(site.regressions, key=lambda item: -item[0])[:MAX_REGRESSIONS]
    head = (
        "<h2>Worst regressions</h2><p class=muted>Change points in base-branch history where latency rose, and "
        "steps where an emulated board's instruction count rose, largest first (emulated latency left out).</p>"
    )
    if not worst:
        return head + "<p>None found.</p>"
    cells = [
        [
            link(site.trend_href(key, 0), site.series_name(key)),
            esc(config),
            site.commit_link(row),
            esc(when(row)),
            f'<span class="bad">{change:+.1%}{" instructions" if key[0] in site.counting else ""}</span>',
        ]
        for change, key, config, row in worst
    ]
    return head + table(
        ["series", "config", "first commit of the new level", "commit time", "change"], cells, numeric=(4,)
    )


def _plots(site: Site, base_runs: int) -> str:
    """Say what the trend pages draw: a first dashboard of local tries must not look like missing history."""
    local_runs = len({r["run_id"] for rows in site.local.values() for r in rows})
    tries = (
        f"{local_runs} local run{'s' if local_runs != 1 else ''} of <code>perfbot run</code> (no base-branch "
        f"commit), by when {'they' if local_runs != 1 else 'it'} ran, labelled with the TVM version and environment"
    )
    if base_runs and local_runs:
        text = f"The trends plot {base_runs} base-branch runs by commit time and, as their own series beside them, {tries}."
    elif base_runs:
        text = f"The trends plot {base_runs} base-branch runs by commit time."
    elif local_runs:
        text = (
            f"There is no base-branch history yet, so the trends plot {tries}. Base-branch history comes from "
            f"<code>perfbot run --kind base --repo OWNER/NAME --sha SHA</code>, the bot, or "
            f"<code>perfbot history</code>."
        )
    else:
        text = "There are no base-branch runs or local runs yet: only pull requests."
    return f"<p>{text} {len(site.keys)} trend page{'s' if len(site.keys) != 1 else ''}, one per device, workload and scheme.</p>"


def _bisections(site: Site) -> str:
    found = sorted((b for rows in site.bisections.values() for b in rows), key=lambda b: -(b.get("id") or 0))
    if not found:
        return ""
    cells = []
    for b in found:
        key = (b["device"], b["workload"], b["scheme"])
        repo = b.get("repo") or site.repo
        cells.append(
            [
                link(site.trend_href(key, 0) if key in site.keys else None, site.series_name(key)),
                esc(f"{b['layout']}/{b['pipeline']}"),
                site.commit_link({"sha": b["first_bad_sha"], "repo": repo}),
                link(site.pull_url(repo, b.get("pr")), f"#{int(b['pr'])}") if b.get("pr") else "–",
                f"{b['change']:+.1%}" if b.get("change") is not None else "–",
            ]
        )
    return "<h2>Commits that moved the base branch</h2><p class=muted>First bad commits found by bisection.</p>" + (
        table(["series", "config", "first bad commit", "PR", "change"], cells, numeric=(4,))
    )


def _devices(site: Site) -> str:
    """Per device and suite, how TVM's best configuration fares against TFLite; the tables are on the device pages."""
    cells = []
    for device in site.devices:
        tag = site.tag(device)
        fewer = " (fewer instructions)" if device in site.counting else ""
        for kind, title in KINDS:
            for suite, (run, bests) in sorted(best_rows(site, device, kind).items()):
                rated = [b for b in bests if b.ratio]
                faster = sum(1 for b in rated if b.ratio < 1)
                cells.append(
                    [
                        link(site.device_href(device, 0), esc(device)) + tag,
                        esc(suite),
                        esc(title) + ": " + site.run_name(site.run_rows[run][0], kind),
                        f"{faster} of {len(rated)}{fewer}" if rated else "–",
                        link(site.device_href(device, 0), "TVM against TFLite")
                        + " · "
                        + link(
                            site.breakdown_href(device, 0), "where the " + ("instructions go" if fewer else "time goes")
                        ),
                    ]
                )
    if not cells:
        return ""
    return (
        "<h2>TVM against TFLite, per device</h2><p class=muted>For each workload the device's page picks TVM's "
        "fastest configuration (layout and pipeline; on a board that counts instructions, the one with the fewest) "
        "and says which; under 1 means TVM is faster (or executes fewer instructions).</p>"
        + table(["device", "suite", "run", "TVM's best ahead of TFLite", ""], cells, numeric=(3,))
    )


def _pulls(site: Site) -> str:
    if not site.pr_numbers:
        return ""
    cells = []
    for repo, number in site.pr_numbers:
        title, summary = site.pr_summaries.get((repo, number), ("", ""))
        name = f"{repo}#{number}" if repo else f"#{number}"
        cells.append([link(site.pr_href(repo, number, 0), esc(name)), esc(title), esc(summary)])
    return "<h2>Pull requests</h2>" + table(["PR", "title", "perfbot says"], cells)


def _local(site: Site, local: list[tuple[dict, list[dict]]]) -> str:
    if not local:
        return ""
    cells = []
    for run, results in local:
        for r in results:
            status = status_cell(r)
            key = (run["device"], r["workload"], r["scheme"])
            cells.append(
                [
                    str(run["run_id"]),
                    esc(run["device"]),
                    esc(when(run)),
                    esc(run.get("tvm_version") or "?"),
                    link(site.trend_href(key, 0) if key in site.keys else None, f"<code>{esc(r['workload'])}</code>"),
                    esc(r.get("scheme")),
                    esc(config_of(r)),
                    status,
                    ms(r.get("median_ms")),
                    ms(r.get("tflite_median_ms")),
                    f"{r['ratio']:.2f}" if r.get("ratio") else "–",
                ]
            )
    return (
        "<h2>Newest local runs</h2><p class=muted>Tries with <code>perfbot run</code>: not base-branch "
        "history, so drawn in the trends as their own series, by when they ran.</p>"
        + table(
            [
                "run",
                "device",
                "started",
                "TVM",
                "workload",
                "scheme",
                "config",
                "status",
                "TVM ms",
                "TFLite ms",
                "TVM/TFLite",
            ],
            cells[:MAX_LOCAL_ROWS],
            numeric=(0, 8, 9, 10),
        )
    )
