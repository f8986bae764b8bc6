"""`perfbot run`, `perfbot tune` and `perfbot history`: the engine by hand, as a person types it.

Each is set up as bot/cli/setup.py says (what can be refused is refused before
any work), runs, and prints a table: the results, or for a PR run the verdicts
its comment would show.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import click

from bot import console
from bot.cli import setup
from bot.cli.options import db_option, device_option, devices_option, env_option, model_option, suite_option
from bot.engine.runner import Runner, Subject
from bot.engine.suite.suites import get_suite, user_suite
from bot.errors import BadSetting, BadUsage, ItemsNotOk, TuningNotOk
from bot.settings import Settings
from bot.vocabulary import OK, WRONG_RESULT

#: What `perfbot run --fail-on` can count as a failure (exit status 3).
FAIL_ON = ("any-failure", "wrong-result", "never")


@click.command()
@suite_option
@device_option
@model_option
@db_option
@devices_option
@click.option("--tuning", is_flag=True, help="Also run the tuned pipeline from `perfbot tune`'s database.")
@env_option
@click.option(
    "--kind",
    type=click.Choice(["local", "base", "pr"]),
    default="local",
    show_default=True,
    help="What the run is of: a local try, a base-branch commit, or a PR head (needs a build of the PR: "
    "--env source:CHECKOUT@SHA, or python:PATH with --sha).",
)
@click.option("--repo", default=None, help="OWNER/NAME of the TVM repository the commit belongs to.")
@click.option("--sha", default=None, help="Commit of the TVM build under test (a source: --env gives it).")
@click.option("--pr", type=int, default=None, help="Pull request number (with --kind pr).")
@click.option("--base-sha", default=None, help="The PR's merge base (with --kind pr; a source: --base-env gives it).")
@click.option(
    "--base-env",
    "base_spec",
    default=None,
    metavar="SPEC",
    help="Time this build (e.g. source:CHECKOUT@MERGE_BASE) beside --env's, round by round, as a PR job does: "
    "the run gets paired verdicts, each from pairs of processes with fork servers of their own.",
)
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="any-failure",
    show_default=True,
    help="Which recorded items make the exit status 3: any that is not ok, only wrong results, or none.",
)
def run(fail_on, **options):
    """Compile, run and check a suite (or your model) with TVM against TFLite, and record it.

    \b
    Exit status:
      0  the run was recorded and every item is ok (or none counts, see --fail-on)
      1  nothing was run: bad input (devices.yml, a disabled device, the model, an unreachable board,
         a --db in a missing or unwritable folder, a damaged database), one line on stderr
      2  a usage error (an unknown device, suite or option; options that need each other)
      3  the run was recorded, and items in it are not ok: compile_error, runtime_error, crash,
         timeout, wrong_result, environment_error or build_error (--fail-on wrong-result: wrong_result only)
      130, 143  stopped by Ctrl-C or SIGTERM; the run is recorded as aborted, nothing it started keeps running
    """
    check_run_options(**options)
    outcome = run_suite(setup.settings(), **options)
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
@devices_option
@env_option
def tune(suite_name, device_name, model_path, trials, db_path, env_spec):
    """Tune a suite with MetaSchedule; later `perfbot run --tuning` reuses the database.

    Exits 3 when the tuning did not finish (a compile error, a crash of the TVM under test, a timeout):
    the tasks it finished are kept, and the next `perfbot tune` resumes after them.
    """
    tune_and_show(setup.settings(), suite_name, device_name, model_path, trials, db_path, env_spec)


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
@devices_option
def history(versions, suite_name, device_name, db_path):
    """Run a suite on each TVM release and record them as consecutive base-branch points."""
    from bot.engine import releases

    names = [v for value in versions for v in value.split()]
    releases.release_order(names, {})  # a bad release number: one line, before any work
    config = setup.settings()
    device = setup.device_to_measure(config, device_name)
    suite = get_suite(suite_name)
    db = setup.database(config, db_path)
    with setup.measuring(config, device, db, say=releases.say_dimly) as (device, store):
        runs = releases.run_history(store, config.cache_dir, suite, device, names)
    console.console.print(releases.release_table(runs, suite.name, device.name))


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


def check_run_options(*, kind, env_spec, sha, pr, base_sha, base_spec, **_) -> None:
    """`perfbot run`'s options that only make sense together (BadUsage, exit 2), before anything else.

    A PR run must measure a build of the PR: without --env perfbot would time the apache-tvm it is
    installed with on both sides and call every item `same code`. So `--kind pr` takes a source: spec
    (perfbot builds the commit) or a python: interpreter of a build the user made, with its --sha.
    """
    if pr is not None and kind != "pr":
        raise BadUsage(f"--pr {pr} is for a PR run: give --kind pr too (this would be recorded as a {kind} run)")
    for option, value in (("--base-env", base_spec), ("--base-sha", base_sha)):
        if value and kind != "pr":
            raise BadUsage(f"{option} is a PR's merge base: give --kind pr --pr NUMBER too")
    if kind != "pr":
        return
    if pr is None:
        raise BadUsage("--kind pr needs --pr NUMBER")
    spec_kind = (env_spec or "").partition(":")[0]
    if spec_kind not in ("source", "python"):
        raise BadUsage(
            f"--kind pr measures the PR's own TVM, and {'--env ' + env_spec if env_spec else 'no --env'} is not "
            "a build of it: give --env source:CHECKOUT@HEAD_SHA (perfbot builds it), or python:PATH of your "
            "build with --sha"
        )
    if spec_kind == "python" and not sha:
        raise BadUsage(f"--env {env_spec} does not say which commit it is: give --sha HEAD_SHA")


def run_suite(
    settings: Settings, suite_name, device_name, model_path, db_path, tuning, env_spec, base_spec=None, **fields
):
    """Set up as bot/cli/setup.py says, run (a PR's build beside its base's with `base_spec`), print."""
    device = setup.device_to_measure(settings, device_name)
    suite = resolve_suite(suite_name, model_path)
    db = setup.database(settings, db_path)
    subject = resolve_subject(settings, env_spec, **fields)
    base = None
    if base_spec:
        base = resolve_subject(settings, base_spec, kind="base", repo=fields.get("repo"), sha=fields.get("base_sha"))
    subject, base = with_commits(subject, env_spec, base, base_spec)
    with setup.measuring(settings, device, db) as (device, store), console.progress() as progress:
        runner = Runner(store, settings.cache_dir, progress)
        if base is None:
            outcome = runner.run(suite, device, subject, tuning=tuning)
        else:
            outcome = runner.run_paired(suite, device, base, subject, tuning=tuning)
        if subject.kind == "pr":
            show_verdicts(store, setup.registry(settings), outcome, f"{suite.name} on {device.name}", db)
        else:
            show_results(store, setup.registry(settings), outcome, suite, device, tuning, db)
    return outcome


def with_commits(subject: Subject, env_spec, base: Subject | None, base_spec) -> tuple[Subject, Subject | None]:
    """A source: build names its commit: it is the run's sha (and the base's, its base_sha), and a --sha or
    --base-sha that says otherwise is refused."""
    for option, value, spec, side in (("--sha", subject.sha, env_spec, subject),
                                      ("--base-sha", subject.base_sha, base_spec, base)):  # fmt: skip
        commit = side.build.get("commit") if side is not None else None
        if commit and value and not commit.startswith(value):
            raise BadSetting(f"{option} {value} is not the commit {spec} builds ({commit})")
    if subject.build.get("commit"):
        subject = replace(subject, sha=subject.build["commit"])
    if base is not None and base.build.get("commit"):
        base = replace(base, sha=base.build["commit"])
        subject = replace(subject, base_sha=base.sha)
    return subject, base


def show_results(store, registry, outcome, suite, device, tuning: bool, db: Path) -> None:
    """A run of one build: its results table (TVM against TFLite), then the one-line summary."""
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
            console.console.print(console.breakdown_table(bd, f"where Inception-v3 {scheme}'s {bd.goes}{note}"))
    _notes(store, registry, outcome.run_id)
    console.console.print(
        f"{console.summary(outcome.results)}. Recorded as run {outcome.run_id} in {db}. "
        f"TVM/TFLite below 1 means TVM is faster.",
        markup=False,
        soft_wrap=True,
    )


def show_verdicts(store, registry, outcome, title: str, db: Path) -> None:
    """A PR run: the verdicts its comment would show (bot/verdicts.py decides them), then the summary."""
    from bot import verdicts

    report = verdicts.of_run(store, registry, outcome.run_id)
    device = report.devices[0]
    base = " against its base" + (f" {report.base_sha[:10]}" if report.base_sha else "")
    head = f"PR {report.head_sha[:10]}" if report.head_sha else "the PR"
    console.console.print(console.verdict_table(device, f"{title}: {head}{base if device.base_built else ' alone'}"))
    _notes(store, registry, outcome.run_id, device)
    pr = store.run(outcome.run_id).get("pr")
    console.console.print(
        f"{verdicts.counts_text(device.counts) or 'no results'}, of {len(device.rows)} items. "
        f"Recorded as run {outcome.run_id} in {db}; `perfbot report --pr {pr} --print --db {db}` shows the comment.",
        markup=False,
        soft_wrap=True,
    )


def _notes(store, registry, run_id: int, device=None) -> None:
    """Which TVM each side was, and what ran the modules on the device when that is another build."""
    from bot import verdicts

    device = device or verdicts.of_run(store, registry, run_id).devices[0]
    for line in console.device_notes(device):
        console.console.print(line, markup=False, soft_wrap=True)


def tune_and_show(settings: Settings, suite_name, device_name, model_path, trials, db_path, env_spec) -> None:
    """Tune, with a line of progress every 15 s (a log file gets them too), then a table per task."""
    from rich.markup import escape
    from rich.table import Table

    from bot.engine import tuning

    device = setup.device_to_measure(settings, device_name)
    suite = resolve_suite(suite_name, model_path)
    db = setup.database(settings, db_path)
    subject = resolve_subject(settings, env_spec)
    say = lambda line: console.errors.print(escape(line))  # noqa: E731
    with setup.measuring(settings, device, db, say=say) as (device, store):
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
