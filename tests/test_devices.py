"""devices.yml: the shipped registry loads, and every mistake names file, device and key."""

import platform
from pathlib import Path

import pytest

from bot import devices
from bot.errors import BadSetting, UnknownName
from bot.vocabulary import SUITES

ROOT = Path(__file__).resolve().parents[1]

GOOD = """
devices:
  board:
    arch: aarch64
    target: {kind: llvm, mtriple: aarch64-linux-gnu}
    connection: {type: rpc, tracker: "10.0.0.2:9190", key: rpi}
    cross_compiler: aarch64-linux-gnu-gcc
    tflite_baseline: false
"""


def test_shipped_registry_has_local_enabled_and_examples_disabled():
    registry = devices.load(ROOT / "devices.yml")
    local = registry.get("local")
    assert local.enabled and local.is_local and local.arch == platform.machine()
    for name in ("rpi4", "graviton3", "android-pixel"):
        assert not registry.get(name).enabled
    qemu = registry.get("qemu-aarch64")
    assert qemu.emulated and qemu.rpc.key == "qemu-aarch64" and qemu.target["mtriple"] == "aarch64-linux-gnu"


def test_builtin_registry_is_used_without_a_file_and_has_the_shipped_enabled_devices():
    registry = devices.load(None)
    shipped = devices.load(ROOT / "devices.yml")
    assert list(registry.devices) == ["local", "qemu-aarch64"]
    assert registry.source == "the built-in devices.yml"
    assert registry.devices == {d.name: d for d in shipped.enabled()}  # entry for entry: outside the checkout too


def test_rpc_device_parses():
    board = devices.parse(GOOD, "d.yml")["board"]
    assert (board.rpc.host, board.rpc.port, board.rpc.key) == ("10.0.0.2", 9190, "rpi")
    assert board.threads == 1 and board.suites == SUITES


@pytest.mark.parametrize(
    "text, message",
    [
        ("devices: [a, b]", "d.yml: expected a top-level 'devices:' mapping"),
        ("devices:\n  x: {arch: a, target: host}", "d.yml: device 'x': connection: missing"),
        ("devices:\n  x: {arch: a, target: llvm, connection: local}", "device 'x': target: expected a JSON dict"),
        (
            "devices:\n  x: {arch: a, target: {mtriple: q}, connection: local}",
            "device 'x': target: expected a dict with a \"kind\"",
        ),
        (
            "devices:\n  x: {arch: a, target: host, connection: local, tuning_trials: -1}",
            "device 'x': tuning_trials: expected a whole number of trials per task >= 0 (0: no tuning), got -1",
        ),
        (
            "devices:\n  x: {arch: a, target: host, connection: local, threads: 0}",
            "device 'x': threads: expected a whole number >= 1, got 0",
        ),
        ("devices:\n  x: {arch: a, target: host, connection: local, thread: 2}", "device 'x': thread: unknown key"),
        (
            "devices:\n  x: {arch: a, target: host, connection: local, suites: [smoke, huge]}",
            "device 'x': suites: unknown suite 'huge'",
        ),
        (
            "devices:\n  x: {arch: a, target: host, connection: local, enabled: maybe}",
            "device 'x': enabled: expected true or false, got 'maybe'",
        ),
        (
            "devices:\n  x: {arch: a, target: host, connection: {type: rpc, tracker: nohost, key: k}, tflite_baseline: false}",
            "device 'x': connection.tracker: expected HOST:PORT",
        ),
        (
            "devices:\n  x: {arch: a, target: host, connection: {type: rpc, tracker: 'h:1'}, tflite_baseline: false}",
            "device 'x': connection.key: expected the key",
        ),
        (
            "devices:\n  x: {arch: a, target: host, connection: {type: rpc, tracker: 'h:1', key: k}}",
            "device 'x': tflite_baseline: TFLite runs where perfbot runs",
        ),
        ("devices:\n  X Y: {arch: a, target: host, connection: local}", "device 'X Y': name: use lower-case"),
        ("devices:\n  x: {arch: a\n", "d.yml: line"),
    ],
)
def test_mistakes_name_file_device_and_key(text, message):
    with pytest.raises(BadSetting) as err:
        devices.parse(text, "d.yml")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_device_lists_known_ones():
    registry = devices.load(ROOT / "devices.yml")
    with pytest.raises(
        UnknownName, match="unknown device 'rpi5' in .*devices.yml: known devices are android-pixel, graviton3, local"
    ):
        registry.get("rpi5")


def test_unreadable_file_is_named(tmp_path):
    with pytest.raises(BadSetting, match=f"{tmp_path / 'nope.yml'}: cannot read device registry"):
        devices.load(tmp_path / "nope.yml")


@pytest.mark.parametrize(
    "entry, message",
    [
        ("bring_up: qemu-riscv64", "bring_up: unknown way to bring a device up 'qemu-riscv64' (known: qemu-aarch64)"),
        ("bring_up: qemu-aarch64", "bring_up: perfbot brings up emulated devices behind a tracker on this host only"),
        ("metric: watts", "metric: expected one of time, instructions, got 'watts'"),
        ("metric: instructions", "metric: instructions are counted by the emulator perfbot brings up itself"),
    ],
)
def test_bring_up_and_metric_are_validated_fields_not_name_prefixes(tmp_path, entry, message):
    """Naming a device qemu-something brings nothing up and counts nothing: its keys say so."""
    path = tmp_path / "devices.yml"
    path.write_text(
        f"devices:\n  qemu-riscv64:\n    arch: riscv64\n    target: {{kind: llvm}}\n    connection: local\n    {entry}\n"
    )
    with pytest.raises(BadSetting) as e:
        devices.load(path)
    assert str(e.value).startswith(f"{path}: device 'qemu-riscv64': {message}")


def test_only_devices_that_say_so_are_brought_up():
    registry = devices.load(ROOT / "devices.yml")
    assert {name for name, d in registry.devices.items() if d.bring_up} == {"qemu-aarch64"}
    assert registry.get("android-pixel").bring_up is None  # also behind a loopback tracker, but a real phone


def test_the_emulated_board_counts_instructions_on_the_core_it_emulates():
    board = devices.load(ROOT / "devices.yml").get("qemu-aarch64")
    assert board.counts and board.metric == "instructions" and board.target["mcpu"] == "cortex-a72"
    assert not devices.load(ROOT / "devices.yml").get("local").counts
