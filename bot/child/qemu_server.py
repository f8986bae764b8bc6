"""TVM's RPC server for the emulated AArch64 device, in one process: runs under qemu-aarch64.

    qemu-aarch64 -cpu cortex-a72 -L ROOT -plugin ICOUNT.so,out=DIR ROOT/usr/bin/python3.11 -s qemu_server.py \
        --tracker 127.0.0.1:9190 --key qemu-aarch64 [--host 127.0.0.1] [--ready-file PATH] [--parent-pid PID] \
        [--count-dir DIR --emulator TEXT]

It runs with the emulated user space's Python (see bot/engine/boards/userspace.py), so it imports
only the standard library, numpy, TVM and TFLite: never `bot`.

`python -m tvm.exec.rpc_server` (tvm.rpc.Server) starts the server in a
PopenWorker, a new interpreter started with exec(), which qemu's user mode
cannot run without binfmt_misc. Here TVM's own listen loop
(tvm.rpc.server._listen_loop: register at the tracker, accept, serve) runs in
this process, and each session runs in a child forked by multiprocessing, as
in TVM's server, with the start method pinned to fork (spawn would exec).
When the socket is bound and TVM imported, the ready file gets
{"port": ..., "tvm": ..., "import_s": ...}; registration follows at once.

Counting (with --count-dir, where perfbot's instruction-counting plugin
writes, bot/engine/boards/icount.c): three global functions that a session's
client calls like any remote function.

- `perfbot.board_info()`: JSON of what serves here: TVM's version, TFLite's,
  and the emulator (--emulator, as the process that started qemu named it).
- `perfbot.count_vm(vm, name)`: runs the loaded Relax VM's function once
  between the plugin's markers (`invoke_stateful`, with the inputs the client
  set; the client's own checked run through the same entry point was the
  warm-up); JSON of the count (see `Counter.count`).
- `perfbot.count_tflite(model, inputs, threads)`: the same for TFLite's
  interpreter on a model and .npy inputs uploaded to the session.

A count is the plugin's per-block counts, each block placed in the file it
was loaded from, at its address as the file's symbol table has it (the
load bias of a shared object taken off; an executable is not relocated),
so that perfbot can name the function without running anything here.
TFLite is imported when the server starts, before sessions fork, so no
session pays for it. Tested in tests/child/test_qemu_server.py (placing
blocks), tests/engine/test_counting.py and tests/engine/boards/test_emulated_server.py.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import json
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time


def bind(host: str, port: int, port_end: int) -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    for candidate in range(port, port_end):
        try:
            sock.bind((host, candidate))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                continue
            raise
        sock.listen(1)
        return sock, candidate
    raise SystemExit(f"no free port in [{port}, {port_end}) on {host}")


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux for SIGTERM when the process that started this one ends (qemu passes prctl through),
    so that a perfbot killed without its clean-up leaves no server registered at the tracker."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        print(f"[perfbot-qemu-server] prctl(PR_SET_PDEATHSIG) failed: errno {ctypes.get_errno()}", flush=True)
    if os.getppid() != parent_pid:  # it ended before the request took effect
        raise SystemExit("the process that started this server has ended")


#: The plugin's marker system call and its two operations (bot/engine/boards/icount.c; a test keeps them equal).
MARKER, MARK_START, MARK_STOP = 0x7E57, 1, 2
#: ELF e_type of an executable that is not position independent: its addresses are its symbols' addresses.
ET_EXEC = 2


class Counter:
    """Counts between the plugin's markers in this process, and places each block in its file."""

    def __init__(self, count_dir: str):
        self.count_dir = count_dir
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.serial = 0

    def mark(self, op: int, ident: int) -> None:
        self.libc.syscall(ctypes.c_long(MARKER), ctypes.c_long(op), ctypes.c_long(ident))

    def count(self, run, **extra) -> str:
        """JSON: {"total", "blocks": [[file, address, instructions], ...], **extra} for one call of run()."""
        import gc

        self.serial += 1
        gc.collect()
        gc.disable()  # a collection between the markers would count the collector's work too
        try:
            self.mark(MARK_START, 0)
            run()
            self.mark(MARK_STOP, self.serial)
        finally:
            gc.enable()
        path = os.path.join(self.count_dir, f"count-{os.getpid()}-{self.serial}.txt")
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise RuntimeError(
                f"the counting plugin wrote no count ({e.strerror}: {path}); is qemu running it?"
            ) from None
        os.unlink(path)
        if len(lines) < 2 or lines[0] != "perfbot-icount 1":
            raise RuntimeError(f"the counting plugin wrote {path} in a form this server does not know")
        blocks = placed(lines[2:], mappings())
        return json.dumps({"total": int(lines[1].split()[1]), "blocks": blocks, **extra})


