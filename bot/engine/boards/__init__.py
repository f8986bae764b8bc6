"""The boards perfbot measures on: this host, boards behind TVM's RPC tracker, and the emulated AArch64 board.

    preflight.py        a device made ready before a run is written; brought up for the run where perfbot does that
    tracker.py          TVM's RPC tracker: ask it what it serves, or start one
    host.py             what this machine is, as runs record it
    userspace.py        the emulated board's AArch64 user space: made once in the cache, checked, run under qemu
    emulated_server.py  TVM's RPC server under qemu-aarch64, started for a run and ended with perfbot
    plugin.py           the instruction-counting TCG plugin (icount.c): built from source, checked
    instructions.py     a counted inference split by function; the compiled module's kernels and code size
    symbols.py          which function an address of an AArch64 library is in (binutils' nm)
    probe.py            a short child process that answers in one JSON line, or says why not

Setting the emulated board up (userspace.py, plugin.py) is apart from serving
it (emulated_server.py); preflight.py brings a device up for a run and is
what the rest of the engine calls. The CLI's `perfbot device setup|serve` are
in bot/cli/devices.py. What this room may import is what the engine may
(see bot/engine/__init__.py).
"""
