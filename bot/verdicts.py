"""Decide what a PR's report says: per device and item, PR against its merge base.

Only deciding happens here; bot/github/comment.py renders it as markdown and
dashboard/prs.py as HTML, both with the cell texts of `Row`. The rules:

- a result that is not `ok` is its status (wrong_result, compile_error, ...);
  it is *new* when the same item was ok at the merge base;
- latency is compared with bot.stats.compare over every sample of every
  complete run of that commit on that device (reruns add samples), with the
  base branch's own run-to-run noise for that series;
- emulated devices never get a slower/faster verdict (their latency says
  nothing about hardware), but wrong results and compile errors count fully;
- a device's commit status is failure for a wrong result, a new failure, or
  a verdict of slower; pending while its jobs run, the baseline jobs it waits
  for included; error when the TVM environment could not be built, a job
  failed, or every job was cancelled with nothing measured; success otherwise.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from bot import stats
from bot.devices import Device, Registry
from bot.vocabulary import (
    ALARMS,
    EMULATED,
    ENVIRONMENT_ERROR,
    FAILURES,
    INCONCLUSIVE,
    MIN_EFFECT,
    NO_BASELINE,
    OK,
    SLOWER,
    SUMMARY_ORDER,
    TIMED,
    WRONG_RESULT,
    attention,
    counted,
    label,
)

#: Of each failure's output, reports show this many last lines and characters.
ERROR_LINES = 12
ERROR_CHARS = 1500


@dataclass
class Row:
    workload: str
    scheme: str
    layout: str
    pipeline: str
    status: str
    base_status: str | None
    base_ms: float | None
    pr_ms: float | None
    ratio: float | None
    max_abs_diff: float | None
    mismatch_fraction: float | None
    error: str | None
    comparison: stats.Comparison | None
    emulated: bool

    @property
    def config(self) -> str:
        return f"{self.layout}/{self.pipeline}"

    @property
    def new_failure(self) -> bool:
        return self.status in FAILURES and self.base_status == OK

    @property
    def verdict(self) -> str:
        """One word for the table: the failure, or the latency verdict."""
        if self.status != OK:
            return self.status
        if self.comparison is None:
            return NO_BASELINE if self.base_ms is None else INCONCLUSIVE
        if self.emulated:
            return EMULATED
        return self.comparison.verdict

    @property
    def alarming(self) -> bool:
        """Worth bold type: a slower or wrong result, or a failure that is new in this PR."""
        return self.verdict in ALARMS or self.new_failure

    @property
    def verdict_text(self) -> str:
        """The verdict as a reviewer reads it: `new compile error`, `wrong result`, `slower`."""
        return f"new {label(self.verdict)}" if self.new_failure else label(self.verdict)

    @property
    def change_text(self) -> str:
        """`+12.3% [+10.1, +14.0]`: the change and its interval, or `–`."""
        c = self.comparison
        if c is None or c.change is None:
            return "–"
        text = f"{c.change * 100:+.1f}%"
        if c.ci_low is not None and c.ci_high is not None:
            text += f" [{c.ci_low * 100:+.1f}, {c.ci_high * 100:+.1f}]"
        return text

    @property
    def correctness_text(self) -> str:
        """`✓ max diff 1` or `✗ max diff 37, 41% differ`: how far TVM's answer is from TFLite's."""
        if self.max_abs_diff is None:
            return "–"
        text = f"{'✗' if self.status == WRONG_RESULT else '✓'} max diff {self.max_abs_diff:g}"
        if self.mismatch_fraction:
            text += f", {self.mismatch_fraction * 100:.2g}% differ"
        return text

    @property
    def ratio_text(self) -> str:
        return "–" if self.ratio is None else f"{self.ratio:.2f}"


@dataclass
class DeviceReport:
    device: Device
    rows: list[Row] = field(default_factory=list)
    pending: int = 0  # queued jobs: the PR head's and the baseline's it waits for
    running: int = 0
    failed_jobs: list[str] = field(default_factory=list)
    tvm_version: str | None = None
    cancelled: list[str] = field(default_factory=list)  # reasons of the head's cancelled jobs
    baseline_failed: list[str] = field(default_factory=list)

    @property
    def counts(self) -> Counter:
        return Counter(r.verdict for r in self.rows)

    def sorted_rows(self) -> list[Row]:
        """What needs attention first, then by workload, scheme and configuration."""
        return sorted(self.rows, key=lambda r: (attention(r.verdict), r.workload, r.scheme, r.config))

    def failures(self) -> list[Row]:
        """Rows that did not run clean and have output to show, in table order."""
        return [r for r in self.sorted_rows() if r.status != OK and r.error]

    @property
    def state(self) -> str:
        if self.pending or self.running:
            return "pending"
        if any(r.status == ENVIRONMENT_ERROR for r in self.rows) or self.failed_jobs:
            return "error"
        if self.cancelled and not self.rows:
            return "error"
        if any(r.status == WRONG_RESULT or r.new_failure or r.verdict == SLOWER for r in self.rows):
            return "failure"
        return "success"


@dataclass
class PrReport:
    repo: str
    number: int
    title: str
    head_sha: str
    base_ref: str | None
    base_sha: str | None
    devices: list[DeviceReport]
    awaiting_approval: bool = False
    closed: bool = False

    @property
    def counts(self) -> Counter:
        total: Counter = Counter()
        for device in self.devices:
            total.update(device.counts)
        return total

    @property
    def jobs_pending(self) -> int:
        return sum(d.pending + d.running for d in self.devices)

    def summary(self) -> str:
        """One line for the top of the comment and the PR page: "2 slower, 1 wrong result, on 2 devices"."""
        if not self.devices:
            return "waiting for approval to run" if self.awaiting_approval else "nothing to run"
        text = counts_text(self.counts) or "no results yet"
        text += f", on {len(self.devices)} device{'s' if len(self.devices) != 1 else ''}"
        if self.jobs_pending:
            text += f"; {self.jobs_pending} job{'s' if self.jobs_pending != 1 else ''} pending"
        return text


def counts_text(counts: Counter) -> str:
    """Counts of verdicts in reading order: "2 slower, 1 wrong result, 14 unchanged"."""
    return ", ".join(counted(counts[v], v) for v in SUMMARY_ORDER if counts.get(v))


def tail(text: str, lines: int = ERROR_LINES, chars: int = ERROR_CHARS) -> str:
    """The last lines of an error output: where Python and TVM put the message that matters."""
    kept = text.strip().splitlines()[-lines:]
    out = "\n".join(kept)
    return out if len(out) <= chars else "…" + out[-(chars - 1) :]


def build(store, registry: Registry, repo: str, number: int, min_effect: float = MIN_EFFECT) -> PrReport | None:
    pull = store.pull(repo, number)
    if pull is None:
        return None
    head, base = pull["head_sha"], pull.get("merge_base") or pull.get("base_sha")
    jobs = store.jobs("repo = ? and pr = ? and sha = ? and kind = 'pr'", [repo, number, head])
    base_jobs = store.jobs("repo = ? and sha = ? and kind = 'base'", [repo, base]) if base else []
    # Devices with jobs for the head, and devices whose results came without a job (`perfbot run --kind pr`
    # in a GitHub Actions workflow, then `perfbot report`).
    measured = store.runs("kind = 'pr' and status = 'complete' and sha = ? and (pr is null or pr = ?)", [head, number])
    device_names = sorted({j["device"] for j in jobs} | {r["device"] for r in measured})
    devices = []
    for name in device_names:
        device = registry.devices.get(name) or Device(
            name=name, description="(no longer in devices.yml)", arch="?", target={"kind": "llvm"}
        )
        mine = [j for j in jobs if j["device"] == name]
        suites = {j["suite"] for j in mine}
        wanted = [j for j in mine if j["state"] != "cancelled"]
        baseline = [j for j in base_jobs if j["device"] == name and j["suite"] in suites] if wanted else []
        report = DeviceReport(
            device,
            pending=sum(j["state"] == "pending" for j in mine + baseline),
            running=sum(j["state"] == "running" for j in mine + baseline),
            failed_jobs=[j["reason"] or "failed" for j in mine if j["state"] == "failed"],
            cancelled=[j["reason"] or "cancelled" for j in mine if j["state"] == "cancelled"],
            baseline_failed=[j["reason"] or "failed" for j in baseline if j["state"] == "failed"],
        )
        pr_results = store.results_at(name, head, "pr")
        base_results = store.results_at(name, base, "base") if base else []
        report.rows = _rows(store, name, pr_results, base_results, device.emulated, min_effect)
        report.tvm_version = next((r.get("tvm_version") for r in reversed(pr_results) if r.get("tvm_version")), None)
        devices.append(report)
    return PrReport(
        repo=repo,
        number=number,
        title=pull.get("title") or "",
        head_sha=head,
        base_ref=pull.get("base_ref"),
        base_sha=base,
        devices=devices,
        awaiting_approval=bool(pull.get("is_fork"))
        and not jobs
        and not measured
        and not store.approved(repo, number, head),
        closed=pull.get("state") == "closed",
    )


def _key(r: dict) -> tuple:
    return r["workload"], r["scheme"], r["layout"], r["pipeline"]


def _rows(
    store, device: str, pr_results: list[dict], base_results: list[dict], emulated: bool, min_effect: float
) -> list[Row]:
    rows = []
    base_by_key: dict[tuple, list[dict]] = {}
    for r in base_results:
        base_by_key.setdefault(_key(r), []).append(r)
    pr_by_key: dict[tuple, list[dict]] = {}
    for r in pr_results:
        pr_by_key.setdefault(_key(r), []).append(r)
    for key, mine in pr_by_key.items():
        latest = mine[-1]
        theirs = base_by_key.get(key, [])
        base_latest = theirs[-1] if theirs else None
        pr_samples = [s for r in mine if r["status"] in TIMED for s in r["samples_ms"] or []]
        base_samples = [s for r in theirs if r["status"] in TIMED for s in r["samples_ms"] or []]
        comparison = None
        if latest["status"] == OK and pr_samples and base_samples:
            noise = stats.noise_level(store.series_medians(device, *key))
            comparison = stats.compare(base_samples, pr_samples, min_effect=min_effect, noise=noise)
        rows.append(
            Row(
                workload=key[0],
                scheme=key[1],
                layout=key[2],
                pipeline=key[3],
                status=latest["status"],
                base_status=base_latest["status"] if base_latest else None,
                base_ms=statistics.median(base_samples) if base_samples else None,
                pr_ms=statistics.median(pr_samples) if pr_samples else None,
                ratio=latest.get("ratio"),
                max_abs_diff=latest.get("max_abs_diff"),
                mismatch_fraction=latest.get("mismatch_fraction"),
                error=latest.get("error"),
                comparison=comparison,
                emulated=emulated,
            )
        )
    return rows
