"""The index: devices x suites at a glance.

The newest base-branch run of each device and suite, what fails in it, the
worst regressions the change points found, the TVM/TFLite ratios of that
run, the pull requests, and the newest `perfbot run` tries.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from dashboard.html import esc, link, page, table
from dashboard.site import Site, config_of, ms, when

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
    body = _overview(site, latest, counts, in_newest) if latest else "<p>No base-branch runs yet.</p>"
    body += _failing(site, latest, in_newest)
    body += _regressions(site)
    body += _ratios(site, latest, in_newest)
    body += _pulls(site) + _local(site, local)
    site.write("index.html", page("perfbot: TVM quantized inference on ARM", body))


def _overview(site: Site, latest: dict, counts: Counter, in_newest: dict) -> str:
    cells = []
    for (device, suite), run in sorted(latest.items()):
        statuses = Counter(r["status"] for _, r in in_newest[run["id"]])
        ok, bad = statuses.pop("ok", 0), sum(statuses.values())
        status = f'<span class="ok">{ok} ok</span>'
        if bad:
            status += ", " + ", ".join(f'<span class="bad">{n} {esc(s)}</span>' for s, n in sorted(statuses.items()))
        tag = '<span class="tag">emulated</span>' if run.get("emulated") or device in site.emulated else ""
        cells.append(
            [
                esc(device) + tag,
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
        "<h2>Worst regressions</h2><p class=muted>Change points in base-branch history where latency rose, "
        "largest first (emulated devices left out).</p>"
    )
    if not worst:
        return head + "<p>None found.</p>"
    cells = [
        [
            link(site.trend_href(key, 0), site.series_name(key)),
            esc(config),
            site.commit_link(row),
            esc(when(row)),
            f'<span class="bad">{change:+.1%}</span>',
        ]
        for change, key, config, row in worst
    ]
    return head + table(
        ["series", "config", "first commit of the new level", "commit time", "change"], cells, numeric=(4,)
    )


def _ratios(site: Site, latest: dict, in_newest: dict) -> str:
    out = (
        "<h2>TVM against TFLite in the newest run</h2><p class=muted>TVM median / TFLite median: under 1 "
        "means TVM is faster.</p>"
    )
    for (device, suite), run in sorted(latest.items()):
        results = in_newest[run["id"]]
        if not results:
            continue
        configs = sorted({config_of(r) for _, r in results})
        grid: dict[tuple, dict[str, dict]] = defaultdict(dict)
        for key, r in results:
            grid[key][config_of(r)] = r
        cells = []
        for key in sorted(grid):
            row = [link(site.trend_href(key, 0), f"<code>{esc(key[1])}</code>"), esc(key[2])]
            for config in configs:
                r = grid[key].get(config)
                if r is None:
                    row.append("")
                elif r["status"] != "ok":
                    row.append(f'<span class="bad">{esc(r["status"])}</span>')
                elif r.get("ratio"):
                    row.append(f'<span class="{"ok" if r["ratio"] < 1 else ""}">{r["ratio"]:.2f}</span>')
                else:
                    row.append(ms(r.get("median_ms")) + " ms")
            cells.append(row)
        tag = '<span class="tag">emulated</span>' if device in site.emulated else ""
        out += f"<h3>{esc(device)}{tag} · {esc(suite)}</h3>" + table(
            ["workload", "scheme", *configs], cells, numeric=tuple(range(2, 2 + len(configs)))
        )
    return out


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
            status = esc(r["status"]) if r["status"] == "ok" else f'<span class="bad">{esc(r["status"])}</span>'
            cells.append(
                [
                    str(run["id"]),
                    esc(run["device"]),
                    esc(when(run)),
                    esc(run.get("tvm_version") or "?"),
                    f"<code>{esc(r['workload'])}</code>",
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
        "history, so not in the trends.</p>"
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
