"""The words perfbot uses, in one place: suites, configurations, statuses, verdicts and their labels.

The store records these strings, the console table colours them, the PR
comment, the commit statuses and the dashboard print their labels, and the
`@perfbot` commands accept the suite and configuration names. Anything that
lists statuses or verdicts takes the list from here.

The verdict thresholds live here too: `PAIRED_MIN_EFFECT` is the margin of a
PR item's verdict (its base and its head timed side by side in one job:
`unchanged` when the interval lies inside it, `slower` or `faster` when the
interval lies clear of it, `undecided` when neither by the last round), and
`MIN_EFFECT` the smallest step between separate runs: a change point the
dashboard marks on the base branch, a commit a bisect is started for.
bot/stats.py raises either above a series' own noise where the history shows
that noise.

Tested where the words are used: the thresholds in tests/test_stats.py, the labels in tests/test_console.py and tests/github/.
"""

from __future__ import annotations

#: The smallest relative step between separate runs that counts (base-branch change points, bisects).
MIN_EFFECT = 0.05
#: The margin of a PR item's timed verdict, both ways (side-by-side rounds: bot/stats.judge_rounds).
#: Smaller than MIN_EFFECT: both builds share the job's machine state, and a change the size of the margin is
#: caught half the time at best, so at 5% a real 5% change would be a coin toss. At 2%, pairs of processes the
#: unit, quiet (README, "How verdicts are decided": benchmarks/verdict_noise.py, 5 PR jobs a build): real +10%
#: changes caught on every item, +5% on 75-80%, none called `unchanged`; 20 A/A PR jobs of 12 items raised no
#: alarm quiet and 1 in 240 items loaded. A series' own noise raises it where the history shows it (bot/stats.py).
PAIRED_MIN_EFFECT = 0.02
#: The smallest relative change in an item's instruction count that is reported (instruction-counting boards),
#: and the fewest instructions. Measured on perfbot's own path (benchmarks/instruction_counts.py, README
#: "Instruction counts"): the same build counted in new processes, and two builds that compile to the same code
#: counted side by side, differ by at most 35 instructions in 12 smoke items and Inception-v3 (20.9 G
#: instructions: 0 apart); the same runtime binary served from two folders by two servers, by 409 (CI, in the
#: loader and Python, none in the kernels). COUNT_FLOOR is above that; it decides for tiny models only. Above it every
#: change is real work; COUNT_MIN_EFFECT, 0.1%, is where rustc-perf and the LLVM compile-time tracker start to
#: call a change in counted instructions worth a look, and is the level below which perfbot says `unchanged`.
COUNT_MIN_EFFECT = 0.001
COUNT_FLOOR = 1_000
#: MetaSchedule trials per task that a tuning job gives the device's database.
TUNE_TRIALS = 64
#: Tuning jobs go after every run: they fill a device's idle time, and never hold up a PR's comment.
TUNE_PRIORITY = -10
#: Bisect jobs go after PR and base-branch jobs (nobody waits on them), before tuning.
BISECT_PRIORITY = -5

# What to run -----------------------------------------------------------------------------

#: The emulated AArch64 board perfbot brings up itself (devices.yml `bring_up`), and its device's name.
QEMU_AARCH64 = "qemu-aarch64"
#: What a device measures (devices.yml `metric`): wall-clock time, or instructions counted under emulation.
TIME = "time"
INSTRUCTIONS = "instructions"
METRICS = (TIME, INSTRUCTIONS)

SUITES = ("smoke", "conv", "full")
SCHEMES = ("uint8", "int8")
LAYOUTS = ("NHWC", "NCHW")
#: `default` is TVM's own CPU pipeline; `tuned` applies a MetaSchedule database.
PIPELINES = ("default", "tuned")

# What happened to an item (results.status) --------------------------------------------------

OK = "ok"
WRONG_RESULT = "wrong_result"
COMPILE_ERROR = "compile_error"
RUNTIME_ERROR = "runtime_error"
CRASH = "crash"
TIMEOUT = "timeout"
ENVIRONMENT_ERROR = "environment_error"
BUILD_ERROR = "build_error"  # the commit's TVM did not build, or its Python did not import

