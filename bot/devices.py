"""The device registry: devices.yml, validated when loaded.

Every error names the file, the device and the key, so that a typo in a board
description is one line to fix, not a traceback to read.
"""

from __future__ import annotations

import json
import platform
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import yaml

from bot.errors import BadSetting, UnknownName
from bot.vocabulary import INSTRUCTIONS, METRICS, QEMU_AARCH64, SUITES, TIME, TUNE_TRIALS

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
#: Ways perfbot can bring a device up itself for the length of a run (bot/engine/boards/preflight.py does).
BRING_UPS = (QEMU_AARCH64,)
#: Bring-ups whose boards count instructions (their emulator runs perfbot's counting plugin).
COUNTING_BRING_UPS = (QEMU_AARCH64,)
_KEYS = {
    "bring_up",
    "description",
    "arch",
    "target",
    "connection",
    "cross_compiler",
    "threads",
    "runner_labels",
    "suites",
    "tflite_baseline",
    "emulated",
    "enabled",
    "timeout_s",
    "tuning_trials",
    "metric",
}


@dataclass(frozen=True)
class Rpc:
    """A device behind TVM's RPC tracker, requested by key."""

    host: str
    port: int
    key: str

    @property
    def tracker(self) -> str:
        return f"{self.host}:{self.port}"


class RuntimeServing(Protocol):
    """A board perfbot brought up for a run, which can serve modules with another TVM runtime than its own:
    the tracker key under which `runtime` (bot/engine/arm_runtime.py's Runtime, None: the board's own) serves.
    bot/engine/boards/emulated_server.py's EmulatedBoard is one."""

    def key_for(self, runtime) -> str: ...


@dataclass(frozen=True)
class Device:
    name: str
    description: str
    arch: str
    #: TVM target as a JSON dict, or the string "host" for this machine's own CPU.
    target: dict[str, Any] | str
    rpc: Rpc | None = None
    cross_compiler: str | None = None
    threads: int = 1
    runner_labels: tuple[str, ...] = ()
    suites: tuple[str, ...] = SUITES
    tflite_baseline: bool = True
    emulated: bool = False
    enabled: bool = True
    #: Time limit for one compile-and-run item, in seconds.
    timeout_s: float = 600.0
    #: How perfbot brings the device up itself (one of BRING_UPS), or None when it is there already.
    bring_up: str | None = None
    #: MetaSchedule trials per task that base-branch tuning jobs give the device's database (0: no tuning jobs).
    tuning_trials: int = TUNE_TRIALS
    #: What the device measures: wall-clock `time`, or `instructions` counted by perfbot's emulator.
    metric: str = TIME
    #: The devices.yml the device comes from, for messages.
    source: str = field(default="devices.yml", compare=False)
    #: Set by preflight for the length of a run on a board perfbot brought up: serves other runtimes too.
    serving: RuntimeServing | None = field(default=None, compare=False, repr=False)

    @property
    def is_local(self) -> bool:
        return self.rpc is None

    @property
    def counts(self) -> bool:
        """Whether the device's verdicts come from instruction counts (no timing, no rounds)."""
        return self.metric == INSTRUCTIONS

    @property
    def target_json(self) -> str:
        return json.dumps(self.target, sort_keys=True)


@dataclass(frozen=True)
class Registry:
    path: Path | None
    devices: dict[str, Device] = field(default_factory=dict)

    def get(self, name: str) -> Device:
        try:
            device = self.devices[name]
        except KeyError:
            known = ", ".join(sorted(self.devices)) or "none"
            raise UnknownName(f"unknown device {name!r} in {self.source}: known devices are {known}") from None
        return device

    def enabled(self) -> list[Device]:
        return [d for d in self.devices.values() if d.enabled]

    @property
    def source(self) -> str:
        return str(self.path) if self.path else "the built-in devices.yml"


def load(path: Path | None) -> Registry:
    """Read and validate a devices.yml; `None` means the one shipped inside perfbot."""
    if path is None:
        text = resources.files("bot").joinpath("devices.yml").read_text()
        source = "the built-in devices.yml"
    else:
        try:
            text = Path(path).read_text()
        except OSError as e:
            raise BadSetting(f"{path}: cannot read device registry ({e.strerror})") from None
        source = str(path)
    return Registry(Path(path) if path else None, parse(text, source))


