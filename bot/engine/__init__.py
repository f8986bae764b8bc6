"""The engine: measuring. TVM builds under test, workloads, child processes, devices, timing, tuning.

    runner.py             a suite on one device and build (or a PR's beside its base's), recorded
    timing.py             timing one item: alone, or PR and base builds in alternating rounds
    counting.py           counting one item's instructions on a counting board: alone, or PR and base
    isolation.py          one item in a child process with a time limit; how it ended
    children.py           what a TVM child is given: its device, environment and checked fork servers
    server_pairs.py       a PR job's pairs of fork servers, one pair per pair of an item's children
    subjects.py           the one way from an env spec (python:, pip:, source:) to the TVM under test
    environment.py        what a TVM under test is to the rest: interpreter, variables, what runs record
    envs.py               python: and pip: environments
    builds/               the build cache (source:): any commit's TVM, native builds shared by native key,
                          each with its AArch64 runtime; export and import between hosts
    steps.py              one build step: run, logged in whole lines, relayed, ended with perfbot
    arm_runtime.py        a commit's AArch64 runtime checked under qemu in the emulated user space
    compat.py             which apache-tvm-ffi goes with which apache-tvm
    suite/                workloads (TFLite files written without TensorFlow) and suites
    tuning.py             MetaSchedule tuning into one database per device and target
    tuning_databases.py   where the tuning databases are; export and import
    releases.py           `perfbot history`: a suite on each TVM release
    boards/               the boards measured on: preflight, TVM's tracker, this host, the emulated AArch64
                          board (its user space, its RPC server, the instruction-counting plugin)
    bisect.py             the first commit of a base-branch range at which an item got slower
    job_worker.py         `perfbot worker`: queued jobs claimed, run, recorded, handed back

What it may import: the shared modules at the top of `bot/` (errors, settings,
devices, vocabulary, console, lifecycle, stats), the store, and `bot.child` for
the paths of the scripts it runs (never their code: they run in the TVM under
test, in another interpreter). What it may not: anything of the GitHub side
(`bot.github`) or of the CLI; the engine and the GitHub side meet only in the
CLI. tests/test_layout.py keeps it so.
"""
