"""Generated workloads are real TFLite models; users' files are checked before use."""

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from bot.engine.suite.inception import SEED
from bot.engine.suite.suites import get_suite
from bot.engine.suite.workloads import from_file, inception_v3, make_inputs, materialize, qconv
from bot.errors import BadModel


def tflite_run(path, workload_seed):
    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    for detail, x in zip(it.get_input_details(), make_inputs(path, workload_seed)):
        it.set_tensor(detail["index"], x)
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]), it


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("models")


@pytest.mark.parametrize("workload", get_suite("conv").workloads, ids=lambda w: w.key)
def test_every_conv_workload_runs_in_tflite_with_spread_outputs(workload, cache):
    out, _ = tflite_run(materialize(workload, cache), workload.seed)
    info = np.iinfo(out.dtype)
    saturated = np.mean((out == info.min) | (out == info.max))
    assert len(np.unique(out)) > 100
    assert saturated < 0.05


def test_the_story_layer_has_the_story_parameters(cache):
    _, it = tflite_run(materialize(qconv(SEED, "uint8"), cache), 1)
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    assert tuple(inp["shape"]) == (1, 147, 147, 32) and inp["dtype"] == np.uint8
    assert inp["quantization"] == pytest.approx((0.00784314, 128))
    assert tuple(out["shape"]) == (1, 145, 145, 64)
    assert out["quantization"] == pytest.approx((0.027451, 36))
    weights = [t for t in it.get_tensor_details() if tuple(t["shape"]) == (64, 3, 3, 32)][0]
    assert weights["quantization"] == pytest.approx((0.0054902, 109))
    assert [t for t in it.get_tensor_details() if t["dtype"] == np.int32 and tuple(t["shape"]) == (64,)]


def test_int8_scheme_has_per_channel_weight_scales(cache):
    _, it = tflite_run(materialize(qconv(SEED, "int8"), cache), 1)
    weights = [t for t in it.get_tensor_details() if tuple(t["shape"]) == (64, 3, 3, 32)][0]
    scales = weights["quantization_parameters"]["scales"]
    assert len(scales) == 64 and len(set(scales.round(9))) > 10
    assert weights["dtype"] == np.int8 and not weights["quantization_parameters"]["zero_points"].any()


@pytest.mark.parametrize("scheme", ["uint8", "int8"])
def test_inception_v3_runs_and_its_output_is_neither_constant_nor_saturated(scheme, cache):
    out, it = tflite_run(materialize(inception_v3(scheme), cache), 5)
    ops = {op["op_name"] for op in it._get_ops_details()}
    assert {"CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "CONCATENATION", "MEAN", "FULLY_CONNECTED", "SOFTMAX"} <= ops
    assert out.shape == (1, 1001)
    info = np.iinfo(out.dtype)
    assert len(np.unique(out)) >= 5  # a spread of probabilities, not one value
    assert out.max() < info.max  # no class is pinned at probability 1
    assert int(out.max()) - info.min > 20  # and some class clearly wins


def test_generation_is_deterministic_and_cached_by_content_hash(tmp_path):
    w = qconv(SEED, "int8")
    a = materialize(w, tmp_path / "a")
    b = materialize(w, tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()
    assert w.content_hash[:16] in a.name
    assert materialize(w, tmp_path / "a") == a
    assert qconv(SEED, "uint8").content_hash != w.content_hash


def test_inputs_are_deterministic_and_cover_the_integer_range(tmp_path):
    path = materialize(qconv(SEED, "uint8"), tmp_path)
    x1, x2 = make_inputs(path, 3)[0], make_inputs(path, 3)[0]
    assert (x1 == x2).all() and x1.dtype == np.uint8
    assert x1.min() == 0 and x1.max() == 255
    assert not (make_inputs(path, 4)[0] == x1).all()


def test_a_users_model_is_a_workload_named_after_its_file(tmp_path):
    src = materialize(qconv(SEED, "int8"), tmp_path)
    mine = tmp_path / "my_model.tflite"
    mine.write_bytes(src.read_bytes())
    w = from_file(mine)
    assert (w.name, w.scheme, w.path) == ("my_model", "int8", mine.resolve())
    assert materialize(w, tmp_path / "cache") == mine.resolve()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not a TFLite model"),
        (b"PK\x03\x04 this is a zip file", "not a TFLite model"),
        (None, "truncated or corrupt"),
    ],
)
def test_bad_model_files_get_one_line(tmp_path, content, message):
    path = tmp_path / "bad.tflite"
    if content is None:
        good = materialize(qconv(SEED, "uint8"), tmp_path).read_bytes()
        content = good[: len(good) // 3]
    path.write_bytes(content)
    with pytest.raises(BadModel, match=message) as e:
        from_file(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_a_missing_model_file(tmp_path):
    with pytest.raises(BadModel, match="no such file"):
        from_file(tmp_path / "nope.tflite")
