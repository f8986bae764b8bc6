"""Inception-v3's structure: the conv configurations the conv suite measures."""

from bot.engine.suite.inception import SEED, ShapeTracer, conv_shapes, network


def test_network_shapes_end_in_1001_classes():
    tracer = ShapeTracer()
    out = network(tracer)
    assert tracer.shapes[out] == (1, 1001)
    assert len(tracer.convs) == 94  # the 94 convolutions of Inception-v3 (TF-slim)


def test_distinct_configurations_cover_the_network_and_the_story():
    shapes = conv_shapes()
    assert len(shapes) == len(set(shapes))
    kernels = {(s.kernel_h, s.kernel_w) for s in shapes}
    assert {(1, 1), (3, 3), (5, 5), (1, 7), (7, 1), (1, 3), (3, 1)} <= kernels
    assert {s.stride for s in shapes} == {1, 2}
    assert {(s.height, s.width) for s in shapes} >= {(299, 299), (35, 35), (17, 17), (8, 8)}
    assert SEED in shapes


def test_the_story_layer_is_exact():
    assert SEED.output_shape == (1, 145, 145, 64)
    assert SEED.name == "qconv_147x147x32_64_3x3_s1_valid"
