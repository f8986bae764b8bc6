"""The quantized graph builder: parameters TFLite accepts, ranges that fit, real interpreter runs."""

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from bot.engine.suite.graph import SCHEMES, GraphBuilder
from bot.engine.suite.tflite_writer import Quantization


def run(model: bytes, x: np.ndarray) -> np.ndarray:
    it = Interpreter(model_content=model, num_threads=1)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


@pytest.mark.parametrize("scheme", ["uint8", "int8"])
def test_activation_parameters_cover_the_range_and_zero(scheme):
    s = SCHEMES[scheme]
    q = s.activation(-0.5, 3.0)
    lo = (s.qmin - q.zero_point[0]) * q.scale[0]
    hi = (s.qmax - q.zero_point[0]) * q.scale[0]
    assert lo <= -0.49 and hi >= 2.99
    assert s.quantize(np.array([0.0]), q)[0] == q.zero_point[0]


@pytest.mark.parametrize("scheme", ["uint8", "int8"])
def test_concat_and_pool_share_parameters_as_tflite_requires(scheme):
    g = GraphBuilder(SCHEMES[scheme], 7, (1, 9, 9, 4))
    a = g.conv(g.input, 3, (1, 1))
    b = g.conv(g.input, 5, (3, 3))
    p = g.max_pool(g.input, 3, 2, "SAME")
    c = g.conv(p, 2, (1, 1))
    y = g.concat([a, b])
    params = g.quantization()
    assert params[a] == params[b] == params[y]
    assert params[p] == params[g.input]
    assert params[c] != params[y]
    model = g.finish(y)
    x = np.random.default_rng(0).integers(SCHEMES[scheme].qmin, SCHEMES[scheme].qmax + 1, (1, 9, 9, 4)).astype(scheme)
    assert run(model, x).shape == (1, 9, 9, 8)


@pytest.mark.parametrize("scheme", ["uint8", "int8"])
def test_quantized_conv_follows_its_float_description(scheme):
    """Calibrated output of TFLite on the calibration input matches the float simulation within a few steps."""
    s = SCHEMES[scheme]
    g = GraphBuilder(s, 3, (1, 12, 12, 8))
    y = g.conv(g.input, 16, (3, 3), stride=2, padding="SAME", relu=False)
    model = g.finish(y)
    q_in = g.quantization()[g.input]
    x = s.quantize(g.tensors[g.input].value, q_in)
    out = run(model, x)
    expected = g.tensors[y].value
    q_out = g.quantization()[y]
    got = s.dequantize(out, q_out)
    assert np.abs(got - expected).max() <= 3 * q_out.scale[0]
    assert len(np.unique(out)) > 50


def test_fixed_parameters_are_kept():
    s = SCHEMES["uint8"]
    fixed = Quantization.per_tensor(0.027451, 36)
    g = GraphBuilder(s, 1, (1, 5, 5, 2), input_quant=Quantization.per_tensor(0.00784314, 128))
    y = g.conv(g.input, 4, (3, 3), padding="VALID", relu=False, output_quant=fixed)
    assert g.quantization()[y] == fixed
    assert g.quantization()[g.input] == Quantization.per_tensor(0.00784314, 128)
