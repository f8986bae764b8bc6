"""`perfbot device setup|serve`: only devices perfbot brings up itself have a setup (bot/cli/devices.py)."""

from pathlib import Path

import pytest

from bot.cli.devices import brought_up
from bot.errors import UnknownName

REGISTRY = Path(__file__).resolve().parents[2] / "devices.yml"


def settings(tmp_path: Path, registry: Path | None = REGISTRY):
    return type("S", (), {"cache_dir": tmp_path, "devices_path": registry})()


def test_only_devices_brought_up_by_perfbot_have_a_setup(tmp_path):
    with pytest.raises(UnknownName, match="only devices with `bring_up: qemu-aarch64` do"):
        brought_up(settings(tmp_path), "rpi4")
    with pytest.raises(UnknownName, match="unknown device 'nope'"):
        brought_up(settings(tmp_path), "nope")
    assert brought_up(settings(tmp_path), "qemu-aarch64").bring_up == "qemu-aarch64"


def test_the_emulated_board_has_a_setup_even_where_devices_yml_does_not_list_it(tmp_path):
    registry = tmp_path / "devices.yml"
    registry.write_text("devices:\n  local: {arch: host, target: host, connection: local}\n")
    assert brought_up(settings(tmp_path, registry), "qemu-aarch64") is None