def parse(text: str, source: str) -> dict[str, Device]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise BadSetting(f"{source}:{where} not valid YAML ({getattr(e, 'problem', e)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("devices"), dict):
        raise BadSetting(f"{source}: expected a top-level 'devices:' mapping of device names")
    devices = {}
    for name, spec in data["devices"].items():
        devices[str(name)] = _device(source, str(name), spec)
    return devices


def _device(source: str, name: str, spec: Any) -> Device:
    def fail(key: str, why: str) -> BadSetting:
        return BadSetting(f"{source}: device {name!r}: {key}: {why}")

    if not _NAME.match(name):
        raise fail("name", "use lower-case letters, digits, '-', '_' or '.'")
    if not isinstance(spec, dict):
        raise fail("(device)", "expected a mapping of keys")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise fail(unknown[0], f"unknown key (known: {', '.join(sorted(_KEYS))})")
    for key in ("arch", "target", "connection"):
        if key not in spec:
            raise fail(key, "missing")

    target = spec["target"]
    if isinstance(target, str):
        if target != "host":
            raise fail(
                "target", 'expected a JSON dict such as {"kind": "llvm", "mtriple": "aarch64-linux-gnu"} or "host"'
            )
    elif not isinstance(target, dict) or not isinstance(target.get("kind"), str):
        raise fail("target", 'expected a dict with a "kind", e.g. {"kind": "llvm"}')
    # Whether TVM knows the kind and its options depends on the TVM under test: bot/engine/children.py
    # check_target asks it before a run is written.

    rpc = _connection(spec["connection"], fail)
    threads = spec.get("threads", 1)
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise fail("threads", f"expected a whole number >= 1, got {threads!r}")
    timeout = spec.get("timeout_s", 600)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
        raise fail("timeout_s", f"expected seconds > 0, got {timeout!r}")
    trials = spec.get("tuning_trials", TUNE_TRIALS)
    if not isinstance(trials, int) or isinstance(trials, bool) or trials < 0:
        raise fail("tuning_trials", f"expected a whole number of trials per task >= 0 (0: no tuning), got {trials!r}")
    suites = _strings(spec.get("suites", list(SUITES)), "suites", fail)
    for suite in suites:
        if suite not in SUITES:
            raise fail("suites", f"unknown suite {suite!r} (known: {', '.join(SUITES)})")
    flags = {}
    for key, default in (("tflite_baseline", True), ("emulated", False), ("enabled", True)):
        value = spec.get(key, default)
        if not isinstance(value, bool):
            raise fail(key, f"expected true or false, got {value!r}")
        flags[key] = value
    if rpc is not None and flags["tflite_baseline"]:
        raise fail(
            "tflite_baseline",
            "TFLite runs where perfbot runs, so an rpc device cannot have a TFLite baseline; "
            "set it to false, or run perfbot on the board itself (connection: local)",
        )
    bring_up = spec.get("bring_up")
    if bring_up is not None:
        if bring_up not in BRING_UPS:
            raise fail("bring_up", f"unknown way to bring a device up {bring_up!r} (known: {', '.join(BRING_UPS)})")
        if rpc is None or rpc.host not in ("127.0.0.1", "localhost"):
            raise fail(
                "bring_up",
                "perfbot brings up emulated devices behind a tracker on this host only: "
                "use connection {type: rpc, tracker: 127.0.0.1:PORT, key: KEY}",
            )
    metric = spec.get("metric", TIME)
    if metric not in METRICS:
        raise fail("metric", f"expected one of {', '.join(METRICS)}, got {metric!r}")
    if metric == INSTRUCTIONS and bring_up not in COUNTING_BRING_UPS:
        raise fail(
            "metric",
            f"instructions are counted by the emulator perfbot brings up itself: add bring_up: {QEMU_AARCH64} "
            "(a real board measures time)",
        )
    cross = spec.get("cross_compiler")
    if cross is not None and not isinstance(cross, str):
        raise fail("cross_compiler", f"expected a compiler command such as aarch64-linux-gnu-gcc, got {cross!r}")
    arch = spec["arch"]
    if not isinstance(arch, str) or not arch:
        raise fail("arch", f"expected e.g. aarch64, x86_64 or host, got {arch!r}")
    return Device(
        name=name,
        description=str(spec.get("description", "")),
        arch=platform.machine() if arch == "host" else arch,
        target=target,
        rpc=rpc,
        cross_compiler=cross,
        threads=threads,
        runner_labels=_strings(spec.get("runner_labels", []), "runner_labels", fail),
        suites=suites,
        timeout_s=float(timeout),
        bring_up=bring_up,
        tuning_trials=trials,
        metric=metric,
        source=source,
        **flags,
    )


def _connection(value: Any, fail) -> Rpc | None:
    if value == "local":
        return None
    if not isinstance(value, dict) or value.get("type") != "rpc":
        raise fail("connection", "expected 'local' or {type: rpc, tracker: HOST:PORT, key: KEY}")
    extra = sorted(set(value) - {"type", "tracker", "key"})
    if extra:
        raise fail(f"connection.{extra[0]}", "unknown key (known: type, tracker, key)")
    tracker = value.get("tracker")
    host, _, port = str(tracker or "").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise fail("connection.tracker", f"expected HOST:PORT such as 127.0.0.1:9190, got {tracker!r}")
    key = value.get("key")
    if not isinstance(key, str) or not key:
        raise fail("connection.key", "expected the key the board registers under at the tracker")
    return Rpc(host, int(port), key)


def _strings(value: Any, key: str, fail) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(key, f"expected a list of names, got {value!r}")
    return tuple(value)
