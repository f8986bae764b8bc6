"""Options that several commands share, as decorators, so that they read and behave the same everywhere."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from bot.settings import Settings


def settings() -> Settings:
    """Settings from the environment, read when a command starts (a missing one names its variable)."""
    return Settings.from_env()


def service_logging() -> None:
    """worker, watch and serve say what they do without -v: a service's output is a log file or a journal."""
    logger = logging.getLogger("perfbot")
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)


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
