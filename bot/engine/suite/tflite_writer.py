"""Write TFLite flatbuffers with the `tflite` schema package and `flatbuffers`.

The `tflite` package has builder functions for every table but no object API,
so a model is collected here as plain Python (tensors, operators) and
serialised in one pass at the end, in the order flatbuffers requires: leaves
(vectors, strings, buffers) before the tables that point at them.

Tested through the models it writes, read back by TFLite's interpreter: tests/engine/suite/test_graph.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import flatbuffers
import numpy as np
import tflite

#: numpy dtype -> TFLite TensorType
TENSOR_TYPES = {
    np.dtype("float32"): tflite.TensorType.FLOAT32,
    np.dtype("int32"): tflite.TensorType.INT32,
    np.dtype("uint8"): tflite.TensorType.UINT8,
    np.dtype("int8"): tflite.TensorType.INT8,
    np.dtype("int64"): tflite.TensorType.INT64,
}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization of one tensor: per tensor, or per channel along `axis`."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @classmethod
    def per_tensor(cls, scale: float, zero_point: int) -> Quantization:
        return cls((float(scale),), (int(zero_point),))


@dataclass
class _Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    quant: Quantization | None
    data: bytes | None


@dataclass
class _Operator:
    opcode: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options_type: int
    options: Callable[[flatbuffers.Builder], int] | None


@dataclass
class ModelWriter:
    """Collects tensors and operators of one subgraph, then serialises them."""

    description: str = "perfbot"
    _tensors: list[_Tensor] = field(default_factory=list)
    _operators: list[_Operator] = field(default_factory=list)
    _opcodes: list[int] = field(default_factory=list)

    def tensor(
        self,
        name: str,
        shape: Sequence[int],
        dtype,
        quant: Quantization | None = None,
        data: np.ndarray | None = None,
    ) -> int:
        """Add a tensor (a constant when `data` is given); returns its index."""
        dtype = np.dtype(dtype)
        raw = None
        if data is not None:
            array = np.ascontiguousarray(data, dtype=dtype)
            if tuple(array.shape) != tuple(shape):
                raise ValueError(f"tensor {name}: data shape {array.shape} != {tuple(shape)}")
            raw = array.tobytes()
        self._tensors.append(_Tensor(name, tuple(int(s) for s in shape), dtype, quant, raw))
        return len(self._tensors) - 1

    def operator(
        self,
        opcode: int,
        inputs: Sequence[int],
        outputs: Sequence[int],
        options_type: int = 0,
        options: Callable[[flatbuffers.Builder], int] | None = None,
    ) -> None:
        """Add an operator; `options` builds its options table when called with the builder."""
        if opcode not in self._opcodes:
            self._opcodes.append(opcode)
        self._operators.append(_Operator(opcode, tuple(inputs), tuple(outputs), options_type, options))

    def shape(self, index: int) -> tuple[int, ...]:
        return self._tensors[index].shape

    def quantization(self, index: int) -> Quantization | None:
        return self._tensors[index].quant

    def finish(self, inputs: Sequence[int], outputs: Sequence[int]) -> bytes:
        """Serialise the model with the given graph inputs and outputs."""
        b = flatbuffers.Builder(1024)
        # Buffer 0 is the empty sentinel TFLite expects; every constant gets its own.
        buffer_data = [None] + [t.data for t in self._tensors if t.data is not None]
        buffers = []
        for data in buffer_data:
            vec = None
            if data is not None:
                b.StartVector(1, len(data), 16)
                b.head = b.head - len(data)
                b.Bytes[b.head : b.head + len(data)] = data
                vec = b.EndVector()
            tflite.BufferStart(b)
            if vec is not None:
                tflite.BufferAddData(b, vec)
            buffers.append(tflite.BufferEnd(b))

        tensors = []
        next_buffer = 1
        for t in self._tensors:
            name = b.CreateString(t.name)
            shape = _int_vector(b, tflite.TensorStartShapeVector, t.shape)
            quant = _quantization(b, t.quant) if t.quant else None
            buffer_index = 0
            if t.data is not None:
                buffer_index, next_buffer = next_buffer, next_buffer + 1
            tflite.TensorStart(b)
            tflite.TensorAddShape(b, shape)
            tflite.TensorAddType(b, TENSOR_TYPES[t.dtype])
            tflite.TensorAddBuffer(b, buffer_index)
            tflite.TensorAddName(b, name)
            if quant is not None:
                tflite.TensorAddQuantization(b, quant)
            tensors.append(tflite.TensorEnd(b))

        operators = []
        for op in self._operators:
            ins = _int_vector(b, tflite.OperatorStartInputsVector, op.inputs)
            outs = _int_vector(b, tflite.OperatorStartOutputsVector, op.outputs)
            options = op.options(b) if op.options else None
            tflite.OperatorStart(b)
            tflite.OperatorAddOpcodeIndex(b, self._opcodes.index(op.opcode))
            tflite.OperatorAddInputs(b, ins)
            tflite.OperatorAddOutputs(b, outs)
            if options is not None:
                tflite.OperatorAddBuiltinOptionsType(b, op.options_type)
                tflite.OperatorAddBuiltinOptions(b, options)
            operators.append(tflite.OperatorEnd(b))

        opcodes = []
        for code in self._opcodes:
            tflite.OperatorCodeStart(b)
            # Codes above 127 only fit the new field; the deprecated one saturates.
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            tflite.OperatorCodeAddBuiltinCode(b, code)
            tflite.OperatorCodeAddVersion(b, 1)
            opcodes.append(tflite.OperatorCodeEnd(b))

        tensor_vec = _table_vector(b, tflite.SubGraphStartTensorsVector, tensors)
        input_vec = _int_vector(b, tflite.SubGraphStartInputsVector, inputs)
        output_vec = _int_vector(b, tflite.SubGraphStartOutputsVector, outputs)
        op_vec = _table_vector(b, tflite.SubGraphStartOperatorsVector, operators)
        sg_name = b.CreateString("main")
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensor_vec)
        tflite.SubGraphAddInputs(b, input_vec)
        tflite.SubGraphAddOutputs(b, output_vec)
        tflite.SubGraphAddOperators(b, op_vec)
        tflite.SubGraphAddName(b, sg_name)
        subgraph = tflite.SubGraphEnd(b)

        subgraph_vec = _table_vector(b, tflite.ModelStartSubgraphsVector, [subgraph])
        opcode_vec = _table_vector(b, tflite.ModelStartOperatorCodesVector, opcodes)
        buffer_vec = _table_vector(b, tflite.ModelStartBuffersVector, buffers)
        description = b.CreateString(self.description)
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, opcode_vec)
        tflite.ModelAddSubgraphs(b, subgraph_vec)
        tflite.ModelAddDescription(b, description)
        tflite.ModelAddBuffers(b, buffer_vec)
        b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def _int_vector(b: flatbuffers.Builder, start: Callable, values: Sequence[int]) -> int:
    start(b, len(values))
    for v in reversed(values):
        b.PrependInt32(int(v))
    return b.EndVector()


def _table_vector(b: flatbuffers.Builder, start: Callable, offsets: Sequence[int]) -> int:
    start(b, len(offsets))
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _quantization(b: flatbuffers.Builder, q: Quantization) -> int:
    tflite.QuantizationParametersStartScaleVector(b, len(q.scale))
    for s in reversed(q.scale):
        b.PrependFloat32(float(s))
    scale = b.EndVector()
    tflite.QuantizationParametersStartZeroPointVector(b, len(q.zero_point))
    for z in reversed(q.zero_point):
        b.PrependInt64(int(z))
    zero_point = b.EndVector()
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, scale)
    tflite.QuantizationParametersAddZeroPoint(b, zero_point)
    tflite.QuantizationParametersAddQuantizedDimension(b, q.axis)
    return tflite.QuantizationParametersEnd(b)
