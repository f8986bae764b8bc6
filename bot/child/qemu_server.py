"""TVM's RPC server for the emulated AArch64 device, in one process: runs under qemu-aarch64-static.

    qemu-aarch64-static -L ROOT ROOT/usr/bin/python3.11 -s qemu_server.py \
        --tracker 127.0.0.1:9190 --key qemu-aarch64 [--host 127.0.0.1] [--ready-file PATH] [--parent-pid PID]

It runs with the emulated user space's Python (see bot/qemu.py), so it imports
only the standard library and TVM: never `bot`.

`python -m tvm.exec.rpc_server` (tvm.rpc.Server) starts the server in a
PopenWorker, a new interpreter started with exec(), which qemu's user mode
cannot run without binfmt_misc. Here TVM's own listen loop
(tvm.rpc.server._listen_loop: register at the tracker, accept, serve) runs in
this process, and each session runs in a child forked by multiprocessing, as
in TVM's server, with the start method pinned to fork (spawn would exec).
When the socket is bound and TVM imported, the ready file gets
{"port": ..., "tvm": ..., "import_s": ...}; registration follows at once.
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
    args = parser.parse_args(argv)
    if args.parent_pid:
        die_with_parent(args.parent_pid)

    started = time.time()
    multiprocessing.set_start_method("fork")
    import tvm
    from tvm.rpc import server as rpc_server

    rpc_server.logger.setLevel(logging.INFO)
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
