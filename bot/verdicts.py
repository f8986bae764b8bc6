"""Decide what a PR's report says: per device and item, the PR's build against its merge base's.

Only deciding happens here; bot/github/comment.py renders it as markdown and
dashboard/prs.py as HTML, both with the cell texts of `Row`. The rules:

- a PR's results come from the newest complete PR run of its head per device
  and suite; a PR run measures the head's build and the merge base's build
  side by side in one job (bot/engine/runner.py);
- an item whose PR build compiled to exactly the base's code (the same
  `code_hash` on the same device and configuration) is `same code`: decided
  by equality, so nothing was timed and no statistics are needed;
- a result that is not `ok` is its status (build_error, wrong_result,
  compile_error, ...); it is *new* when the base's side of the same item was
  ok. A wrong result that the job's confirming rerun did not reproduce is a
  `flaky result`: shown, never hidden, but not a failure, and its latency is
  the rerun's (a wrong answer's rounds stop with their first pair);
- latency is judged by bot.stats.judge_rounds over the side-by-side rounds,
  under the sequential design they were timed with, and with the margin they
  were timed against (the minimum effect, or the series' run-to-run noise on
  the base branch where larger): `unchanged` when the 99% interval lies inside
  ±margin, `slower`/`faster` when it lies clear of it, `undecided` when the
  rounds stopped with neither, at their cap or where the cap would not have
  decided it (shown as `noisy: -12%..+71%`, never as unchanged). The rounds
  came from pairs of processes each forked from fork servers of their own,
  and the interval counts the pairs' luck, so a timed change is not rerun.
  Runs recorded while jobs reran a change close to the margin still say
  "confirmed by a rerun", or undecided where the rerun disagreed;
- a PR run without its base beside it (recorded by hand, or when the merge
  base does not build) gets no latency verdict: `inconclusive`;
- a tuned row whose tasks the device's tuning database has no records for
  ran unscheduled loops: `untuned: no record` (or `untuned: tuning under way`
  while a tuning job for the device is queued or running), never compared;
- emulated devices never get a slower/faster verdict (their latency says
  nothing about hardware), but wrong results and failures count fully;
- a board that counts instructions (the emulated AArch64 board) is judged
  by bot.stats.compare_counts on the two sides' exact counts: `more
  instructions`, `fewer instructions` or `unchanged` within the margin, with
  no rounds and no rerun; the functions whose counts moved most come with it.
  A PR run counted without its base beside it is compared with the base
  branch's own count of the merge base, since counts do not wander between
  runs as times do;
- a device's commit status is failure for a wrong result, a build error, a
  new failure, a slower item or more instructions; pending while the head's jobs run;
  error when the TVM environment could not be made, a job failed, or every
  job was cancelled with nothing measured; success otherwise. An undecided
  item does not fail it (no test found a change beyond the margin, and none
  ruled one out): the status's description counts it, `2 undecided`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from bot import stats
from bot.devices import Device, Registry
from bot.errors import BadUsage, UnknownName
from bot.vocabulary import (
    ALARMS,
    BUILD_ERROR,
    EMULATED,
    ENVIRONMENT_ERROR,
    FAILURES,
    FASTER,
    FLAKY,
    INCONCLUSIVE,
    LATENCY_VERDICTS,
    NO_BASELINE,
    OK,
    PAIRED_MIN_EFFECT,
    SAME_CODE,
    SLOWER,
    SUMMARY_ORDER,
    TIME,
    TIMED,
    TUNING,
    UNCHANGED,
    UNDECIDED,
    UNTUNED,
    WRONG_RESULT,
    attention,
    built_from,
    change_percent,
    counted,
    label,
)

#: Of each failure's output, reports show this many last lines and characters.
ERROR_LINES = 12
ERROR_CHARS = 1500


@dataclass
class Row:
    """One item of a PR on one device: both sides, and what they add up to."""

    workload: str
    scheme: str
    layout: str
    pipeline: str
    status: str  # the PR build's
    base_status: str | None
    base_ms: float | None
    pr_ms: float | None
    ratio: float | None
    max_abs_diff: float | None
    mismatch_fraction: float | None
    error: str | None
    comparison: stats.Comparison | None  # the side-by-side rounds as they stopped (a flaky result's: the rerun's)
    emulated: bool
    same_code: bool = False
    paired: bool = False  # measured beside its base in one job
    confirmed: bool | None = None  # a slower/faster first attempt: did the rerun say the same? (None: no rerun)
    stopped: str | None = None  # why those rounds stopped: decided unchanged or changed, cap, cannot decide
    flaky: bool = False  # a wrong result the rerun did not reproduce
    untuned: bool = False  # a tuned row whose tasks the device's database has no records for
    tuning_pending: bool = False  # ... and a tuning job for the device is queued or running
    tflite_ms: float | None = None
    counts: Counts | None = None  # an instruction-counting board: the counts and compile statistics
    changed_functions: list[str] | None = None  # compiled functions whose code differs from the base's
    runtime_only: bool = False  # the same compiled code as the base's, timed because another runtime ran it
    separate: bool = False  # compared between two separate runs (`perfbot compare`): no rounds, no rerun

    @property
    def config(self) -> str:
        return f"{self.layout}/{self.pipeline}"

    @property
    def new_failure(self) -> bool:
        return self.status in FAILURES and self.base_status == OK

    @property
    def verdict(self) -> str:
        """One word for the table: the failure, or what the latency (or the instruction count) did."""
        if self.flaky:
            return FLAKY
        if self.status != OK:
            return self.status
        if self.same_code:
            return SAME_CODE
        if self.untuned:
            return TUNING if self.tuning_pending else UNTUNED
        if self.counts is not None:
            if self.comparison is None:
                return INCONCLUSIVE if self.paired or self.counts.base is not None else NO_BASELINE
            return self.comparison.verdict
        if self.comparison is None:
            return INCONCLUSIVE if self.paired or self.base_ms is not None else NO_BASELINE
        if self.emulated:
            return EMULATED
        if self.comparison.verdict in (SLOWER, FASTER) and not self.separate and self.confirmed is False:
            return UNDECIDED  # the attempts disagree (a run from before timed changes stopped being rerun)
        return self.comparison.verdict

    @property
    def alarming(self) -> bool:
        """Worth bold type: a slower or wrong result, or a failure that is new in this PR."""
        return self.verdict in ALARMS or self.new_failure or self.status == BUILD_ERROR

    @property
    def verdict_text(self) -> str:
        """The verdict as a reviewer reads it, with a timed verdict's margin: `new compile error`,
        `slower than +2%, confirmed by a rerun`, `unchanged within ±2%`, `noisy: -12%..+71% (±2%)`."""
        verdict, c = self.verdict, self.comparison
        text = f"new {label(verdict)}" if self.new_failure else label(verdict)
        if self.separate and verdict in (SLOWER, FASTER):
            return text + " (separate runs)"
        timed = c is not None and self.counts is None and c.ci_low is not None and c.ci_high is not None
        if not timed or verdict not in LATENCY_VERDICTS:
            return text + (" (the rerun was right)" if self.flaky else "")
        margin = f"{c.threshold * 100:.2g}%"
        if verdict == UNCHANGED:
            return f"unchanged within ±{margin}"
        if verdict in (SLOWER, FASTER):
            text = f"{verdict} than {'+' if verdict == SLOWER else '-'}{margin}"
            return text + (", confirmed by a rerun" if self.confirmed else "")
        if verdict == UNDECIDED and self.confirmed is False:
            return f"noisy: a rerun did not confirm {c.verdict} (±{margin})"
        if verdict == UNDECIDED:
            wide = math.log1p(c.ci_high) - math.log1p(c.ci_low) > 2 * math.log1p(c.threshold)
            return f"{'noisy' if wide else 'at the margin'}: {_percent(c.ci_low)}..{_percent(c.ci_high)} (±{margin})"
        return text

    @property
    def rounds(self) -> int | None:
        """Side-by-side rounds behind the verdict (`comparison`'s), None when nothing was timed."""
        c = self.comparison
        return c.n_base if c is not None and self.counts is None and not self.emulated and c.n_base else None

    @property
    def change_text(self) -> str:
        """`+12.3% [+10.1, +14.0]`: the change and its interval, or `–`; a count's change is exact, no interval."""
        c = self.comparison
        if c is None or c.change is None:
            return "–"
        return change_percent(c.change) if self.counts is not None else c.interval_text

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

    def changed_text(self, limit: int = 3) -> str:
        """Where the code changed: `conv2d, add and 2 more`; `–` for the same code or where it is not known."""
        names = self.changed_functions
        if self.runtime_only:
            return "none: another runtime"
        if self.same_code or not names:
            return "–"
        shown = ", ".join(names[:limit])
        return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass
class Counts:
    """A row's instruction counts on a counting board, both sides, and what the compiled modules are made of."""

    pr: int | None
    base: int | None = None
    tflite: int | None = None
    functions: dict[str, int] = field(default_factory=dict)
    base_functions: dict[str, int] = field(default_factory=dict)
    kernels: int | None = None
    base_kernels: int | None = None
    code_bytes: int | None = None
    base_code_bytes: int | None = None
    compile_s: float | None = None
    base_compile_s: float | None = None

    @property
    def ratio(self) -> float | None:
        """TVM's instructions over TFLite's, one inference each on the same board: below 1, TVM executes fewer."""
        return self.pr / self.tflite if self.pr and self.tflite else None

    def moved_most(self, limit: int = 3) -> list[tuple[str, int, int]]:
        """The functions whose counts moved most between the sides: (group:function, base, PR), largest first."""
        names = set(self.base_functions) | set(self.functions)
        moves = [
            (name, self.base_functions.get(name, 0), self.functions.get(name, 0))
            for name in names
            if self.base_functions.get(name, 0) != self.functions.get(name, 0)
        ]
        moves.sort(key=lambda m: (-abs(m[2] - m[1]), m[0]))
        return moves[:limit]


def counts_of(result: dict, baseline: dict | None) -> Counts | None:
    """The Counts of a result row of a counting board (None when it counted nothing and is not from one)."""
    if result.get("instructions") is None and result.get("base_instructions") is None:
        return None
    base, base_functions = result.get("base_instructions"), result.get("base_functions") or {}
    if base is None and baseline is not None and baseline.get("instructions"):
        base, base_functions = baseline["instructions"], baseline.get("functions") or {}
    return Counts(
        pr=result.get("instructions"),
        base=base,
        tflite=result.get("tflite_instructions"),
        functions=result.get("functions") or {},
        base_functions=base_functions,
        kernels=result.get("kernels"),
        base_kernels=result.get("base_kernels"),
        code_bytes=result.get("code_bytes"),
        base_code_bytes=result.get("base_code_bytes"),
        compile_s=result.get("compile_s"),
        base_compile_s=result.get("base_compile_s"),
    )


@dataclass
class DeviceReport:
    device: Device
    rows: list[Row] = field(default_factory=list)
    pending: int = 0  # the PR head's queued jobs
    running: int = 0
    failed_jobs: list[str] = field(default_factory=list)
    tvm_version: str | None = None
    device_runtime: str | None = None  # the TVM runtime that ran the modules on the device, as it says
    own_runtime: bool | None = None  # ... and whether it is the compiling TVM's own (None: not recorded)
    emulator: str | None = None  # an emulated board: the emulator and core, as perfbot started it
    built: str | None = None  # which TVM the PR's side was, in words (bot.vocabulary.tvm_built)
    base_built: str | None = None  # ... and the base's, for a run with its base beside it
    cpu_fallback: str | None = None  # why "host" compiled for another CPU than LLVM names (boards/host.py)
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
        if any(r.verdict in ALARMS or r.new_failure or r.status == BUILD_ERROR for r in self.rows):
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


def changed_functions(base: dict[str, str], pr: dict[str, str]) -> list[str]:
    """The compiled functions whose code differs between two builds of one item (added and removed ones too),
    from their per-function hashes (bot/child/measure.py function_hashes), by name, the VM program last."""
    changed = (name for name in set(base) | set(pr) if base.get(name) != pr.get(name))
    return sorted(changed, key=lambda name: (name.startswith("("), name))  # compiled functions before the VM program


def _percent(change: float) -> str:
    """`+54%`, or `+1.4%` below 10%: an interval's ends as the verdict text shows them."""
    return f"{change * 100:+.0f}%" if abs(change) >= 0.1 else f"{change * 100:+.1f}%"


def counts_text(counts: Counter) -> str:
    """Counts of verdicts in reading order: "2 slower, 1 wrong result, 14 unchanged"."""
    return ", ".join(counted(counts[v], v) for v in SUMMARY_ORDER if counts.get(v))


def tail(text: str, lines: int = ERROR_LINES, chars: int = ERROR_CHARS) -> str:
    """The last lines of an error output: where Python and TVM put the message that matters."""
    kept = text.strip().splitlines()[-lines:]
    out = "\n".join(kept)
    return out if len(out) <= chars else "…" + out[-(chars - 1) :]


def build(store, registry: Registry, repo: str, number: int, min_effect: float = PAIRED_MIN_EFFECT) -> PrReport | None:
    """A PR's report from the database: its stored pull request, or, for PR runs recorded at a terminal
    or in a workflow without the bot (`perfbot run --kind pr`), its newest PR run's head and merge base."""
    pull = store.pull(repo, number) or _pull_of_runs(store, repo, number)
    if pull is None:
        return None
    head, base = pull["head_sha"], pull.get("merge_base") or pull.get("base_sha")
    jobs = store.head_jobs(repo, number, head)
    base_jobs = store.base_jobs(repo, base) if base else []
    # Devices with jobs for the head, and devices whose results came without a job (`perfbot run --kind pr`
    # in a GitHub Actions workflow, then `perfbot report`).
    measured = store.head_runs(head, number)
    device_names = sorted({j["device"] for j in jobs} | {r["device"] for r in measured})
    devices = []
    for name in device_names:
        runs = _newest_per_suite([r for r in measured if r["device"] == name])
        device = _device(registry, name, runs[-1] if runs else None)
        mine = [j for j in jobs if j["device"] == name]
        report = DeviceReport(
            device,
            pending=sum(j["state"] == "pending" for j in mine),
            running=sum(j["state"] == "running" for j in mine),
            failed_jobs=[j["reason"] or "failed" for j in mine if j["state"] == "failed"],
            cancelled=[j["reason"] or "cancelled" for j in mine if j["state"] == "cancelled"],
            baseline_failed=[
                j["reason"] or "failed" for j in base_jobs if j["device"] == name and j["state"] == "failed"
            ],
        )
        pr_results = [row for run in runs for row in store.results(run["id"])]
        base_results = store.results_at(name, base, "base") if base else []
        report.rows = _rows(store, name, pr_results, base_results, device.emulated, min_effect)
        if any(r.untuned for r in report.rows) and store.tuning_active(name):
            for row in report.rows:
                row.tuning_pending = row.untuned
        _describe(report, runs)
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


def of_run(store, registry: Registry, run_id: int, min_effect: float = PAIRED_MIN_EFFECT) -> PrReport:
    """One recorded run judged as the PR comment judges it (what `perfbot run --base-env` ends with)."""
    run = _recorded(store, run_id)
    device = _device(registry, run["device"], run)
    base_results = store.results_at(run["device"], run["base_sha"], "base") if run.get("base_sha") else []
    report = DeviceReport(device)
    report.rows = _rows(store, device.name, store.results(run_id), base_results, device.emulated, min_effect)
    _describe(report, [run])
    return _report_of(run, run.get("base_sha"), report)


def between_runs(store, registry: Registry, base_id: int, head_id: int) -> PrReport:
    """Two recorded runs of one device, item by item, as `asv compare` and `pyperf compare_to` put them.

    Same rules as a PR's report where they apply: the same code hash is `same code`, a failure is its
    status (`new` when the first run's item was ok), counts are compared exactly. Latency is compared
    between separate runs: bot.stats.compare over both runs' samples, with the minimum effect between
    separate runs (MIN_EFFECT, 5%) and the base series' run-to-run noise, and no rerun to confirm it (the
    row says `separate runs`).
    """
    base_run, head_run = _recorded(store, base_id), _recorded(store, head_id)
    if base_run["device"] != head_run["device"]:
        raise BadUsage(
            f"run {base_id} is on {base_run['device']} and run {head_id} on {head_run['device']}: "
            "compare two runs of one device"
        )
    device = _device(registry, head_run["device"], head_run)
    base = {_key(r): r for r in store.results(base_id) if (r.get("attempt") or 1) == 1}
    report = DeviceReport(device)
    for head in store.results(head_id):
        if (head.get("attempt") or 1) == 1:
            report.rows.append(_separate_row(store, device, _key(head), base.get(_key(head)), head))
    _describe(report, [head_run])
    report.base_built = built_from(base_run.get("env"), base_run.get("tvm_version"), base_run.get("build_how"))
    return _report_of(head_run, base_run.get("sha"), report)


def _recorded(store, run_id: int) -> dict:
    run = store.run(run_id)
    if run is None:
        raise UnknownName(f"no run {run_id} in {store.path}: `perfbot runs` lists them")
    return run


def _report_of(run: dict, base_sha: str | None, device: DeviceReport) -> PrReport:
    return PrReport(repo=run.get("repo") or "", number=run.get("pr") or 0, title="", head_sha=run.get("sha") or "",
                    base_ref=None, base_sha=base_sha, devices=[device])  # fmt: skip


def _device(registry: Registry, name: str, run: dict | None) -> Device:
    """The device from devices.yml, or, when it is no longer there, what its run recorded of it."""
    if name in registry.devices:
        return registry.devices[name]
    return Device(name=name, description="(no longer in devices.yml)", arch=(run or {}).get("arch") or "?",
                  target={"kind": "llvm"}, emulated=bool((run or {}).get("emulated")),
                  metric=(run or {}).get("metric") or TIME)  # fmt: skip


def _describe(report: DeviceReport, runs: list[dict]) -> None:
    """What the newest run says of the device and of the TVM on each side."""
    report.tvm_version = _newest(runs, "tvm_version")
    report.device_runtime, report.emulator = _newest(runs, "device_runtime"), _newest(runs, "emulator")
    report.own_runtime = next(
        (bool(r["own_runtime"]) for r in reversed(runs) if r.get("own_runtime") is not None), None
    )
    if runs:
        run = runs[-1]
        report.cpu_fallback = run.get("cpu_fallback")
        report.built = built_from(run.get("env"), run.get("tvm_version"), run.get("build_how"))
        if run.get("base_env"):
            report.base_built = built_from(run["base_env"], run.get("base_tvm_version"), run.get("base_build_how"))


def _pull_of_runs(store, repo: str | None, number: int) -> dict | None:
    """A PR the bot never saw, as its newest complete PR run with that number tells it (head and merge base)."""
    runs = store.pr_runs(number, repo)
    if not runs:
        return None
    newest = runs[-1]
    return {"head_sha": newest["sha"], "merge_base": newest.get("base_sha"), "state": "open", "is_fork": False}


def _separate_row(store, device: Device, key: tuple, base: dict | None, head: dict) -> Row:
    """One item of `between_runs`: the head run's item against the base run's."""
    status = head["status"]
    same_code = bool(base and head.get("code_hash") and head["code_hash"] == base.get("code_hash"))
    counts = counts_of(head, base)
    comparison = None
    if base is not None and status == OK and base["status"] == OK and not same_code:
        if counts is not None and counts.pr and counts.base:
            comparison = stats.compare_counts(counts.base, counts.pr)
        elif counts is None and head.get("samples_ms") and base.get("samples_ms"):
            noise = stats.noise_level(store.series_medians(device.name, *key))
            comparison = stats.compare(base["samples_ms"], head["samples_ms"], noise=noise)
    functions = None
    if base is not None and head.get("code_functions") and base.get("code_functions"):
        functions = changed_functions(base["code_functions"], head["code_functions"])
    return Row(
        workload=key[0], scheme=key[1], layout=key[2], pipeline=key[3], status=status,
        base_status=(base or {}).get("status"), base_ms=(base or {}).get("median_ms"),
        pr_ms=head.get("median_ms") or ((base or {}).get("median_ms") if same_code else None),
        ratio=head.get("ratio"), max_abs_diff=head.get("max_abs_diff"), mismatch_fraction=head.get("mismatch_fraction"),
        error=head.get("error"), comparison=comparison, emulated=device.emulated, same_code=same_code, separate=True,
        untuned=key[3] == "tuned" and bool(head.get("untuned_tasks")), tflite_ms=head.get("tflite_median_ms"),
        counts=counts, changed_functions=functions,
    )  # fmt: skip


def judge(store, device: str, pr_results: list[dict], base_results=(), emulated: bool = False,
          min_effect: float = PAIRED_MIN_EFFECT) -> list[Row]:  # fmt: skip
    """The rows of one device's PR results, judged as the comment judges them (benchmarks/verdict_noise.py)."""
    return _rows(store, device, pr_results, list(base_results), emulated, min_effect)


def foreign_runtime(device: DeviceReport) -> bool:
    """Whether the device ran the modules on another build's runtime than the compiling TVM's own: as the run
    recorded it, or, for runs recorded before it did, when the runtime's version is not the compiling TVM's."""
    if not device.device_runtime:
        return False
    if device.own_runtime is not None:
        return not device.own_runtime
    return device.device_runtime != (f"apache-tvm {device.tvm_version}" if device.tvm_version else None)


def _newest(runs: list[dict], column: str) -> str | None:
    return next((r.get(column) for r in reversed(runs) if r.get(column)), None)


def _newest_per_suite(runs: list[dict]) -> list[dict]:
    """The newest complete run of each suite (a rerun replaces the run before it), oldest first."""
    newest: dict[str, dict] = {}
    for run in sorted(runs, key=lambda r: r["id"]):
        newest[run["suite"]] = run
    return sorted(newest.values(), key=lambda r: r["id"])


def _key(r: dict) -> tuple:
    return r["workload"], r["scheme"], r["layout"], r["pipeline"]


def _rows(
    store, device: str, pr_results: list[dict], base_results: list[dict], emulated: bool, min_effect: float
) -> list[Row]:
    """One row per item of the PR runs; a later suite's result of the same item replaces an earlier one's."""
    baseline: dict[tuple, dict] = {}
    for r in base_results:  # the base branch's own run of the merge base: latency (or count) for same-code rows
        if r["status"] in TIMED and (r.get("median_ms") or r.get("instructions")):
            baseline[_key(r)] = r
    attempts: dict[tuple, dict[int, dict]] = {}
    for r in pr_results:
        attempts.setdefault(_key(r), {})[r.get("attempt") or 1] = r
    rows = []
    for key, tries in attempts.items():
        first, second = tries[min(tries)], tries.get(2) if min(tries) == 1 else None
        rows.append(_row(store, device, key, first, second, baseline.get(key), emulated, min_effect))
    return rows


def _row(store, device, key, first: dict, second: dict | None, baseline: dict | None, emulated, min_effect) -> Row:
    paired = first.get("base_status") is not None
    flaky = first["status"] == WRONG_RESULT and second is not None and second["status"] == OK
    status = second["status"] if flaky else first["status"]
    same_code = bool(first.get("same_code"))
    comparison = confirmed = None
    untuned = key[3] == "tuned" and bool(first.get("untuned_tasks"))
    counts = counts_of(first, baseline)
    timed = second if flaky else first  # a wrong answer's rounds stop with its first pair: judge the rerun's
    if counts is not None:
        if status == OK and not same_code and not untuned and counts.pr and counts.base:
            comparison = stats.compare_counts(counts.base, counts.pr)
    elif paired and status == OK and not same_code and timed.get("rounds") and not untuned:
        noise = None if timed.get("margin") else stats.noise_level(store.series_medians(device, *key))
        comparison = _judged(timed, timed.get("margin") or min_effect, noise)
        if comparison.verdict in (SLOWER, FASTER) and not flaky and second is not None and second.get("rounds"):
            confirmed = _judged(second, first.get("margin") or min_effect, noise).verdict == comparison.verdict
    base_ms = timed.get("base_median_ms") if paired else None
    if base_ms is None and baseline is not None:
        base_ms = baseline["median_ms"]
    pr_ms = timed.get("median_ms") if timed.get("samples_ms") else (base_ms if same_code else None)
    tflite = first.get("tflite_median_ms")
    return Row(
        workload=key[0],
        scheme=key[1],
        layout=key[2],
        pipeline=key[3],
        status=status,
        base_status=first.get("base_status") if paired else (baseline or {}).get("status"),
        base_ms=base_ms,
        pr_ms=pr_ms,
        ratio=pr_ms / tflite if pr_ms and tflite else None,
        max_abs_diff=first.get("max_abs_diff"),
        mismatch_fraction=first.get("mismatch_fraction"),
        error=first.get("error"),
        comparison=comparison,
        emulated=emulated,
        same_code=same_code,
        paired=paired,
        confirmed=confirmed,
        flaky=flaky,
        untuned=key[3] == "tuned" and bool(first.get("untuned_tasks")),
        tflite_ms=tflite,
        counts=counts,
        changed_functions=first.get("changed_functions"),
        runtime_only=not same_code
        and bool(first.get("code_hash"))
        and first["code_hash"] == first.get("base_code_hash"),
        stopped=timed.get("stopped"),
    )


def _judged(attempt: dict, min_effect: float, noise: float | None) -> stats.Comparison:
    """One attempt's rounds judged under the design they were timed with (rows recorded before rounds stopped
    early: one look at all of them, each round its own unit, as that design judged them)."""
    rounds = attempt["rounds"]
    every, cap = attempt.get("pair_rounds"), attempt.get("max_rounds")
    looks = stats.Looks(every, cap) if every and cap else None  # one look, each round its own unit
    return stats.judge_rounds(rounds, looks=looks, min_effect=min_effect, noise=noise)
