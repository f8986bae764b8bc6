"""Setting a command up: one place, and one rule for every command.

The rule: a command checks everything it can refuse, in this order, before
it does any work (a TVM build, a board brought up, a row written), so that
bad input is one line and a non-zero exit with nothing written:

1. the command line: options that need each other (`BadUsage`, exit 2);
2. settings: environment variables (`settings()`; a wrong one names itself)
   and which devices.yml applies: `--devices`, else $PERFBOT_DEVICES, else
   ./devices.yml, else the registry built into perfbot (bot/devices.yml);
3. names: the device (unknown: exit 2; disabled: refused for measuring,
   exit 1), then the suite, model, workload or runs the command names;
4. the database: its folder exists and is writable, and an existing file
   passes SQLite's quick check (`database()`, bot/store `Store.check`).

Then the work, in this order: the TVM builds under test, the device brought
up and the store opened (`measuring()`), and the library called with those
parts (a Store, a Device, a Registry, the cache folder). The library never
reads settings or finds a database of its own: set-up happens here only (a
second connection to the store it was given is the library's business, as
the worker's lease and serve's webhook intake have; the dashboard still takes
the database's path, dashboard/build.py).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

import click

from bot import console, devices
from bot.console import Say
from bot.devices import Device, Registry
from bot.errors import BadSetting
from bot.settings import Settings
from bot.store import Store

#: Where `--devices` (bot/cli/options.py) keeps its value for `settings()` (click's per-invocation scratch space).
DEVICES_KEY = "perfbot.devices"


def settings() -> Settings:
    """Settings from the environment and `--devices`, read when a command starts (a wrong one names itself)."""
    context = click.get_current_context(silent=True)
    return Settings.from_env(devices=context.meta.get(DEVICES_KEY) if context else None)


def registry(config: Settings) -> Registry:
    return devices.load(config.devices_path)


def device_to_measure(config: Settings, name: str) -> Device:
    """The device a command will measure on: known (else exit 2, naming the known ones) and enabled."""
    found = registry(config)
    device = found.get(name)
    if not device.enabled:
        raise BadSetting(
            f"{found.source}: device {name!r} is disabled (enabled: false); "
            "set `enabled: true` there once the board is set up"
        )
    return device


def database(config: Settings, db_path: Path | None, create: bool = True) -> Path:
    """The database a command will use, checked and not yet opened (nothing is written here)."""
    path = Path(db_path or config.db_path)
    Store.check(path, create=create)
    return path


@contextmanager
def measuring(config: Settings, device: Device, db: Path, say: Say = console.note):
    """The device brought up for the command (bot/engine/boards/preflight.py) and the store opened:
    yields (device as the command reaches it, store); both are let go however the command ends."""
    from bot.engine.boards import preflight

    with preflight.device_ready(device, config.cache_dir, say=say) as ready:
        store = Store.open(db)
        try:
            yield ready, store
        finally:
            store.close()


def service_logging() -> None:
    """worker, watch and serve say what they do without -v: a service's output is a log file or a journal."""
    logger = logging.getLogger("perfbot")
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
