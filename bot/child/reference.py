"""The TFLite reference: outputs to compare with, and the latency TVM is measured against.

Runs in a child process (like measure.py in the TVM under test) with perfbot's own interpreter,
which has ai-edge-litert: a user's model that makes the TFLite interpreter
crash is a recorded failure, not a crash of the bot. Imports only numpy and
ai_edge_litert.

    python reference.py SPEC.json RESULT.json

Tested through the runner, with real models: tests/engine/test_runner.py and tests/cli/test_measure.py.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    """Every model of the spec in turn, in one interpreter start: children cost time."""
    with open(argv[1]) as f:
        spec = json.load(f)
    result: dict = {"phase": "start", "items": []}

    def save(**fields):
        result.update(fields)
        with open(argv[2] + ".tmp", "w") as f:
            json.dump(result, f)
        os.replace(argv[2] + ".tmp", argv[2])

    save()
    for number, item in enumerate(spec["items"]):
        save(phase=f"model {number}")  # where a crash happened, for the parent
        result["items"].append(reference(item, spec))
    save(phase="done", status="ok")
    return 0


def reference(item: dict, spec: dict) -> dict:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_path=item["model"], num_threads=int(spec.get("threads", 1)))
        interpreter.allocate_tensors()
        inputs = [np.load(p) for p in item["inputs"]]
        details = interpreter.get_input_details()
        if len(details) != len(inputs):
            raise ValueError(f"model has {len(details)} inputs, {len(inputs)} given")
        for detail, value in zip(details, inputs):
            interpreter.set_tensor(detail["index"], value)
        interpreter.invoke()
        outputs = []
        for i, detail in enumerate(interpreter.get_output_details()):
            path = os.path.join(item["folder"], f"reference_{i}.npy")
            np.save(path, interpreter.get_tensor(detail["index"]))
            outputs.append(path)
        samples = []
        started = time.perf_counter()
        if spec.get("measure", True):
            for _ in range(int(spec.get("warmup", 1)) - 1):  # the run that gave the answer was the first
                interpreter.invoke()
            number = int(spec.get("number", 1))
            for _ in range(int(spec.get("repeat", 10))):
                t0 = time.perf_counter()
                for _ in range(number):
                    interpreter.invoke()
                samples.append((time.perf_counter() - t0) * 1000.0 / number)
        return {"status": "ok", "outputs": outputs, "samples_ms": samples, "measure_s": time.perf_counter() - started}
    except Exception as e:  # a model TFLite cannot run is refused by the parent, naming the file
        return {"status": "runtime_error", "error": f"TFLite: {type(e).__name__}: {e}".splitlines()[0][:500]}


if __name__ == "__main__":
    sys.exit(main(sys.argv))
