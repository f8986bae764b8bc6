"""Quantized TFLite graphs built from a float description, calibrated on the way.

A graph is described op by op (conv, pools, concatenation, mean, fully
connected, softmax). Each op is also computed in float with numpy on a
calibration input, using the weights as they will be after quantization, so
that every activation gets a scale and zero point that fits its real range:
outputs spread over the quantized range instead of sitting at one value or
saturating. Tensors that TFLite requires to share parameters (a pool's input
and output, a concatenation's inputs and output) are put in one group whose
range is the union of its members'.

Two schemes: `uint8` per tensor (TF1 style, as in the story's model) and
`int8` with per-channel weight scales (TF2 style).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import tflite
from numpy.lib.stride_tricks import sliding_window_view

from bot.engine.suite.tflite_writer import ModelWriter, Quantization


@dataclass(frozen=True)
class Scheme:
    name: str
    dtype: np.dtype
    per_channel: bool

    @property
    def qmin(self) -> int:
        return int(np.iinfo(self.dtype).min)

    @property
    def qmax(self) -> int:
        return int(np.iinfo(self.dtype).max)

    def activation(self, lo: float, hi: float) -> Quantization:
        """Asymmetric per-tensor parameters covering [lo, hi] (always including 0)."""
        lo, hi = min(lo, 0.0), max(hi, 0.0)
        if hi - lo < 1e-6:
            hi = lo + 1e-6
        scale = (hi - lo) / (self.qmax - self.qmin)
        zero_point = int(np.clip(round(self.qmin - lo / scale), self.qmin, self.qmax))
        return Quantization.per_tensor(scale, zero_point)

    def quantize(self, values: np.ndarray, q: Quantization, axis: int = 0) -> np.ndarray:
        scale = np.asarray(q.scale, dtype=np.float64)
        zero = np.asarray(q.zero_point, dtype=np.float64)
        if scale.size > 1:
            shape = [1] * values.ndim
            shape[axis] = scale.size
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        return np.clip(np.round(values / scale) + zero, self.qmin, self.qmax).astype(self.dtype)

    def dequantize(self, values: np.ndarray, q: Quantization, axis: int = 0) -> np.ndarray:
        scale = np.asarray(q.scale, dtype=np.float64)
        zero = np.asarray(q.zero_point, dtype=np.float64)
        if scale.size > 1:
            shape = [1] * values.ndim
            shape[axis] = scale.size
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        return ((values.astype(np.float64) - zero) * scale).astype(np.float32)


SCHEMES = {
    "uint8": Scheme("uint8", np.dtype("uint8"), per_channel=False),
    "int8": Scheme("int8", np.dtype("int8"), per_channel=True),
}


def output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "SAME":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad(x: np.ndarray, kernel: tuple[int, int], stride: int, padding: str, value: float) -> np.ndarray:
    if padding == "VALID":
        return x
    ph = _same_pads(x.shape[1], kernel[0], stride)
    pw = _same_pads(x.shape[2], kernel[1], stride)
    return np.pad(x, ((0, 0), ph, pw, (0, 0)), constant_values=value)


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: int) -> np.ndarray:
    """[1, H, W, C] -> [Ho, Wo, C, kh, kw] views."""
    return sliding_window_view(x[0], kernel, axis=(0, 1))[::stride, ::stride]


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]
    value: np.ndarray | None  # float, for calibration; None for constants
    fixed: Quantization | None = None


@dataclass
class _Op:
    kind: str
    inputs: list[int]
    output: int
    params: dict = field(default_factory=dict)


class GraphBuilder:
    """Describes a quantized single-subgraph model; `finish()` writes the flatbuffer."""

    def __init__(
        self,
        scheme: Scheme,
        seed: int,
        input_shape: tuple[int, ...],
        input_quant: Quantization | None = None,
        description: str = "perfbot",
    ):
        self.scheme = scheme
        self.rng = np.random.default_rng(seed)
        self.description = description
        self.tensors: list[_Tensor] = []
        self.ops: list[_Op] = []
        self._parent: list[int] = []
        input_quant = input_quant or scheme.activation(-1.0, 1.0)
        ints = self.rng.integers(scheme.qmin, scheme.qmax + 1, size=input_shape)
        value = scheme.dequantize(ints, input_quant)
        self.input = self._add("input", value, fixed=input_quant)

    # -- tensors and parameter groups -------------------------------------------------

    def _add(self, name: str, value: np.ndarray, fixed: Quantization | None = None) -> int:
        self.tensors.append(_Tensor(f"{name}_{len(self.tensors)}", tuple(value.shape), value, fixed))
        self._parent.append(len(self._parent))
        return len(self.tensors) - 1

    def _root(self, t: int) -> int:
        while self._parent[t] != t:
            self._parent[t] = self._parent[self._parent[t]]
            t = self._parent[t]
        return t

    def _same(self, a: int, b: int) -> None:
        self._parent[self._root(a)] = self._root(b)

    def shape(self, t: int) -> tuple[int, ...]:
        return self.tensors[t].shape

    # -- weights ----------------------------------------------------------------------

    def _weights(self, shape: tuple[int, ...], std: float, quant: Quantization | None = None):
        """Float weights drawn here, quantized, and given back dequantized (what the model computes with)."""
        w = self.rng.normal(0.0, std, size=shape).astype(np.float32)
        if quant is None:
            if self.scheme.per_channel and len(shape) == 4:
                peak = np.maximum(np.abs(w).reshape(shape[0], -1).max(axis=1), 1e-8)
                quant = Quantization(tuple(float(p) / 127 for p in peak), (0,) * shape[0], axis=0)
            elif self.scheme.per_channel:  # fully connected: symmetric per tensor
                quant = Quantization.per_tensor(max(float(np.abs(w).max()), 1e-8) / 127, 0)
            else:
                quant = self.scheme.activation(float(w.min()), float(w.max()))
        wq = self.scheme.quantize(w, quant, axis=0)
        if self.scheme.per_channel:  # symmetric int8 weights stay in [-127, 127]
            wq = np.maximum(wq, -127).astype(self.scheme.dtype)
        return wq, quant, self.scheme.dequantize(wq, quant, axis=0)

    # -- ops ----------------------------------------------------------------------------

    def conv(
        self,
        x: int,
        out_channels: int,
        kernel: tuple[int, int] = (3, 3),
        stride: int = 1,
        padding: str = "SAME",
        relu: bool = True,
        gain: float = 1.0,
        bias_mean: float = 0.0,
        weight_quant: Quantization | None = None,
        output_quant: Quantization | None = None,
    ) -> int:
        xv = self.tensors[x].value
        in_channels = xv.shape[3]
        fan_in = kernel[0] * kernel[1] * in_channels
        # He-style scale keeps activations of the same order through deep ReLU stacks.
        std = gain * math.sqrt(2.0 if relu else 1.0) / math.sqrt(fan_in * float(np.mean(xv * xv)) + 1e-12)
        wq, wquant, wf = self._weights((out_channels, kernel[0], kernel[1], in_channels), std, weight_quant)
        bias = self.rng.normal(bias_mean, 0.1 * abs(bias_mean) + 0.05, size=out_channels).astype(np.float32)
        win = _windows(_pad(xv, kernel, stride, padding, 0.0), kernel, stride)
        out = np.tensordot(win, wf.transpose(3, 1, 2, 0), axes=([2, 3, 4], [0, 1, 2])) + bias
        if relu:
            out = np.maximum(out, 0.0)
        y = self._add("conv", out[None].astype(np.float32), fixed=output_quant)
        self.ops.append(
            _Op(
                "conv",
                [x],
                y,
                dict(weights=wq, weight_quant=wquant, bias=bias, stride=stride, padding=padding, relu=relu),
            )
        )
        return y

    def max_pool(self, x: int, size: int = 3, stride: int = 2, padding: str = "VALID") -> int:
        xv = _pad(self.tensors[x].value, (size, size), stride, padding, -np.inf)
        out = _windows(xv, (size, size), stride).max(axis=(3, 4))
        return self._pool("max_pool", x, out, size, stride, padding)

    def avg_pool(self, x: int, size: int = 3, stride: int = 1, padding: str = "SAME") -> int:
        xv = self.tensors[x].value
        sums = _windows(_pad(xv, (size, size), stride, padding, 0.0), (size, size), stride).sum(axis=(3, 4))
        ones = _pad(np.ones_like(xv[..., :1]), (size, size), stride, padding, 0.0)
        counts = _windows(ones, (size, size), stride).sum(axis=(3, 4))
        return self._pool("avg_pool", x, sums / counts, size, stride, padding)

    def _pool(self, kind: str, x: int, out: np.ndarray, size: int, stride: int, padding: str) -> int:
        y = self._add(kind, out[None].astype(np.float32))
        self._same(y, x)  # TFLite pools keep their input's scale and zero point
        self.ops.append(_Op(kind, [x], y, dict(size=size, stride=stride, padding=padding)))
        return y

    def concat(self, xs: list[int]) -> int:
        y = self._add("concat", np.concatenate([self.tensors[x].value for x in xs], axis=3))
        for x in xs:  # int8 concatenation requires one scale for all inputs and the output
            self._same(x, y)
        self.ops.append(_Op("concat", list(xs), y))
        return y

    def mean(self, x: int) -> int:
        y = self._add("mean", self.tensors[x].value.mean(axis=(1, 2)))
        self.ops.append(_Op("mean", [x], y))
        return y

    def fully_connected(self, x: int, units: int, gain: float = 1.0) -> int:
        xv = self.tensors[x].value
        std = gain / math.sqrt(xv.shape[1] * float(np.mean(xv * xv)) + 1e-12)
        wq, wquant, wf = self._weights((units, xv.shape[1]), std)
        bias = self.rng.normal(0.0, 0.05, size=units).astype(np.float32)
        y = self._add("fully_connected", (xv @ wf.T + bias).astype(np.float32))
        self.ops.append(_Op("fully_connected", [x], y, dict(weights=wq, weight_quant=wquant, bias=bias)))
        return y

    def softmax(self, x: int) -> int:
        v = self.tensors[x].value
        e = np.exp(v - v.max(axis=-1, keepdims=True))
        # TFLite's quantized softmax output is fixed: scale 1/256 from the bottom of the range.
        fixed = Quantization.per_tensor(1 / 256, self.scheme.qmin)
        y = self._add("softmax", (e / e.sum(axis=-1, keepdims=True)).astype(np.float32), fixed=fixed)
        self.ops.append(_Op("softmax", [x], y))
        return y

    # -- writing ------------------------------------------------------------------------

    def quantization(self) -> dict[int, Quantization]:
        """Per tensor: its fixed parameters, or its group's calibrated range."""
        groups: dict[int, list[int]] = {}
        for t in range(len(self.tensors)):
            groups.setdefault(self._root(t), []).append(t)
        params: dict[int, Quantization] = {}
        for members in groups.values():
            fixed = [self.tensors[t].fixed for t in members if self.tensors[t].fixed is not None]
            if fixed:
                q = fixed[0]
            else:
                lo = min(float(self.tensors[t].value.min()) for t in members)
                hi = max(float(self.tensors[t].value.max()) for t in members)
                q = self.scheme.activation(lo, hi)
            for t in members:
                params[t] = q
        return params

    def finish(self, output: int) -> bytes:
        params = self.quantization()
        writer = ModelWriter(description=self.description)
        index: dict[int, int] = {}

        def tensor(t: int) -> int:
            if t not in index:
                info = self.tensors[t]
                index[t] = writer.tensor(info.name, info.shape, self.scheme.dtype, params[t])
            return index[t]

        for op in self.ops:
            ins = [tensor(t) for t in op.inputs]
            emit = getattr(self, f"_emit_{op.kind}")
            emit(writer, op, ins, tensor(op.output), params)
        return writer.finish([tensor(self.input)], [tensor(output)])

    def _bias(self, writer, op, input_scale: float):
        wscale = np.asarray(op.params["weight_quant"].scale, dtype=np.float64)
        scale = input_scale * wscale
        values = np.round(op.params["bias"] / (scale if scale.size > 1 else scale[0])).astype(np.int32)
        quant = Quantization(tuple(float(s) for s in scale), (0,) * scale.size, axis=0)
        return writer.tensor(f"bias_{op.output}", values.shape, np.int32, quant, values)

    def _emit_conv(self, writer, op, ins, out, params) -> None:
        p = op.params
        weights = writer.tensor(
            f"weights_{op.output}", p["weights"].shape, self.scheme.dtype, p["weight_quant"], p["weights"]
        )
        bias = self._bias(writer, op, params[op.inputs[0]].scale[0])
        activation = tflite.ActivationFunctionType.RELU if p["relu"] else tflite.ActivationFunctionType.NONE

        def options(b):
            tflite.Conv2DOptionsStart(b)
            tflite.Conv2DOptionsAddPadding(b, _padding(p["padding"]))
            tflite.Conv2DOptionsAddStrideW(b, p["stride"])
            tflite.Conv2DOptionsAddStrideH(b, p["stride"])
            tflite.Conv2DOptionsAddDilationWFactor(b, 1)
            tflite.Conv2DOptionsAddDilationHFactor(b, 1)
            tflite.Conv2DOptionsAddFusedActivationFunction(b, activation)
            return tflite.Conv2DOptionsEnd(b)

        writer.operator(
            tflite.BuiltinOperator.CONV_2D, [ins[0], weights, bias], [out], tflite.BuiltinOptions.Conv2DOptions, options
        )

    def _emit_pool(self, writer, op, ins, out, opcode) -> None:
        p = op.params

        def options(b):
            tflite.Pool2DOptionsStart(b)
            tflite.Pool2DOptionsAddPadding(b, _padding(p["padding"]))
            tflite.Pool2DOptionsAddStrideW(b, p["stride"])
            tflite.Pool2DOptionsAddStrideH(b, p["stride"])
            tflite.Pool2DOptionsAddFilterWidth(b, p["size"])
            tflite.Pool2DOptionsAddFilterHeight(b, p["size"])
            tflite.Pool2DOptionsAddFusedActivationFunction(b, tflite.ActivationFunctionType.NONE)
            return tflite.Pool2DOptionsEnd(b)

        writer.operator(opcode, ins, [out], tflite.BuiltinOptions.Pool2DOptions, options)

    def _emit_max_pool(self, writer, op, ins, out, params) -> None:
        self._emit_pool(writer, op, ins, out, tflite.BuiltinOperator.MAX_POOL_2D)

    def _emit_avg_pool(self, writer, op, ins, out, params) -> None:
        self._emit_pool(writer, op, ins, out, tflite.BuiltinOperator.AVERAGE_POOL_2D)

    def _emit_concat(self, writer, op, ins, out, params) -> None:
        def options(b):
            tflite.ConcatenationOptionsStart(b)
            tflite.ConcatenationOptionsAddAxis(b, 3)
            tflite.ConcatenationOptionsAddFusedActivationFunction(b, tflite.ActivationFunctionType.NONE)
            return tflite.ConcatenationOptionsEnd(b)

        writer.operator(
            tflite.BuiltinOperator.CONCATENATION, ins, [out], tflite.BuiltinOptions.ConcatenationOptions, options
        )

    def _emit_mean(self, writer, op, ins, out, params) -> None:
        axes = writer.tensor(f"axes_{op.output}", (2,), np.int32, None, np.array([1, 2], dtype=np.int32))

        def options(b):
            tflite.ReducerOptionsStart(b)
            tflite.ReducerOptionsAddKeepDims(b, False)
            return tflite.ReducerOptionsEnd(b)

        writer.operator(
            tflite.BuiltinOperator.MEAN, [ins[0], axes], [out], tflite.BuiltinOptions.ReducerOptions, options
        )

    def _emit_fully_connected(self, writer, op, ins, out, params) -> None:
        p = op.params
        weights = writer.tensor(
            f"weights_{op.output}", p["weights"].shape, self.scheme.dtype, p["weight_quant"], p["weights"]
        )
        bias = self._bias(writer, op, params[op.inputs[0]].scale[0])

        def options(b):
            tflite.FullyConnectedOptionsStart(b)
            tflite.FullyConnectedOptionsAddFusedActivationFunction(b, tflite.ActivationFunctionType.NONE)
            return tflite.FullyConnectedOptionsEnd(b)

        writer.operator(
            tflite.BuiltinOperator.FULLY_CONNECTED,
            [ins[0], weights, bias],
            [out],
            tflite.BuiltinOptions.FullyConnectedOptions,
            options,
        )

    def _emit_softmax(self, writer, op, ins, out, params) -> None:
        def options(b):
            tflite.SoftmaxOptionsStart(b)
            tflite.SoftmaxOptionsAddBeta(b, 1.0)
            return tflite.SoftmaxOptionsEnd(b)

        writer.operator(tflite.BuiltinOperator.SOFTMAX, ins, [out], tflite.BuiltinOptions.SoftmaxOptions, options)


def _padding(name: str) -> int:
    return tflite.Padding.SAME if name == "SAME" else tflite.Padding.VALID
