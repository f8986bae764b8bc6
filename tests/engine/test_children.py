"""bot/engine/children.py: what a TVM child is told of its device and environment, and the target check that
refuses a run before it is written (with the real TVM in a real fork server)."""

import dataclasses
import json
from pathlib import Path

import pytest

from bot import devices
from bot.devices import Device, Rpc
from bot.engine import children
from bot.engine.runner import Subject
from bot.errors import BadSetting

BOARD = Device(name="board", description="an RPC board", arch="aarch64", target={"kind": "llvm"},
               rpc=Rpc("127.0.0.1", 9190, "rasp4"), cross_compiler="aarch64-linux-gnu-g++", threads=4,
               timeout_s=120)  # fmt: skip


class Serving:
    """A board perfbot brought up: serves a build's own runtime under a key of its own (EmulatedBoard's shape)."""

    def key_for(self, runtime) -> str:
        return "board" if runtime is None else f"board-{runtime.key}"


def own_runtime_build(tmp_path: Path) -> Subject:
    folder = tmp_path / "runtime-abc123"
    folder.mkdir()
    (folder / "runtime.json").write_text("{}")
    return Subject(python=Path("python3"), env="source:tvm@abc", build={"aarch64_runtime": str(folder)},
                   variables={"PYTHONPATH": str(tmp_path / "python")})  # fmt: skip


def test_a_local_device_runs_here_and_a_host_target_takes_this_machine_s_cpus():
    local = devices.load(None).get("local")
    spec = children.child_device(local)
    assert spec["kind"] == "local"
    assert ("host_cpus" in spec) == (local.target == "host")
    assert set(spec.get("host_cpus", {})) <= {"beyond", "instead", "archspec"}


def test_an_rpc_device_names_its_tracker_key_cross_compiler_and_session_limit():
    spec = children.child_device(BOARD)
    assert spec == {"kind": "rpc", "host": "127.0.0.1", "port": 9190, "key": "rasp4",
                    "cross_compiler": "aarch64-linux-gnu-g++", "session_timeout": 120}  # fmt: skip
    assert json.loads(json.dumps(spec)) == spec  # it travels to the child as JSON


def test_a_board_perfbot_serves_gives_a_build_with_its_own_runtime_that_runtime_s_key(tmp_path):
    serving = dataclasses.replace(BOARD, serving=Serving())
    assert children.child_device(serving, own_runtime_build(tmp_path))["key"] == "board-runtime-abc123"
    release = Subject(python=Path("python3"), env="pip:apache-tvm==0.27.0")
    assert children.child_device(serving, release)["key"] == "board"
    assert children.child_device(serving)["key"] == "rasp4"  # no build named (tuning, TFLite): the tracker key


def test_the_children_get_the_device_s_threads_and_the_build_s_own_variables(tmp_path):
    env = children.child_env(BOARD, own_runtime_build(tmp_path))
    assert env["TVM_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "4"
    assert env["PYTHONPATH"] == str(tmp_path / "python")
    assert "PYTHONPATH" not in children.child_env(BOARD)


def test_own_runtime_is_the_build_s_served_runtime_or_the_compiling_release_s(tmp_path):
    release = Subject(python=Path("python3"), env="pip:apache-tvm==0.27.0")
    assert children.own_runtime(BOARD, release, {}) is None  # the device did not say
    board = {"runtime": "apache-tvm 0.27.0", "compiled_by": "0.27.0"}
    assert children.own_runtime(BOARD, release, board) is True
    assert children.own_runtime(BOARD, release, {**board, "compiled_by": "0.26.0"}) is False
    served = dataclasses.replace(BOARD, serving=Serving())
    assert children.own_runtime(served, own_runtime_build(tmp_path), {"runtime": "TVM abc's own"}) is True


def test_a_target_the_tvm_under_test_cannot_use_is_one_line_naming_devices_yml(bot_python, tmp_path):
    """The real TVM in a real fork server answers; the servers are killed when the check fails."""
    subject = Subject(python=bot_python, env="python:" + str(bot_python))
    nonsense = Device(name="odd", description="", arch="x86_64", target={"kind": "no-such-kind"},
                      source="/etc/perfbot/devices.yml")  # fmt: skip
    with pytest.raises(BadSetting) as refused:
        children.started_servers(nonsense, subject, None, tmp_path)
    message = str(refused.value)
    assert message.startswith("/etc/perfbot/devices.yml: device 'odd': target: ")
    assert "no-such-kind" in message and "\n" not in message
    local = devices.load(None).get("local")
    servers = children.started_servers(local, subject, subject, tmp_path / "ok", index=1)
    try:
        assert [Path(s.workdir).name for s in servers] == ["server", "base-server"]
        assert all(Path(s.workdir).parent.name == "servers2" for s in servers)
    finally:
        for server in servers:
            server.kill()
