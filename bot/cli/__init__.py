"""The `perfbot` command: thin click commands over the library, one module per command family.

    measure.py    run, tune, history        (the engine, by hand)
    builds.py     build, builds [export|import]   (the build cache)
    bisect.py     bisect                    (the commit that moved main)
    tuning.py     tuning show|export|import (the tuning databases)
    queue.py      worker, status            (queued jobs)
    github.py     watch, serve, enqueue, report (--print: the comment, offline)
    review.py     runs, compare             (recorded runs, offline)
    devices.py    devices, device setup, device serve
    dashboard.py  dashboard
    setup.py      how every command is set up: what it refuses before any work, then its parts
    options.py    options several commands share, so that they read and behave the same everywhere

Every command is set up as setup.py says, calls into the library, and prints. Errors are
turned into exit codes in one place, `PerfbotGroup.invoke`: a perfbot error
is one line on stderr and the exit code its class names (1; 2 for a name or
value given on the command line that is not known, as click does for its own
usage errors; 3 when `perfbot run` recorded items that were not ok, as its
--fail-on counts them), Ctrl-C is 130, SIGTERM 143, and nothing is a
traceback. `perfbot run --help` lists them for scripts.

A `perfbot` process (the console script, `python -m bot`) runs under
`bot.lifecycle.supervised()`, entered in `PerfbotGroup.__call__`: nothing it
started outlives it, however it stops. click's CliRunner calls `main()`, not
`__call__`, so commands invoked inside a test process do not make that
process a subreaper or kill its other children.

The CLI is where the rooms meet: it may import the engine, the GitHub side,
the store, the dashboard and the shared modules; nothing imports it but
bot/__main__.py. A command module imports its library inside the command, so
that `perfbot --help` does not load TVM's, GitHub's or scipy's world.
"""

from __future__ import annotations

import logging
import signal
import sys

import click

from bot import __version__, lifecycle
from bot.errors import PerfbotError


class CommandFailed(click.ClickException):
    """A perfbot error as click shows it: `Error: <message>` and the error's own exit code."""

    def __init__(self, error: PerfbotError):
        super().__init__(str(error))
        self.exit_code = error.exit_code


class PerfbotGroup(click.Group):
    """The one place where library errors become exit codes (see the module docstring)."""

    def __call__(self, *args, **kwargs):
        with lifecycle.supervised():
            return super().__call__(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PerfbotError as e:
            raise CommandFailed(e) from None
        except KeyboardInterrupt as e:
            number = getattr(e, "signal", signal.SIGINT)
            click.echo("terminated" if number == signal.SIGTERM else "interrupted", err=True)
            sys.exit(128 + number)


@click.group(cls=PerfbotGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="perfbot")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """Performance tracker and CI bot for TVM's quantized inference on ARM."""
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _register() -> None:
    from bot.cli import bisect, builds, dashboard, devices, github, measure, queue, review, tuning

    for module in (measure, review, builds, bisect, tuning, queue, github, devices, dashboard):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
