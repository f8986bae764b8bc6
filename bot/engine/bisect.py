"""Which commit moved the base branch: bisect a range of commits for one item, every probe side by side.

In the spirit of `asv find` and `git bisect`, for one item (workload,
scheme, layout, pipeline) on one device:

1. The range is `git rev-list --first-parent good..bad`, oldest first: the
   commits of the base branch between the two (a merge is probed as a
   whole, as `git bisect --first-parent` does; TVM squash-merges, so its
   main is linear anyway).
2. The endpoints first: bad's build is timed beside good's
   (`Runner.run_paired`, bot/engine/timing.py's ABBA rounds, stopping when
   decided) and judged as a PR is (`stats.judge_rounds`, the minimum effect
   or the series' noise as the margin). Unless bad is `slower`, the
   bisection stops: the step does not reproduce, and no commit is blamed.
3. Then binary search, each probe timed beside good's build with the same
   sequential rounds, the margin being half the step (on the log scale: the
   midpoint between the two levels). A probe is bad when its 99% interval
   lies above the midpoint, good when it lies below; the rounds go on while
   it straddles the midpoint, up to the cap. Half the step, not the minimum
   effect: a probe is put with the level it is nearer to, so that with a
   +100% step a probe at +6% (noise, or a small unrelated change) is not
   taken for the step, and with a +8% step a probe at +6% is. When a range
   holds several smaller steps that add up, the commit found is the one where
   the series crosses the midpoint. A probe that compiled to the same code as
   good is good without timing; one still undecided when its rounds stop is skipped,
   since a probe put with the wrong level names the wrong commit.
4. A probe whose build fails (or whose item does not compile or run) is
   skipped, as `git bisect skip`: the next probe is the untested commit
   nearest to the middle. When only skipped commits are left between the last
   good and the first bad, the answer is those commits, not one of them.

Every probe is recorded in the store's `bisections` row (`evidence`) as it
is measured, so an interrupted bisection resumes where it stopped: a commit
already probed is not measured again. Each probe's paired run is also kept
as a run of kind `bisect` (outside the base history and PR comments).
`queue_steps` starts bisections by itself, as jobs: when a base-branch run
reveals a new step in a series (`stats.change_points`).
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot import stats
from bot.devices import Device
from bot.engine import builds
from bot.engine.builds.commits import git
from bot.engine.runner import Config, ItemResult, Runner, Subject
from bot.engine.suite.suites import Suite, get_suite
from bot.engine.suite.workloads import Workload
from bot.errors import BadRange, BuildFailed, Cancelled, UnknownName
from bot.vocabulary import BISECT_PRIORITY, LAYOUTS, PIPELINES, SAME_CODE, SCHEMES, SLOWER, TIMED, WRONG_RESULT

#: A probe's verdicts besides the latency verdicts.
SKIPPED = "skipped"
#: Bisection states (bisections.status).
QUEUED, RUNNING, FOUND, NOT_FOUND, FAILED = "queued", "running", "found", "not_found", "failed"


@dataclass(frozen=True)
class Item:
    """What is bisected: one workload in one configuration."""

    workload: Workload
    layout: str
    pipeline: str

    @property
    def series(self) -> tuple[str, str, str, str]:
        return self.workload.name, self.workload.scheme, self.layout, self.pipeline

    @property
    def name(self) -> str:
        return f"{self.workload.name} {self.workload.scheme} {self.layout}/{self.pipeline}"


@dataclass
class Probe:
    """One commit measured beside the known-good build (the bad endpoint too: `role` endpoint)."""

    sha: str
    subject: str
    role: str  # endpoint | probe
    verdict: str  # slower | unchanged | faster | inconclusive | same code | skipped
    bad: bool | None  # None: skipped
    change: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    rounds: int = 0
    threshold: float | None = None
    reason: str = ""
    seconds: float = 0.0
    run_id: int | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict) -> Probe:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})


@dataclass
class Outcome:
    """How a bisection ended, with every probe (oldest commit first) and the number of commits in the range."""

    bisection_id: int
    status: str  # found | not_found | failed
    good: str
    bad: str
    commits: list[str]
    probes: list[Probe] = field(default_factory=list)
    first_bad: str | None = None
    change: float | None = None
    candidates: list[str] = field(default_factory=list)  # only skipped commits left: one of these
    reason: str = ""
    measured: int = 0  # probes measured by this call (the others came from the store)
    seconds: float = 0.0


def find_item(workload: str, scheme: str, layout: str, pipeline: str) -> Item:
    """The item of the `full` suite with these names; UnknownName listing what is known."""
    for value, known, what in ((scheme, SCHEMES, "scheme"), (layout, LAYOUTS, "layout"), (pipeline, PIPELINES, "pipeline")):  # fmt: skip
        if value not in known:
            raise UnknownName(f"unknown {what} {value!r} (known: {', '.join(known)})")
    workloads = get_suite("full").workloads
    for w in workloads:
        if w.name == workload and w.scheme == scheme:
            return Item(w, layout, pipeline)
    names = sorted({w.name for w in workloads})
    raise UnknownName(f"unknown workload {workload!r} (known: {', '.join(names[:4])}, ... {len(names)} in all)")


def commit_range(checkout: Path, good: str, bad: str) -> tuple[builds.Commit, builds.Commit, list[str]]:
    """Both endpoints resolved, and the commits after good up to bad, oldest first (bad last)."""
    good_commit, bad_commit = builds.resolve(checkout, good), builds.resolve(checkout, bad)
    if good_commit.sha == bad_commit.sha:
        raise BadRange(f"--good and --bad are the same commit {good_commit.short}: nothing to bisect")
    if not _is_ancestor(checkout, good_commit.sha, bad_commit.sha):
        raise BadRange(
            f"{good_commit.short} (good) is not an ancestor of {bad_commit.short} (bad): give a commit of the "
            f"base branch older than bad as --good (swapped? `git -C {checkout} log --oneline {bad}..{good}`)"
        )
    shas = git(checkout, "rev-list", "--first-parent", "--reverse", f"{good_commit.sha}..{bad_commit.sha}").split()
    return good_commit, bad_commit, shas


def _is_ancestor(checkout: Path, a: str, b: str) -> bool:
    command = ["git", "-C", str(checkout), "merge-base", "--is-ancestor", a, b]
    return subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL).returncode == 0


def subject_line(checkout: Path, sha: str) -> str:
    return git(checkout, "log", "-1", "--format=%s", sha, check=False).strip()


def midpoint(step: float) -> float:
    """Half a relative step on the log scale: +100% gives +41.4%, +10% gives +4.9%."""
    return math.expm1(math.log1p(step) / 2)


@dataclass
class Bisector:
    """Runs bisections of one checkout on one device; `subject_for(commit)` gives a commit's TVM build.

    `say(line)` is told every step (a line each, fine for a log file); `suite` gives the timing settings
    (rounds and samples per round; the `full` suite's by default); `should_stop()` is asked before
    every probe (a job's lost lease), which stops with Cancelled, leaving what was measured recorded.
    """

    store: object
    cache_dir: Path
    checkout: Path
    device: Device
    say: Callable[[str], None] = lambda line: None
    suite: Suite | None = None
    subject_for: Callable[[builds.Commit, str], Subject] | None = None
    should_stop: Callable[[], bool] = lambda: False
    job_id: int | None = None

    def bisect(
        self,
        item: Item,
        good: str,
        bad: str,
        *,
        repo: str | None = None,
        reason: str = "asked for by a person",
        fresh: bool = False,
    ) -> Outcome:
        """Bisect good..bad for the item (see the module docstring); resumes a recorded bisection of the range.

        `fresh` starts over instead (new measurements of every probe). A bisection that already ended is
        returned as recorded, without measuring anything.
        """
        started = time.monotonic()
        good_commit, bad_commit, shas = commit_range(self.checkout, good, bad)
        known = self.store.bisection_for(self.device.name, item.series, good_commit.sha, bad_commit.sha)
        probes: dict[str, Probe] = {}
        if known is not None and not fresh and known["status"] in (FOUND, NOT_FOUND):
            self.say(f"bisection {known['id']} of this range ended before ({known['status']}): shown as recorded "
                     "(--fresh measures it again)")  # fmt: skip
            return self._recorded(known, shas)
        if known is not None and not fresh:
            bisection_id = known["id"]
            probes = {p["sha"]: Probe.from_dict(p) for p in known.get("evidence") or []}
            self.store.update_bisection(bisection_id, status=RUNNING, finished_at=None, repo=repo or known["repo"])
            if probes:
                self.say(f"resuming bisection {bisection_id}: {len(probes)} commits already measured")
        else:
            bisection_id = self.store.start_bisection(
                repo=repo, device=self.device.name, workload=item.workload.name, scheme=item.workload.scheme,
                layout=item.layout, pipeline=item.pipeline, good_sha=good_commit.sha, bad_sha=bad_commit.sha,
                reason=reason,
            )  # fmt: skip
        out = Outcome(bisection_id, RUNNING, good_commit.sha, bad_commit.sha, shas)
        self.say(
            f"bisecting {item.name} on {self.device.name}: {len(shas)} commits after {good_commit.short} (good) "
            f"up to {bad_commit.short} (bad), about {_steps(len(shas))} probes after the bad endpoint"
        )
        try:
            self._search(item, good_commit, bad_commit, shas, probes, out, repo)
        except Cancelled:
            self._save(out, probes)
            raise
        except BuildFailed as e:  # good's build or item: nothing can be compared with it
            out.status, out.reason = FAILED, f"the known-good {good_commit.short} cannot be measured: {_first(str(e))}"
        out.seconds = time.monotonic() - started
        self._save(out, probes, final=True)
        self.say(self.conclusion(out))
        return out

    # The search ---------------------------------------------------------------------------------

    def _search(self, item, good_commit, bad_commit, shas, probes, out, repo) -> None:
        suite = replace(self.suite or get_suite("full"), name="bisect", workloads=(item.workload,))
        runner = Runner(self.store, self.cache_dir, should_stop=self.should_stop)
        good_subject: list[Subject] = []  # built once, when first needed

        def measure(sha: str, role: str, threshold: float | None) -> Probe:
            if sha in probes:
                return probes[sha]
            if self.should_stop():
                raise Cancelled(f"bisection {out.bisection_id} stopped before {sha[:10]}")
            number = sum(1 for p in probes.values() if p.role == "probe") + 1
            what = "bad endpoint" if role == "endpoint" else f"probe {number}"
            self.say(f"{what}: {sha[:10]} {subject_line(self.checkout, sha)[:60]}")
            began = time.monotonic()
            if not good_subject:
                good_subject.append(self._subject(good_commit, repo))
            probe = self._probe(runner, suite, item, good_subject[0], sha, role, threshold, repo)
            probe.seconds = time.monotonic() - began
            probes[sha] = probe
            out.measured += 1
            self._save(out, probes)
            self.say(f"  {sha[:10]}: {describe(probe)} ({probe.seconds:.0f} s)")
            return probe

        end = measure(bad_commit.sha, "endpoint", None)
        if end.verdict == SKIPPED:
            out.status, out.reason = FAILED, f"the bad endpoint {bad_commit.short} could not be measured: {end.reason}"
            return
        if end.verdict != SLOWER:
            out.status = NOT_FOUND
            out.reason = (
                f"the step does not reproduce: {bad_commit.short} against {good_commit.short} is {describe(end)}"
            )
            return
        threshold = midpoint(end.change)
        lo, hi, skipped = -1, len(shas) - 1, set()
        while True:
            untested = [i for i in range(lo + 1, hi) if i not in skipped]
            if not untested:
                break
            middle = (lo + hi) / 2
            i = min(untested, key=lambda j: (abs(j - middle), j))
            probe = measure(shas[i], "probe", threshold)
            if probe.bad is None:
                skipped.add(i)
            elif probe.bad:
                hi = i
            else:
                lo = i
        left = [shas[i] for i in range(lo + 1, hi) if i in skipped]
        if left:
            out.status, out.candidates = NOT_FOUND, left + [shas[hi]]
            out.reason = (
                f"only skipped commits are left: the first bad commit is one of "
                f"{', '.join(s[:10] for s in out.candidates)} (the skipped ones could not be measured)"
            )
            return
        out.status, out.first_bad = FOUND, shas[hi]
        found = probes[shas[hi]]
        out.change = found.change
        out.reason = f"{shas[hi][:10]} is the first commit at the new level: {describe(found)}"

    def _probe(self, runner, suite, item, good: Subject, sha, role, threshold, repo) -> Probe:
        """Time the commit beside good's build and judge it (see the module docstring)."""
        subject = subject_line(self.checkout, sha)
        probe = Probe(sha, subject, role, SKIPPED, None, threshold=threshold)
        try:
            commit = builds.resolve(self.checkout, sha)
            candidate = replace(self._subject(commit, repo), base_sha=good.sha)
        except BuildFailed as e:
            probe.reason = f"build failed: {_first(str(e))}"
            return probe
        config = Config(item.layout, item.pipeline)
        run = runner.run_paired(suite, self.device, good, candidate, tuning=item.pipeline == "tuned", confirm=False,
                                only=config, margin=None if role == "endpoint" else threshold)  # fmt: skip
        probe.run_id = run.run_id
        result: ItemResult = run.results[0]
        base = result.base
        if base is None or base.status not in TIMED:
            raise BuildFailed(
                f"{item.name} fails with the known-good build: {(base.status if base else 'not run')} "
                f"{_first(base.error or '') if base else ''}".strip()
            )
        if result.status not in TIMED:
            probe.reason = f"{result.status}: {_first(result.error or '')}"
            return probe
        if result.same_code:
            probe.verdict, probe.bad, probe.reason = SAME_CODE, False, "compiled to the known-good build's code"
            return probe
        if result.status == WRONG_RESULT:  # timed for one pair only: a wrong answer's latency is not judged
            probe.reason = "wrong result: TVM's answer is off TFLite's, its latency is not judged"
            return probe
        verdict = result.judged
        if verdict is None:  # an emulated device's latency is never judged
            probe.reason = "no verdict: the device's latency is not judged"
            return probe
        probe.verdict, probe.change, probe.ci_low, probe.ci_high = (
            verdict.verdict, verdict.change, verdict.ci_low, verdict.ci_high,
        )  # fmt: skip
        probe.rounds, probe.threshold, probe.reason = len(result.rounds), verdict.threshold, verdict.reason
        probe.bad = verdict.verdict == SLOWER if verdict.decided else None
        if probe.bad is None:
            probe.verdict = SKIPPED
        return probe

    def _subject(self, commit: builds.Commit, repo: str | None) -> Subject:
        if self.subject_for is not None:
            return self.subject_for(commit, repo)
        env = builds.environment_of(commit, self.cache_dir, self.say)
        return Subject(python=env.python, env=env.key, kind="bisect", repo=repo, sha=commit.sha,
                       job_id=self.job_id, variables=env.variables, build=env.build)  # fmt: skip

    # Records -------------------------------------------------------------------------------------

    def _save(self, out: Outcome, probes: dict[str, Probe], final: bool = False) -> None:
        order = {sha: i for i, sha in enumerate(out.commits)}
        out.probes = sorted(probes.values(), key=lambda p: order.get(p.sha, len(order)))
        fields = {"evidence": [p.as_dict() for p in out.probes]}
        if final:
            fields.update(status=out.status, first_bad_sha=out.first_bad, change=out.change, reason=out.reason)
        self.store.update_bisection(out.bisection_id, **fields)

    def _recorded(self, row: dict, shas: list[str]) -> Outcome:
        out = Outcome(row["id"], row["status"], row["good_sha"], row["bad_sha"], shas)
        out.probes = [Probe.from_dict(p) for p in row.get("evidence") or []]
        out.first_bad, out.change, out.reason = row.get("first_bad_sha"), row.get("change"), row.get("reason") or ""
        return out

    def conclusion(self, out: Outcome) -> str:
        timed = sum(1 for p in out.probes if p.verdict not in (SKIPPED, SAME_CODE))
        tail = f"{len(out.probes)} commits measured ({out.measured} now, {timed} timed) in {out.seconds:.0f} s"
        if out.status == FOUND:
            return f"first bad commit: {out.first_bad} {subject_line(self.checkout, out.first_bad)}; {tail}"
        return f"no first bad commit named ({out.status}): {out.reason}; {tail}"


def describe(probe: Probe) -> str:
    """A probe's verdict in a few words: `slower +98.1% [+95.0%, +101.2%] over 10 rounds`."""
    if probe.verdict == SKIPPED:
        return f"skipped ({probe.reason})"
    if probe.verdict == SAME_CODE or probe.change is None:
        return probe.verdict
    interval = f" [{probe.ci_low:+.1%}, {probe.ci_high:+.1%}]" if probe.ci_low is not None else ""
    return f"{probe.verdict} {probe.change:+.1%}{interval} over {probe.rounds} rounds"


def _steps(n: int) -> int:
    return max(0, math.ceil(math.log2(n))) if n > 1 else 0


def _first(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


# Automatic bisects -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A change point of a base-branch series that a bisection can name a commit for."""

    series: tuple[str, str, str, str]
    good_sha: str
    bad_sha: str
    change: float
    commits: int  # in good..bad


def new_steps(store, device: Device, repo: str, checkout: Path) -> list[Step]:
    """Slower steps in the device's base history, between two commits more than one apart, not bisected yet.

    Found as the dashboard finds them (`stats.change_points` over each series' medians). A step between
    adjacent commits needs no bisect: the commit is known (and its PR was measured as a PR). A step next
    to one already bisected (a change point that moved by a point as history grew) is the same step.
    """
    if device.emulated:
        return []  # emulated latency says nothing about the hardware
    by_series: dict[tuple, list[dict]] = {}
    for row in store.base_history(device.name):
        if row["status"] == "ok" and row.get("median_ms") and row.get("sha") and row.get("repo") == repo:
            by_series.setdefault((row["workload"], row["scheme"], row["layout"], row["pipeline"]), []).append(row)
    steps = []
    for series, rows in by_series.items():
        shas = [r["sha"] for r in rows]
        for point in stats.change_points([r["median_ms"] for r in rows]):
            good, bad = shas[point.index - 1], shas[point.index]
            if point.change <= 0 or good == bad or _near_known(store, device.name, series, shas, point.index):
                continue
            try:
                count = len(commit_range(checkout, good, bad)[2])
            except (UnknownName, BadRange, BuildFailed):
                continue  # not commits of this checkout's base branch (a release history, a fork)
            if count > 1:
                steps.append(Step(series, good, bad, point.change, count))
    return steps


def _near_known(store, device: str, series, shas: list[str], index: int) -> bool:
    for known in store.series_bisections(device, series):
        at = [i for i, sha in enumerate(shas) if sha in (known["good_sha"], known["bad_sha"])]
        if any(index - 2 <= i <= index + 1 for i in at):
            return True
    return False


def queue_steps(store, device: Device, repo: str, checkout: Path) -> list[int]:
    """Queue one bisect job per new step (a `queued` bisection row and a job of kind `bisect`); their ids."""
    queued = []
    for step in new_steps(store, device, repo, checkout):
        workload, scheme, layout, pipeline = step.series
        bisection_id = store.start_bisection(
            status=QUEUED, repo=repo, device=device.name, workload=workload, scheme=scheme, layout=layout,
            pipeline=pipeline, good_sha=step.good_sha, bad_sha=step.bad_sha,
            reason=f"change point on the base branch: {step.change:+.1%} within {step.commits} commits",
        )  # fmt: skip
        store.enqueue(sha=step.bad_sha, base_sha=step.good_sha, device=device.name, suite=f"{workload}/{scheme}",
                      config=f"{layout}/{pipeline}", kind="bisect", repo=repo, priority=BISECT_PRIORITY,
                      requested_by=f"bisection {bisection_id}")  # fmt: skip
        queued.append(bisection_id)
    return queued


def item_of_job(job: dict) -> Item:
    """A bisect job's item: `suite` holds workload/scheme, `config` layout/pipeline (see queue_steps)."""
    workload, _, scheme = job["suite"].rpartition("/")
    layout, _, pipeline = job["config"].partition("/")
    return find_item(workload, scheme, layout, pipeline)
