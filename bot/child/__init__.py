"""Scripts that run inside the interpreter under test, executed by path, never imported by perfbot.

`measure.py` compiles, runs, checks and times (or counts) one item inside the
TVM environment under test; `tune.py` tunes a suite's tasks there with
MetaSchedule; `reference.py` runs the TFLite reference; and
`qemu_server.py` is TVM's RPC server inside the emulated AArch64 user space;
`guard.py` runs first in each of them and ends it when perfbot ends.
They import only the standard library, numpy, tvm, tflite and ai_edge_litert
(tests/test_layout.py keeps it so), because the interpreter that runs them
has nothing of perfbot installed. This file only names them.
"""

from pathlib import Path

HERE = Path(__file__).parent
MEASURE_SCRIPT = HERE / "measure.py"
TUNE_SCRIPT = HERE / "tune.py"
REFERENCE_SCRIPT = HERE / "reference.py"
QEMU_SERVER_SCRIPT = HERE / "qemu_server.py"
