"""`perfbot devices` and `perfbot device setup|serve`: the registry, and devices perfbot brings up itself."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot import console
from bot.cli import setup
from bot.cli.options import db_option, devices_option
from bot.engine.boards import tracker
from bot.errors import DeviceUnavailable, UnknownName
from bot.store import Store
from bot.vocabulary import QEMU_AARCH64


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable, e.g. for a workflow matrix.")
@click.option("--enabled", "only_enabled", is_flag=True, help="Only enabled devices.")
@db_option
@devices_option
def devices(as_json, only_enabled, db_path):
    """Registered devices, their tracker state and their last result."""
    show_devices(setup.settings(), as_json, only_enabled, db_path)


@click.group()
def device():
    """Prepare and serve devices that perfbot brings up itself (qemu-aarch64)."""


@device.command("setup")
@click.argument("name")
@devices_option
def device_setup(name):
    """Prepare a device's user space (for qemu-aarch64: Python, TVM and TFLite for AArch64 in the cache,
    and the instruction-counting plugin, built here and checked with this host's qemu-aarch64)."""
    setup_device(setup.settings(), name)


@device.command("serve")
@click.argument("name")
@devices_option
def device_serve(name):
    """Run the device's RPC server, registered at its tracker, until interrupted."""
    serve_device(setup.settings(), name)


COMMANDS = (devices, device)


def show_devices(settings, as_json: bool, only_enabled: bool, db_path) -> None:
    from rich.table import Table

    registry = setup.registry(settings)
    path = Path(db_path or settings.db_path)
    store = Store.open(path, create=False) if path.exists() else None
    rows = []
    for device in registry.devices.values():
        if only_enabled and not device.enabled:
            continue
        last = store.latest_run(device.name) if store else None
        rows.append(
            {
                "name": device.name,
                "enabled": device.enabled,
                "arch": device.arch,
                "description": device.description,
                "connection": "local" if device.is_local else f"rpc {device.rpc.tracker} key {device.rpc.key}",
                "state": _state(device),
                "runner_labels": list(device.runner_labels),
                "suites": list(device.suites),
                "emulated": device.emulated,
                "metric": device.metric,
                "last_result": last["finished_at"] if last else None,
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"devices ({registry.source})", title_justify="left")
    for column in ("name", "enabled", "arch", "measures", "connection", "state", "suites", "last result"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["name"],
            "yes" if r["enabled"] else "no",
            r["arch"],
            r["metric"],
            r["connection"],
            r["state"],
            ", ".join(r["suites"]),
            r["last_result"] or "never",
        )
    console.console.print(table)


def _state(device) -> str:
    if device.is_local:
        return "local"
    try:
        return tracker.key_state(tracker.summary(device.rpc.host, device.rpc.port, timeout_s=10), device.rpc.key)
    except DeviceUnavailable:
        return "offline (tracker unreachable)"


def brought_up(settings, name: str):
    """The devices.yml entry of a device perfbot brings up itself; None for the emulated board when this
    devices.yml does not list it (its built-in defaults); UnknownName for any other device."""
    registry = setup.registry(settings)
    device = registry.devices.get(name)
    if device is None and name == QEMU_AARCH64:
        return None
    if device is None:
        registry.get(name)  # raises: unknown device, with the known ones
    if device.bring_up != QEMU_AARCH64:
        raise UnknownName(
            f"device {name!r} needs no setup by perfbot (only devices with `bring_up: {QEMU_AARCH64}` do)"
        )
    return device


def setup_device(settings, name: str):
    from bot.engine.boards import userspace

    brought_up(settings, name)
    report = userspace.setup(settings.cache_dir, progress=lambda line: console.errors.print(f"[dim]{line}[/]"))
    console.console.print(report.summary())
    return report


def serve_device(settings, name: str) -> None:
    from bot.engine.boards import emulated_server

    device = brought_up(settings, name)
    host, port, key, threads = "127.0.0.1", 9190, QEMU_AARCH64, 1
    if device is not None and device.rpc is not None:
        host, port, key, threads = device.rpc.host, device.rpc.port, device.rpc.key, device.threads
    emulated_server.serve(
        settings.cache_dir, host, port, key, threads, progress=lambda line: console.errors.print(line)
    )
