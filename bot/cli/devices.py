"""`perfbot devices` and `perfbot device setup|serve`: the registry, and devices perfbot brings up itself."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bot import console
from bot import devices as device_registry
from bot.cli.options import db_option, settings
from bot.engine import tracker
from bot.errors import DeviceUnavailable
from bot.store import Store


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable, e.g. for a workflow matrix.")
@click.option("--enabled", "only_enabled", is_flag=True, help="Only enabled devices.")
@db_option
def devices(as_json, only_enabled, db_path):
    """Registered devices, their tracker state and their last result."""
    show_devices(settings(), as_json, only_enabled, db_path)


@click.group()
def device():
    """Prepare and serve devices that perfbot brings up itself (qemu-aarch64)."""


@device.command("setup")
@click.argument("name")
def device_setup(name):
    """Prepare a device's user space (for qemu-aarch64: Python and TVM for AArch64 in the cache)."""
    from bot.engine import qemu

    qemu.setup_command(settings(), name)


@device.command("serve")
@click.argument("name")
def device_serve(name):
    """Run the device's RPC server, registered at its tracker, until interrupted."""
    from bot.engine import qemu

    qemu.serve_command(settings(), name)


COMMANDS = (devices, device)


def show_devices(settings, as_json: bool, only_enabled: bool, db_path) -> None:
    from rich.table import Table

    registry = device_registry.load(settings.devices_path)
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
                "last_result": last["finished_at"] if last else None,
            }
        )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"devices ({registry.source})", title_justify="left")
    for column in ("name", "enabled", "arch", "connection", "state", "suites", "last result"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["name"],
            "yes" if r["enabled"] else "no",
            r["arch"],
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
