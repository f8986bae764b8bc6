"""The words perfbot uses, in one place: suites, configurations, statuses, verdicts and their labels.

The store records these strings, the console table colours them, the PR
comment, the commit statuses and the dashboard print their labels, and the
`@perfbot` commands accept the suite and configuration names. Anything that
lists statuses or verdicts takes the list from here.

The verdict thresholds live here too: `PAIRED_MIN_EFFECT` is the smallest
change that can make a PR item `slower` or `faster` (its base and its head
timed side by side in one job, the change confirmed by a rerun), and
`MIN_EFFECT` the smallest step between separate runs: a change point the
dashboard marks on the base branch, a commit a bisect is started for.
bot/stats.py raises either above a series' own noise where the history shows
that noise.
"""

from __future__ import annotations

#: The smallest relative step between separate runs that counts (base-branch change points, bisects).
MIN_EFFECT = 0.05
#: The smallest relative change a PR item reports as slower/faster (side-by-side rounds, rerun to confirm).
#: Smaller than MIN_EFFECT: both builds share the job's machine state, and at 5% a real 5% change is a coin
#: toss. At 2% real 5% and 10% changes were caught 8 and 9 times in 10, and 80 A/A items quiet and 80 loaded
#: raised no alarm (README, "How verdicts are decided": benchmarks/verdict_noise.py).
PAIRED_MIN_EFFECT = 0.02
#: MetaSchedule trials per task that a tuning job gives the device's database.
TUNE_TRIALS = 64
#: Tuning jobs go after every run: they fill a device's idle time, and never hold up a PR's comment.
TUNE_PRIORITY = -10
#: Bisect jobs go after PR and base-branch jobs (nobody waits on them), before tuning.
BISECT_PRIORITY = -5

# What to run -----------------------------------------------------------------------------

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
EMULATED = "emulated"
NO_BASELINE = "no baseline"
SAME_CODE = "same code"  # the PR compiled the item to exactly the base's code: nothing to time
FLAKY = "flaky_result"  # a wrong result that the confirming rerun did not reproduce
UNTUNED = "untuned"  # a tuned row whose tasks the device's database has no records for
TUNING = "tuning"  # ... while a tuning job for the device is queued or running

#: The latency verdicts bot/stats.py can give.
LATENCY_VERDICTS = (SLOWER, FASTER, UNCHANGED, INCONCLUSIVE)
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
    FASTER,
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
    WRONG_RESULT,
    BUILD_ERROR,
    COMPILE_ERROR,
    RUNTIME_ERROR,
    CRASH,
    TIMEOUT,
    ENVIRONMENT_ERROR,
    FLAKY,
    FASTER,
    UNCHANGED,
    INCONCLUSIVE,
    EMULATED,
    NO_BASELINE,
    UNTUNED,
    TUNING,
    SAME_CODE,
)
#: Verdicts that make a device's commit status fail.
ALARMS = (SLOWER, WRONG_RESULT)

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
_UNCOUNTED = {SLOWER, FASTER, UNCHANGED, INCONCLUSIVE, EMULATED, NO_BASELINE, SAME_CODE, UNTUNED, TUNING}


def label(word: str) -> str:
    """How a status or verdict reads to a person: `wrong_result` -> `wrong result`."""
    return LABELS.get(word, word)


def counted(n: int, word: str) -> str:
    """`1 wrong result`, `2 wrong results`, `3 slower`."""
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


def milliseconds(value: float | None, missing: str = "-") -> str:
    """A latency as the console table and the PR comment write it: two decimals, and two significant
    digits below 0.1 ms, so that a tiny model's 0.0043 ms is not printed as 0.00."""
    if value is None:
        return missing
    return f"{value:,.2f}" if abs(value) >= 0.1 or value == 0 else f"{value:.2g}"