#: Every status a result can be recorded with.
RESULT_STATUSES = (OK, WRONG_RESULT, COMPILE_ERROR, RUNTIME_ERROR, CRASH, TIMEOUT, ENVIRONMENT_ERROR, BUILD_ERROR)
#: The code under test failed to build, compile or run (a failure of the TVM under test, not of the harness).
FAILURES = (BUILD_ERROR, COMPILE_ERROR, RUNTIME_ERROR, CRASH, TIMEOUT)
#: Statuses whose timed samples count: a wrong answer still took its time.
TIMED = (OK, WRONG_RESULT)

# What a PR item is, against its base (a row's verdict) -----------------------------------------

SLOWER = "slower"
FASTER = "faster"
UNCHANGED = "unchanged"
INCONCLUSIVE = "inconclusive"
UNDECIDED = "undecided"  # the rounds stopped (the cap, or it could not decide) with the interval past the margin
EMULATED = "emulated"
NO_BASELINE = "no baseline"
SAME_CODE = "same code"  # the PR compiled the item to exactly the base's code: nothing to time
MORE_INSTRUCTIONS = "more instructions"  # an instruction-counting board: the PR's item executes more, exactly
FEWER_INSTRUCTIONS = "fewer instructions"
FLAKY = "flaky_result"  # a wrong result that the confirming rerun did not reproduce
UNTUNED = "untuned"  # a tuned row whose tasks the device's database has no records for
TUNING = "tuning"  # ... while a tuning job for the device is queued or running

#: The latency verdicts bot/stats.py can give.
LATENCY_VERDICTS = (SLOWER, FASTER, UNCHANGED, UNDECIDED, INCONCLUSIVE)

# Why a PR item's side-by-side rounds stopped (results.stopped) ----------------------------------

STOPPED_UNCHANGED = "decided unchanged"
STOPPED_CHANGED = "decided changed"
STOPPED_AT_CAP = "cap"
STOPPED_CANNOT_DECIDE = "cannot decide"  # undecided, and the cap's rounds would not decide it (bot/stats.py)
STOPPED_WRONG = "wrong result"  # the PR side answered wrong: one pair's rounds, no latency verdict
STOPPED = (STOPPED_UNCHANGED, STOPPED_CHANGED, STOPPED_AT_CAP, STOPPED_CANNOT_DECIDE, STOPPED_WRONG)
#: Table order: what needs attention first.
ATTENTION_ORDER = (
    BUILD_ERROR,
    WRONG_RESULT,
    FLAKY,
    COMPILE_ERROR,
    RUNTIME_ERROR,
    CRASH,
    TIMEOUT,
    ENVIRONMENT_ERROR,
    SLOWER,
    MORE_INSTRUCTIONS,
    FASTER,
    FEWER_INSTRUCTIONS,
    UNDECIDED,
    UNCHANGED,
    INCONCLUSIVE,
    EMULATED,
    NO_BASELINE,
    UNTUNED,
    TUNING,
    SAME_CODE,
)
#: Summary order, as a reviewer reads it: "2 slower, 1 wrong result, 14 unchanged".
SUMMARY_ORDER = (
    SLOWER,
    MORE_INSTRUCTIONS,
    WRONG_RESULT,
    BUILD_ERROR,
    COMPILE_ERROR,
    RUNTIME_ERROR,
    CRASH,
    TIMEOUT,
    ENVIRONMENT_ERROR,
    FLAKY,
    FASTER,
    FEWER_INSTRUCTIONS,
    UNDECIDED,
    UNCHANGED,
    INCONCLUSIVE,
    EMULATED,
    NO_BASELINE,
    UNTUNED,
    TUNING,
    SAME_CODE,
)
#: Verdicts that make a device's commit status fail: more instructions is exact, so never a false alarm.
ALARMS = (SLOWER, MORE_INSTRUCTIONS, WRONG_RESULT)

