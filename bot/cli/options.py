"""Options that several commands share, as decorators, so that they read and behave the same everywhere.

Tested through the commands that use them (tests/cli/), and their help text in tests/cli/test_docs.py.
"""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli import setup

# The set-up functions live in bot/cli/setup.py; cli/builds.py takes `settings` from here.
from bot.cli.setup import service_logging, settings  # noqa: F401


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


def suite_option(command):
    return click.option(
        "--suite", "suite_name", default="smoke", show_default=True, help="Suite: smoke, conv or full."
    )(command)


def model_option(command):
    return click.option(
        "--model",
        "model_path",
        type=click.Path(path_type=Path),
        default=None,
        help="Your own .tflite file instead of a suite.",
    )(command)


def env_option(command):
    return click.option(
        "--env",
        "env_spec",
        default=None,
        help="TVM build under test: python:PATH, pip:REQUIREMENT or source:CHECKOUT@SHA "
        "(default: the interpreter perfbot runs in).",
    )(command)


def repo_option(required: bool = True):
    return click.option(
        "--repo",
        envvar="PERFBOT_REPO",
        required=required,
        help="OWNER/NAME of the watched repository (or $PERFBOT_REPO).",
    )


def devices_option(command):
    """`--devices FILE`: the devices.yml this command reads (before $PERFBOT_DEVICES and ./devices.yml)."""
    return click.option(
        "--devices",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        expose_value=False,
        is_eager=True,
        callback=lambda ctx, _param, value: ctx.meta.__setitem__(setup.DEVICES_KEY, value),
        help="devices.yml to use (default: $PERFBOT_DEVICES, else ./devices.yml, else perfbot's built-in one).",
    )(command)