def mappings() -> list[tuple[int, int, str, int]]:
    """(start, end, file, bias) of this process' file mappings: bias turns an address into the file's own."""
    found, first = [], {}
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) < 6 or not parts[5].strip().startswith("/"):
                continue
            start, end = (int(x, 16) for x in parts[0].split("-"))
            path = parts[5].strip()
            if int(parts[2], 16) == 0:
                first.setdefault(path, start)
            found.append((start, end, path))
    bias = {path: 0 if elf_type(path) == ET_EXEC else start for path, start in first.items()}
    return sorted((start, end, path, bias.get(path, start)) for start, end, path in found)


def elf_type(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            head = f.read(18)
    except OSError:
        return None
    return int.from_bytes(head[16:18], "little") if head[:4] == b"\x7fELF" else None


def placed(lines: list[str], maps: list[tuple[int, int, str, int]]) -> list[list]:
    """Each counted block as [file, address in the file, instructions executed]; "?" where no file is mapped."""
    import bisect

    starts = [m[0] for m in maps]
    totals: dict[tuple[str, int], int] = {}
    for line in lines:
        vaddr, insns, execs = line.split()
        address = int(vaddr, 16)
        i = bisect.bisect_right(starts, address) - 1
        if i >= 0 and address < maps[i][1]:
            key = (maps[i][2], address - maps[i][3])
        else:
            key = ("?", address)
        totals[key] = totals.get(key, 0) + int(insns) * int(execs)
    return [[path, address, n] for (path, address), n in sorted(totals.items())]


def register_counting(tvm, count_dir: str, emulator: str, runtime: str | None) -> None:
    """The remote functions a perfbot client calls to count (see the module docstring)."""
    import numpy as np

    counter = Counter(count_dir)
    try:
        import ai_edge_litert
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as e:  # a board without TFLite still counts TVM
        ai_edge_litert, Interpreter, litert_error = None, None, str(e)
    else:
        litert_error = None

    @tvm.register_global_func("perfbot.board_info")
    def board_info() -> str:
        return json.dumps(
            {
                "runtime": runtime or f"apache-tvm {tvm.__version__}",
                "tvm": tvm.__version__,
                "litert": getattr(ai_edge_litert, "__version__", None),
                "emulator": emulator,
                "counting": True,
            }
        )

    @tvm.register_global_func("perfbot.count_vm")
    def count_vm(vm, name: str) -> str:
        invoke = vm["invoke_stateful"]
        return counter.count(lambda: invoke(name))

    @tvm.register_global_func("perfbot.count_tflite")
    def count_tflite(model: str, inputs: str, threads: int) -> str:
        if Interpreter is None:
            raise RuntimeError(f"TFLite is not installed on this board: {litert_error}")
        workpath = tvm.get_global_func("tvm.rpc.server.workpath")
        interpreter = Interpreter(model_path=workpath(model), num_threads=int(threads))
        interpreter.allocate_tensors()
        for detail, name in zip(interpreter.get_input_details(), json.loads(inputs)):
            interpreter.set_tensor(detail["index"], np.load(workpath(name)))
        interpreter.invoke()  # warm: XNNPACK packs the weights on the first call
        return counter.count(interpreter.invoke)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracker", required=True, help="HOST:PORT of the RPC tracker")
    parser.add_argument("--key", required=True, help="key to register under")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--port-end", type=int, default=9199)
    parser.add_argument("--custom-addr", default=None, help="address the tracker gives clients")
    parser.add_argument("--ready-file", default=None)
    parser.add_argument("--parent-pid", type=int, default=None, help="end when this process ends")
    parser.add_argument("--count-dir", default=None, help="where the counting plugin writes (its out=)")
    parser.add_argument("--emulator", default="unknown", help="what runs this server, for the record")
    parser.add_argument("--runtime", default=None, help="the TVM runtime it serves with, for the record")
    args = parser.parse_args(argv)
    if args.parent_pid:
        die_with_parent(args.parent_pid)

    started = time.time()
    multiprocessing.set_start_method("fork")
    import tvm
    from tvm.rpc import server as rpc_server

    rpc_server.logger.setLevel(logging.INFO)
    if args.count_dir:
        register_counting(tvm, args.count_dir, args.emulator, args.runtime)
    sock, port = bind(args.host, args.port, args.port_end)
    tracker_host, _, tracker_port = args.tracker.rpartition(":")
    info = {"port": port, "tvm": tvm.__version__, "import_s": round(time.time() - started, 1), "pid": os.getpid()}
    print(f"[perfbot-qemu-server] {json.dumps(info)}", flush=True)
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(info, f)
        os.replace(tmp, args.ready_file)
    rpc_server._listen_loop(sock, port, args.key, (tracker_host, int(tracker_port)), None, args.custom_addr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
