"""`perfbot run`, `perfbot tune` and `perfbot history`: the engine by hand, as a person types it.

Each resolves names (device, suite or model, TVM environment), checks what can
be refused before anything is written, runs, and prints a table.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from bot import console, devices
from bot.cli.options import db_option, device_option, env_option, model_option, settings, suite_option
from bot.engine.boards import preflight
from bot.engine.runner import Runner, Subject
from bot.engine.suite.suites import get_suite, user_suite
from bot.errors import ItemsNotOk, TuningNotOk, UnknownName
from bot.settings import Settings
from bot.store import Store
from bot.vocabulary import OK, WRONG_RESULT

#: What `perfbot run --fail-on` can count as a failure (exit status 3).
FAIL_ON = ("any-failure", "wrong-result", "never")


@click.command()
@suite_option
@device_option
@model_option
@db_option
@click.option("--tuning", is_flag=True, help="Also run the tuned pipeline from `perfbot tune`'s database.")
@env_option
@click.option(
    "--kind",
    type=click.Choice(["local", "base", "pr"]),
    default="local",
    show_default=True,
    help="What the run is of: a local try, a base-branch commit, or a PR head.",
)
@click.option("--repo", default=None, help="OWNER/NAME of the TVM repository the commit belongs to.")
@click.option("--sha", default=None, help="Commit of the TVM build under test.")
@click.option("--pr", "pr_number", type=int, default=None, help="Pull request number (with --kind pr).")
@click.option("--base-sha", default=None, help="The PR's merge base (with --kind pr).")
@click.option(
    "--base-env",
    "base_spec",
    default=None,
    metavar="SPEC",
    help="Time this build (e.g. source:CHECKOUT@MERGE_BASE) beside --env's, round by round, as a PR job does: "
    "the run gets paired verdicts, and a change is confirmed by a rerun before it is reported.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="any-failure",
    show_default=True,
    help="Which recorded items make the exit status 3: any that is not ok, only wrong results, or none.",
)
def run(
    suite_name,
    device_name,
    model_path,
    db_path,
    tuning,
    env_spec,
    kind,
    repo,
    sha,
    pr_number,
    base_sha,
    base_spec,
    fail_on,
):
    """Compile, run and check a suite (or your model) with TVM against TFLite, and record it.

    \b
    Exit status:
      0  the run was recorded and every item is ok (or none counts, see --fail-on)
      1  nothing was run: bad input (devices.yml, the model, an unreachable board), one line on stderr
      2  a usage error (an unknown device, suite or option)
      3  the run was recorded, and items in it are not ok: compile_error, runtime_error, crash,
         timeout, wrong_result, environment_error or build_error (--fail-on wrong-result: wrong_result only)
      130, 143  stopped by Ctrl-C or SIGTERM; the run is recorded as aborted, nothing it started keeps running
    """
    outcome = run_suite(
        settings(),
        suite_name,
        device_name,
        model_path,
        db_path,
        tuning,
        env_spec,
        kind=kind,
        repo=repo,
        sha=sha,
        pr=pr_number,
        base_sha=base_sha,
        base_spec=base_spec,
    )
    check_items(outcome.results, fail_on, outcome.run_id)


@click.command()
@suite_option
@device_option
@model_option
@click.option(
    "--trials",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="MetaSchedule trials per task (a task with that many already is skipped: a rerun resumes).",
)
@db_option
@env_option
def tune(suite_name, device_name, model_path, trials, db_path, env_spec):
    """Tune a suite with MetaSchedule; later `perfbot run --tuning` reuses the database.

    Exits 3 when the tuning did not finish (a compile error, a crash of the TVM under test, a timeout):
    the tasks it finished are kept, and the next `perfbot tune` resumes after them.
    """
    tune_suite(settings(), suite_name, device_name, model_path, trials, db_path, env_spec)


@click.command()
@click.option(
    "--versions",
    multiple=True,
    required=True,
    metavar="VERSION...",
    help="apache-tvm releases, oldest first (repeat, or space-separated in quotes).",
)
@suite_option
@device_option
@db_option
def history(versions, suite_name, device_name, db_path):
    """Run a suite on each TVM release and record them as consecutive base-branch points."""
    from bot.engine import releases

    names = [v for value in versions for v in value.split()]
    releases.run_history(settings(), names, suite_name, device_name, db_path)


COMMANDS = (run, tune, history)


def check_items(results, fail_on: str, run_id: int) -> None:
    """ItemsNotOk (exit 3) when the recorded items include what `fail_on` counts as a failure."""
    counted = {
        "any-failure": [r for r in results if r.status != OK],
        "wrong-result": [r for r in results if r.status == WRONG_RESULT],
        "never": [],
    }[fail_on]
    if counted:
        statuses = Counter(r.status for r in counted)
        what = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
        raise ItemsNotOk(f"{len(counted)} of {len(results)} items in run {run_id} are not ok ({what})")


def resolve_suite(suite_name: str, model_path: Path | None):
    return user_suite(model_path) if model_path else get_suite(suite_name)


def resolve_subject(settings: Settings, env_spec: str | None, **fields) -> Subject:
    """Provision (or reuse) the TVM environment under test, the one the child scripts run in."""
    from bot.engine import subjects

    return subjects.subject(
        env_spec, settings.cache_dir, say=lambda line: console.errors.print(f"[dim]{line}[/]"), **fields
    )


def run_suite(
    settings: Settings, suite_name, device_name, model_path, db_path, tuning, env_spec, base_spec=None, **fields
):
    registry = devices.load(settings.devices_path)
    device = registry.get(device_name)
    suite = resolve_suite(suite_name, model_path)
    if fields.get("kind") == "pr" and not fields.get("pr"):
        raise UnknownName("--kind pr needs --pr NUMBER")
    if base_spec and fields.get("kind") != "pr":
        raise UnknownName("--base-env measures a PR's merge base beside it: give --kind pr --pr NUMBER too")
    subject = resolve_subject(settings, env_spec, **fields)
    base = None
    if base_spec:
        base = resolve_subject(settings, base_spec, kind="base", repo=fields.get("repo"), sha=fields.get("base_sha"))
    db = Path(db_path or settings.db_path)
    with preflight.device_ready(device, settings.cache_dir, say=console.note) as device:
        store = Store.open(db)
        with console.BarProgress() as progress:
            runner = Runner(store, settings.cache_dir, progress)
            if base is None:
                outcome = runner.run(suite, device, subject, tuning=tuning)
            else:
                outcome = runner.run_paired(suite, device, base, subject, tuning=tuning)
    title = f"{suite.name} on {device.name}" + (
        " (instructions of one inference on the emulated core, not time)"
        if device.counts
        else " (emulated: latency not comparable with hardware)"
        if device.emulated
        else ""
    )
    console.console.print(console.results_table(outcome.results, title))
    rows = console.as_rows(outcome.results)
    if len({r["workload"] for r in rows}) > 1 or tuning:
        console.console.print(console.best_table(rows, f"TVM against TFLite on {device.name}: each workload's best"))
    if any(r["workload"] == "inception_v3" for r in rows):
        from bot.breakdown import breakdown

        parts = store.network_parts("inception_v3")
        for scheme in sorted({r["scheme"] for r in rows if r["workload"] == "inception_v3"}):
            bd = breakdown("inception_v3", scheme, parts, rows)
            note = f" ({len(bd.missing)} configurations not measured)" if bd.missing else ""
            console.console.print(console.breakdown_table(bd, f"where Inception-v3 {scheme}'s time goes{note}"))
    console.console.print(
        f"{console.summary(outcome.results)}. Recorded as run {outcome.run_id} in {db}. "
        f"TVM/TFLite below 1 means TVM is faster."
    )
    return outcome


def tune_suite(settings: Settings, suite_name, device_name, model_path, trials, db_path, env_spec) -> None:
    """Tune, with a line of progress every 15 s (a log file gets them too), then a table per task."""
    from rich.markup import escape
    from rich.table import Table

    from bot.engine import tuning

    registry = devices.load(settings.devices_path)
    device = registry.get(device_name)
    suite = resolve_suite(suite_name, model_path)
    subject = resolve_subject(settings, env_spec)
    say = lambda line: console.errors.print(escape(line))  # noqa: E731
    with preflight.device_ready(device, settings.cache_dir, say=say) as device:
        store = Store.open(Path(db_path or settings.db_path))
        outcome = tuning.tune_suite(store, settings.cache_dir, suite, device, subject, trials, say=say)
    table = Table(
        title=f"tuning {suite.name} on {device.name}: {outcome.trials} trials in {outcome.seconds:.0f} s "
        f"({outcome.trials_per_s:.2f}/s), up to {trials} per task",
        title_justify="left",
    )
    for column, justify in (("task", "left"), ("used by", "left"), ("trials before", "right"), ("after", "right")):
        table.add_column(column, justify=justify)
    for task in outcome.tasks:
        items = task["items"]
        used = ", ".join(items[:2]) + (f" and {len(items) - 2} more" if len(items) > 2 else "")
        table.add_row(task["task"], used, str(task["before"]), str(task.get("after", "–")))
    console.console.print(table)
    console.console.print(
        f"database: {outcome.database or tuning.database_dir(settings.cache_dir, device)}; "
        f"`perfbot run --tuning` applies it"
    )
    if outcome.status != "ok":
        first = (outcome.error or "").splitlines()[:1]
        raise TuningNotOk(f"tuning {outcome.status}: {first[0] if first else 'no error message'}")