LABELS = {
    WRONG_RESULT: "wrong result",
    COMPILE_ERROR: "compile error",
    RUNTIME_ERROR: "runtime error",
    ENVIRONMENT_ERROR: "environment error",
    BUILD_ERROR: "build error",
    FLAKY: "flaky result",
    UNTUNED: "untuned: no record",
    TUNING: "untuned: tuning under way",
}
#: Labels that read as adjectives: "3 slower", not "3 slowers".
_UNCOUNTED = {SLOWER, FASTER, UNCHANGED, UNDECIDED, INCONCLUSIVE, EMULATED, NO_BASELINE, SAME_CODE, UNTUNED, TUNING}
#: Verdicts that read as a phrase after a number: "2 with more instructions", not "2 more instructions".
_PHRASES = {MORE_INSTRUCTIONS: "with more instructions", FEWER_INSTRUCTIONS: "with fewer instructions"}


def label(word: str) -> str:
    """How a status or verdict reads to a person: `wrong_result` -> `wrong result`."""
    return LABELS.get(word, word)


def counted(n: int, word: str) -> str:
    """`1 wrong result`, `2 wrong results`, `3 slower`, `2 with more instructions`."""
    if word in _PHRASES:
        return f"{n} {_PHRASES[word]}"
    text = label(word)
    return f"{n} {text}" if n == 1 or word in _UNCOUNTED else f"{n} {text}s"


def attention(word: str) -> int:
    """Sort key: what needs attention first (unknown words last)."""
    return ATTENTION_ORDER.index(word) if word in ATTENTION_ORDER else len(ATTENTION_ORDER)


#: Terminal colours (rich markup) per status.
STATUS_STYLE = {
    OK: "green",
    WRONG_RESULT: "bold red",
    COMPILE_ERROR: "red",
    RUNTIME_ERROR: "red",
    CRASH: "bold red",
    TIMEOUT: "yellow",
    ENVIRONMENT_ERROR: "magenta",
    BUILD_ERROR: "bold red",
}

# Commit statuses ---------------------------------------------------------------------------

#: A device's commit status: GitHub's four states.
STATE_ICONS = {"success": "✅", "failure": "❌", "pending": "⏳", "error": "⚠️"}


def instructions(value: int | None, missing: str = "-") -> str:
    """An instruction count as tables write it, four significant digits: `61.25 M`, `1,018 M`, `36.79 G`."""
    if value is None:
        return missing
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            scaled = value / size
            decimals = max(0, 3 - len(str(int(abs(scaled)))) + 1)  # 1.018, 61.25, 126.0, 1,018
            return f"{scaled:,.{decimals}f} {unit}"
    return f"{value:,}"


def change_percent(change: float | None, missing: str = "-") -> str:
    """A relative change as tables write it: `+12.4%`, and three decimals below 0.1% (`+0.004%`)."""
    if change is None:
        return missing
    return f"{change * 100:+.1f}%" if abs(change) >= 0.001 or change == 0 else f"{change * 100:+.3f}%"


def built_from(env: str | None, version: str | None = None, how: str | None = None) -> str:
    """Which TVM a side of a run was, in words, from the run's environment key, TVM version and build:
    `TVM 0.27.0 built from 4f2a9c0e1b (native libraries: cmake)`, or, where perfbot built no commit,
    `TVM 0.27.0.post1 as installed for /usr/bin/python3 (perfbot built no commit into it)`."""
    kind, _, where = (env or "").partition(":")
    tvm = f"TVM {version}" if version else "TVM"
    if kind == "source":
        return f"{tvm} built from {where.rpartition('@')[2][:10]}" + (f" (native libraries: {how})" if how else "")
    if kind == "pip":
        return f"{tvm} from pip {where}: a release, not built from a commit"
    if kind == "python":
        return f"{tvm} as installed for {where} (perfbot built no commit into it)"
    if kind == "unbuilt":
        return f"not built: {where[:10]} did not build"
    return f"{tvm} ({env})" if env else tvm


def milliseconds(value: float | None, missing: str = "-") -> str:
    """A latency as the console table and the PR comment write it: two decimals, and two significant
    digits below 0.1 ms, so that a tiny model's 0.0043 ms is not printed as 0.00."""
    if value is None:
        return missing
    return f"{value:,.2f}" if abs(value) >= 0.1 or value == 0 else f"{value:.2g}"
