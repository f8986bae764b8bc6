"""Inception-v3 at 299x299, written once and used twice.

`network(g)` describes the whole model against a builder interface (conv,
max_pool, avg_pool, concat, mean, fully_connected, softmax). With a
GraphBuilder it becomes the quantized `inception_v3` workload; with the
ShapeTracer below it lists every conv2d configuration the network has, which
become the single-layer `qconv` workloads.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine.suite.graph import output_size

INPUT_SHAPE = (1, 299, 299, 3)
CLASSES = 1001


@dataclass(frozen=True, order=True)
class ConvShape:
    """One conv2d configuration: what a single-layer workload measures."""

    height: int
    width: int
    in_channels: int
    out_channels: int
    kernel_h: int
    kernel_w: int
    stride: int
    padding: str  # SAME | VALID

    @property
    def name(self) -> str:
        return (
            f"qconv_{self.height}x{self.width}x{self.in_channels}_{self.out_channels}"
            f"_{self.kernel_h}x{self.kernel_w}_s{self.stride}_{self.padding.lower()}"
        )

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        return (
            1,
            output_size(self.height, self.kernel_h, self.stride, self.padding),
            output_size(self.width, self.kernel_w, self.stride, self.padding),
            self.out_channels,
        )

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


#: The story's layer: 1x147x147x32 -> 3x3 -> 64 channels, VALID, output 1x145x145x64.
SEED = ConvShape(147, 147, 32, 64, 3, 3, 1, "VALID")


def network(g):
    """The Inception-v3 graph (TF-slim naming in comments); returns the output tensor."""
    x = g.conv(g.input, 32, (3, 3), stride=2, padding="VALID")  # Conv2d_1a_3x3 -> 149x149
    x = g.conv(x, 32, (3, 3), padding="VALID")  # Conv2d_2a_3x3 -> 147x147
    x = g.conv(x, 64, (3, 3))  # Conv2d_2b_3x3
    x = g.max_pool(x)  # MaxPool_3a_3x3 -> 73x73
    x = g.conv(x, 80, (1, 1), padding="VALID")  # Conv2d_3b_1x1
    x = g.conv(x, 192, (3, 3), padding="VALID")  # Conv2d_4a_3x3 -> 71x71
    x = g.max_pool(x)  # MaxPool_5a_3x3 -> 35x35
    for pool_channels in (32, 64, 64):  # Mixed_5b, 5c, 5d
        x = _block_35(g, x, pool_channels)
    x = _reduce_35(g, x)  # Mixed_6a -> 17x17
    for mid in (128, 160, 160, 192):  # Mixed_6b .. 6e
        x = _block_17(g, x, mid)
    x = _reduce_17(g, x)  # Mixed_7a -> 8x8
    for _ in range(2):  # Mixed_7b, 7c
        x = _block_8(g, x)
    x = g.mean(x)  # global average pool
    x = g.fully_connected(x, CLASSES, gain=4.0)  # logits, spread so the softmax is not flat
    return g.softmax(x)


def _block_35(g, x, pool_channels):
    b0 = g.conv(x, 64, (1, 1))
    b1 = g.conv(g.conv(x, 48, (1, 1)), 64, (5, 5))
    b2 = g.conv(g.conv(g.conv(x, 64, (1, 1)), 96, (3, 3)), 96, (3, 3))
    b3 = g.conv(g.avg_pool(x), pool_channels, (1, 1))
    return g.concat([b0, b1, b2, b3])


def _reduce_35(g, x):
    b0 = g.conv(x, 384, (3, 3), stride=2, padding="VALID")
    b1 = g.conv(g.conv(g.conv(x, 64, (1, 1)), 96, (3, 3)), 96, (3, 3), stride=2, padding="VALID")
    b2 = g.max_pool(x)
    return g.concat([b0, b1, b2])


def _block_17(g, x, mid):
    b0 = g.conv(x, 192, (1, 1))
    b1 = g.conv(g.conv(g.conv(x, mid, (1, 1)), mid, (1, 7)), 192, (7, 1))
    b2 = g.conv(x, mid, (1, 1))
    b2 = g.conv(g.conv(g.conv(g.conv(b2, mid, (7, 1)), mid, (1, 7)), mid, (7, 1)), 192, (1, 7))
    b3 = g.conv(g.avg_pool(x), 192, (1, 1))
    return g.concat([b0, b1, b2, b3])


def _reduce_17(g, x):
    b0 = g.conv(g.conv(x, 192, (1, 1)), 320, (3, 3), stride=2, padding="VALID")
    b1 = g.conv(
        g.conv(g.conv(g.conv(x, 192, (1, 1)), 192, (1, 7)), 192, (7, 1)), 192, (3, 3), stride=2, padding="VALID"
    )
    b2 = g.max_pool(x)
    return g.concat([b0, b1, b2])


def _block_8(g, x):
    b0 = g.conv(x, 320, (1, 1))
    b1 = g.conv(x, 384, (1, 1))
    b1 = g.concat([g.conv(b1, 384, (1, 3)), g.conv(b1, 384, (3, 1))])
    b2 = g.conv(g.conv(x, 448, (1, 1)), 384, (3, 3))
    b2 = g.concat([g.conv(b2, 384, (1, 3)), g.conv(b2, 384, (3, 1))])
    b3 = g.conv(g.avg_pool(x), 192, (1, 1))
    return g.concat([b0, b1, b2, b3])


class ShapeTracer:
    """The builder interface on shapes alone: walks `network` and collects its conv configurations."""

    def __init__(self, input_shape=INPUT_SHAPE):
        self.shapes: list[tuple[int, ...]] = [tuple(input_shape)]
        self.input = 0
        self.convs: list[ConvShape] = []

    def _add(self, shape) -> int:
        self.shapes.append(tuple(shape))
        return len(self.shapes) - 1

    def conv(self, x, out_channels, kernel=(3, 3), stride=1, padding="SAME", **_):
        _, h, w, c = self.shapes[x]
        conv = ConvShape(h, w, c, out_channels, kernel[0], kernel[1], stride, padding)
        self.convs.append(conv)
        return self._add(conv.output_shape)

    def _pool(self, x, size, stride, padding):
        _, h, w, c = self.shapes[x]
        return self._add((1, output_size(h, size, stride, padding), output_size(w, size, stride, padding), c))

    def max_pool(self, x, size=3, stride=2, padding="VALID"):
        return self._pool(x, size, stride, padding)

    def avg_pool(self, x, size=3, stride=1, padding="SAME"):
        return self._pool(x, size, stride, padding)

    def concat(self, xs):
        first = self.shapes[xs[0]]
        return self._add(first[:3] + (sum(self.shapes[x][3] for x in xs),))

    def mean(self, x):
        return self._add((1, self.shapes[x][3]))

    def fully_connected(self, x, units, **_):
        return self._add((1, units))

    def softmax(self, x):
        return x


def conv_shapes() -> list[ConvShape]:
    """Every distinct conv2d configuration of Inception-v3, in network order, then the story's layer."""
    tracer = ShapeTracer()
    network(tracer)
    distinct = list(dict.fromkeys(tracer.convs))
    if SEED not in distinct:
        distinct.append(SEED)
    return distinct


def conv_counts() -> dict[str, int]:
    """How many times each conv2d configuration occurs in Inception-v3, by the conv workload that measures it."""
    tracer = ShapeTracer()
    network(tracer)
    counts: dict[str, int] = {}
    for conv in tracer.convs:
        counts[conv.name] = counts.get(conv.name, 0) + 1
    return counts
