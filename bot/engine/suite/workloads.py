"""Workloads: what is measured, as TFLite files on disk.

Generated workloads are deterministic from their definition and cached by a
content hash of it (plus the generator version), so every run of every
machine measures byte-identical models, and a changed generator never reuses
a stale file. A user's own `.tflite` file is a workload too, checked before
anything is recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.engine.suite import inception
from bot.engine.suite.graph import SCHEMES, GraphBuilder
from bot.engine.suite.inception import SEED, ConvShape
from bot.engine.suite.tflite_writer import Quantization
from bot.errors import BadModel

#: Bump when generated models change for the same definition.
GENERATOR_VERSION = 1

#: The story's layer keeps its model's exact quantization parameters (uint8 scheme).
SEED_UINT8 = {
    "input": Quantization.per_tensor(0.00784314, 128),
    "weights": Quantization.per_tensor(0.0054902, 109),
    "output": Quantization.per_tensor(0.027451, 36),
}


@dataclass(frozen=True)
class Workload:
    """One model to measure. `definition` is what generates it (None for a user's file)."""

    name: str
    scheme: str
    definition: dict | None = field(default=None, compare=False, hash=False)
    tolerance: float = 1.0
    path: Path | None = None  # a user's own model
    file_hash: str | None = None

    @property
    def key(self) -> str:
        return f"{self.name}/{self.scheme}"

    @property
    def content_hash(self) -> str:
        if self.file_hash:
            return self.file_hash
        text = json.dumps({"generator": GENERATOR_VERSION, "scheme": self.scheme, **self.definition}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def seed(self) -> int:
        return int(self.content_hash[:8], 16)


def qconv(shape: ConvShape, scheme: str) -> Workload:
    return Workload(shape.name, scheme, {"kind": "qconv", "conv": shape.as_dict()})


def inception_v3(scheme: str) -> Workload:
    return Workload(
        "inception_v3",
        scheme,
        {"kind": "inception_v3", "input": list(inception.INPUT_SHAPE)},
        tolerance=INCEPTION_TOLERANCE,
    )


#: Ninety-odd requantized layers round differently in TVM (float dequantize-op-quantize)
#: and TFLite (integer pipelines): 2-4 units of the softmax output were seen with correct
#: code; a broken kernel is off by tens.
INCEPTION_TOLERANCE = 6.0


def build(workload: Workload) -> bytes:
    """The flatbuffer of a generated workload."""
    scheme = SCHEMES[workload.scheme]
    kind = workload.definition["kind"]
    if kind == "qconv":
        conv = ConvShape(**workload.definition["conv"])
        seed_layer = conv == SEED and workload.scheme == "uint8"
        fixed = SEED_UINT8 if seed_layer else {}
        g = GraphBuilder(
            scheme,
            workload.seed,
            (1, conv.height, conv.width, conv.in_channels),
            input_quant=fixed.get("input"),
            description=f"perfbot {workload.key}",
        )
        y = g.conv(
            g.input,
            conv.out_channels,
            (conv.kernel_h, conv.kernel_w),
            conv.stride,
            conv.padding,
            relu=False,
            gain=1.2 if seed_layer else 1.0,
            bias_mean=2.5 if seed_layer else 0.0,
            weight_quant=fixed.get("weights"),
            output_quant=fixed.get("output"),
        )
        return g.finish(y)
    if kind == "inception_v3":
        g = GraphBuilder(
            scheme, workload.seed, tuple(workload.definition["input"]), description=f"perfbot {workload.key}"
        )
        return g.finish(inception.network(g))
    raise BadModel(f"unknown workload kind {kind!r} in {workload.key}")


def materialize(workload: Workload, cache_dir: Path) -> Path:
    """The workload's .tflite file, generated once into the cache."""
    if workload.path is not None:
        return workload.path
    folder = Path(cache_dir) / "models"
    path = folder / f"{workload.name}-{workload.scheme}-{workload.content_hash[:16]}.tflite"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(build(workload))
        os.replace(tmp, path)
    return path


def from_file(path: Path) -> Workload:
    """A user's model as a workload; refuses what is not a readable TFLite model, in one line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadModel(f"{path}: no such file") from None
    except OSError as e:
        raise BadModel(f"{path}: cannot read it ({e.strerror})") from None
    describe_model(data, path)
    name = path.stem.replace("/", "_") or "model"
    scheme = _scheme_of(data)
    return Workload(name, scheme, None, path=path.resolve(), file_hash=hashlib.sha256(data).hexdigest())


def describe_model(data: bytes, path: Path | str) -> list[tuple[tuple[int, ...], np.dtype]]:
    """Shapes and dtypes of the model's inputs; BadModel naming the file when it is not a TFLite model."""
    import tflite

    if len(data) < 8 or data[4:8] != b"TFL3":
        raise BadModel(f"{path}: not a TFLite model (no TFL3 identifier)")
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        if model.SubgraphsLength() < 1:
            raise BadModel(f"{path}: TFLite model has no subgraph")
        graph = model.Subgraphs(0)
        inputs = []
        for i in range(graph.InputsLength()):
            tensor = graph.Tensors(graph.Inputs(i))
            dtype = _DTYPES.get(tensor.Type())
            if dtype is None:
                raise BadModel(f"{path}: input {i} has an unsupported type ({tensor.Type()})")
            inputs.append((tuple(int(s) for s in tensor.ShapeAsNumpy()), np.dtype(dtype)))
        for b in range(model.BuffersLength()):  # touches every buffer: a truncated file fails here
            model.Buffers(b).DataLength()
    except BadModel:
        raise
    except Exception as e:  # flatbuffers raises assorted errors on truncated or corrupt data
        raise BadModel(f"{path}: truncated or corrupt TFLite model ({type(e).__name__}: {e})") from None
    if not inputs:
        raise BadModel(f"{path}: TFLite model has no inputs")
    return inputs


_DTYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8"}


def _scheme_of(data: bytes) -> str:
    (shape, dtype), *_ = describe_model(data, "model")
    return {np.dtype("uint8"): "uint8", np.dtype("int8"): "int8"}.get(dtype, str(dtype))


def make_inputs(model_path: Path, seed: int) -> list[np.ndarray]:
    """Deterministic inputs for every model input: the whole integer range, or N(0, 1) for floats."""
    data = Path(model_path).read_bytes()
    rng = np.random.default_rng(seed)
    arrays = []
    for shape, dtype in describe_model(data, model_path):
        shape = tuple(max(s, 1) for s in shape)  # -1 (dynamic batch) becomes 1
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            arrays.append(rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(dtype))
    return arrays
