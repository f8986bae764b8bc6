"""The `perfbot` command: thin click commands over the library.

Each command reads settings, calls into the library, and turns perfbot's own
errors into one line on stderr and exit code 1 (2 for usage errors, as click does).
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click

from bot import __version__
from bot.config import Settings
from bot.errors import PerfbotError


def settings() -> Settings:
    return Settings.from_env()


def fails_cleanly(command):
    """Library errors become one clear line and a non-zero exit, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except PerfbotError as e:
            raise click.ClickException(str(e)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def db_option(command):
    return click.option(
        "--db",
        "db_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="SQLite database (default: $PERFBOT_DB or ./perf.db).",
    )(command)


def device_option(command):
    return click.option("--device", "device_name", default="local", show_default=True, help="Device from devices.yml.")(
        command
    )


def env_option(command):
    return click.option(
        "--env",
        "env_spec",
        default=None,
        help="TVM build under test: python:PATH, pip:REQUIREMENT or source:CHECKOUT@SHA "
        "(default: the interpreter perfbot runs in).",
    )(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="perfbot")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Performance tracker and CI bot for TVM's quantized inference on ARM."""
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--suite", "suite_name", default="smoke", show_default=True, help="smoke, conv or full.")
@device_option
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Your own .tflite file instead of a suite.",
)
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
@fails_cleanly
def run(suite_name, device_name, model_path, db_path, tuning, env_spec, kind, repo, sha, pr_number, base_sha):
    """Compile, run and check a suite (or your model) with TVM against TFLite, and record it."""
    from bot.cli import measure

    measure.run(
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
    )


@main.command()
@click.option("--suite", "suite_name", default="smoke", show_default=True)
@device_option
@click.option("--model", "model_path", type=click.Path(path_type=Path), default=None)
@click.option(
    "--trials",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="MetaSchedule trials per workload and layout.",
)
@db_option
@env_option
@fails_cleanly
def tune(suite_name, device_name, model_path, trials, db_path, env_spec):
    """Tune a suite with MetaSchedule; later `perfbot run --tuning` reuses the database."""
    from bot.cli import measure

    measure.tune(settings(), suite_name, device_name, model_path, trials, db_path, env_spec)


def repo_option(required: bool = True):
    return click.option(
        "--repo",
        envvar="PERFBOT_REPO",
        required=required,
        help="OWNER/NAME of the watched repository (or $PERFBOT_REPO).",
    )


@main.command()
@repo_option()
@click.option("--branch", default="main", show_default=True, help="Base branch whose commits are the baseline.")
@click.option("--interval", type=click.FloatRange(min=1), default=60, show_default=True, help="Seconds between polls.")
@click.option("--once", is_flag=True, help="Poll, handle and publish once, then exit.")
@db_option
@fails_cleanly
def watch(repo, branch, interval, once, db_path):
    """Poll open PRs, their comments and the base branch; queue jobs and publish results."""
    from bot.cli import service

    service.watch(settings(), repo, branch, interval, once, db_path)


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.5),
    default=5,
    show_default=True,
    help="Seconds between publishing rounds.",
)
@db_option
@fails_cleanly
def serve(host, port, interval, db_path):
    """Receive GitHub webhooks (signed with $PERFBOT_WEBHOOK_SECRET); queue jobs and publish results."""
    from bot.cli import service

    service.serve(settings(), host, port, interval, db_path)


@main.command()
@device_option
@env_option
@click.option(
    "--source",
    "source_checkout",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A TVM git checkout: each job builds its own sha from it (source:CHECKOUT@SHA).",
)
@click.option("--once", is_flag=True, help="Exit when the queue is empty.")
@click.option(
    "--lease",
    "lease_s",
    type=click.FloatRange(min=5),
    default=120,
    show_default=True,
    help="Seconds a claimed job stays this worker's without a heartbeat.",
)
@db_option
@fails_cleanly
def worker(device_name, env_spec, source_checkout, once, lease_s, db_path):
    """Claim queued jobs for a device and run them."""
    from bot.cli import service

    service.work(settings(), device_name, env_spec, source_checkout, once, lease_s, db_path)


@main.command()
@repo_option()
@click.option("--pr", "pr_number", type=int, default=None, help="Pull request to (re)run.")
@click.option("--sha", default=None, help="A base-branch commit to run instead of a PR.")
@click.option("--device", "device_name", default=None, help="Only this device.")
@click.option("--suite", "suite_name", default=None, help="Only this suite.")
@db_option
@fails_cleanly
def enqueue(repo, pr_number, sha, device_name, suite_name, db_path):
    """Queue jobs by hand: what `@perfbot rerun` does."""
    from bot.cli import service

    service.enqueue(settings(), repo, pr_number, sha, device_name, suite_name, db_path)


@main.command()
@repo_option()
@click.option("--pr", "pr_number", type=int, required=True)
@db_option
@fails_cleanly
def report(repo, pr_number, db_path):
    """Post or refresh a PR's comment and commit statuses from the database."""
    from bot.cli import service

    service.report(settings(), repo, pr_number, db_path)


@main.command()
@db_option
@fails_cleanly
def status(db_path):
    """The queue and the devices at a glance."""
    from bot.cli import service

    service.status(settings(), db_path)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable, e.g. for a workflow matrix.")
@click.option("--enabled", "only_enabled", is_flag=True, help="Only enabled devices.")
@db_option
@fails_cleanly
def devices(as_json, only_enabled, db_path):
    """Registered devices, their tracker state and their last result."""
    from bot.cli import service

    service.devices(settings(), as_json, only_enabled, db_path)


@main.command()
@click.option(
    "--versions",
    multiple=True,
    required=True,
    metavar="VERSION...",
    help="apache-tvm releases, oldest first (repeat, or space-separated in quotes).",
)
@click.option("--suite", "suite_name", default="smoke", show_default=True)
@device_option
@db_option
@fails_cleanly
def history(versions, suite_name, device_name, db_path):
    """Run a suite on each TVM release and record them as consecutive base-branch points."""
    from bot.engine import releases

    names = [v for value in versions for v in value.split()]
    releases.run_history(settings(), names, suite_name, device_name, db_path)


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("site"),
    show_default=True,
    help="Folder for the static site.",
)
@db_option
@repo_option(required=False)
@fails_cleanly
def dashboard(out_dir, db_path, repo):
    """Build the static plotly trend pages from the database."""
    from bot import console, devices
    from dashboard.build import build_site

    config = settings()
    db = Path(db_path or config.db_path)
    report = build_site(db, out_dir, repo=repo, registry=devices.load(config.devices_path))
    console.console.print(f"{report.summary()}; open {out_dir / 'index.html'}")


@main.group()
def device():
    """Prepare and serve devices that perfbot brings up itself (qemu-aarch64)."""


@device.command("setup")
@click.argument("name")
@fails_cleanly
def device_setup(name):
    """Prepare a device's user space (for qemu-aarch64: Python and TVM for AArch64 in the cache)."""
    from bot.engine import qemu

    qemu.setup_command(settings(), name)


@device.command("serve")
@click.argument("name")
@fails_cleanly
def device_serve(name):
    """Run the device's RPC server, registered at its tracker, until interrupted."""
    from bot.engine import qemu

    qemu.serve_command(settings(), name)
