"""Where a network's time (or its instructions) goes, and TVM's best against TFLite: pure functions over result rows.

Both questions are asked in one of two metrics (`metric`, the words of
devices.yml): `time`, the median latency of a timed device, or
`instructions`, one inference's instruction count on the emulated AArch64
board (bot/engine/boards/). A counting board records no times and a timed
device no counts, so the metric is the rows' own (`metric_of`) unless the
caller names it; fewer is better in both.

The Relax VM of TVM 0.27 has no per-operator profiler, but the conv suite
measures every conv2d configuration of Inception-v3 on its own. So the
network is broken down as: per configuration, how often it occurs
(store.network_parts), its measured value and that times the count, as a
share of the end-to-end value; the rest (pools, concatenations, the
classifier, and whatever the convs cost differently inside the network) is
the end-to-end value minus the convs. The rest is never negative: measured
alone, the convs can sum to more than the whole network (101.2% of its time
on this project's x86 machine: each conv run alone pays for its own input
and output), and then `Remainder.over` says by how much the parts' sum is
over the whole instead. The parts may be measured at other commits than the
network: the caller says which.

Where the network itself was counted, its per-function counts
(results.functions, `kernel:<PrimFunc>`) give a second split that needs no
standalone runs: the network's instructions by kernel kind (`kernel_kinds`).
The kind is read from the PrimFunc's name (TVM names a fused kernel after
its ops, `fused_conv2d3_add3_quantize3_tir_clip3_dequantize`), so a conv2d
kernel includes the bias add, requantization and clip fused into it.

`best_configs` answers the question that started perfbot: for each workload,
TVM's best configuration (layout and pipeline) against TFLite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.vocabulary import INSTRUCTIONS, TIME, instructions, milliseconds


@dataclass(frozen=True)
class Metric:
    """Which columns of a result row hold TVM's and TFLite's value, and how a value reads."""

    name: str  # time | instructions (bot.vocabulary)
    column: str
    tflite_column: str
    unit: str  # ms | instructions: for column headers
    what: str  # the whole's value, in words: "end-to-end time"
    text: Callable[[float | None], str]

    def value(self, row: dict) -> float | None:
        """TVM's value of an ok row; None for a failure or a tuned row whose tasks had no records (not tuned)."""
        if row.get("status") != "ok" or (row.get("untuned_tasks") or 0) > 0:
            return None
        return row.get(self.column) or None


METRICS = {
    TIME: Metric(TIME, "median_ms", "tflite_median_ms", "ms", "end-to-end time", lambda v: milliseconds(v) + " ms"),
    INSTRUCTIONS: Metric(INSTRUCTIONS, "instructions", "tflite_instructions", "instructions",
                         "instructions of one inference", lambda v: instructions(v) + " instructions"),
}  # fmt: skip


def metric_of(rows: list[dict]) -> str:
    """`instructions` for rows of a counting board (their run says so, or they carry counts), else `time`."""
    counted = any(r.get("metric") == INSTRUCTIONS or r.get("instructions") is not None for r in rows)
    return INSTRUCTIONS if counted else TIME


@dataclass(frozen=True)
class Part:
    """A conv configuration of the network: how often it occurs, and its standalone value per pipeline."""

    workload: str
    count: int
    default: float | None  # the better layout of the default pipeline
    tuned: float | None  # the better layout of the tuned pipeline
    tflite: float | None

    @property
    def best(self) -> float | None:
        known = [v for v in (self.default, self.tuned) if v is not None]
        return min(known) if known else None

    @property
    def total(self) -> float | None:
        """count x TVM's best: what this configuration adds to the network."""
        return None if self.best is None else self.count * self.best

    @property
    def tflite_total(self) -> float | None:
        return None if self.tflite is None else self.count * self.tflite


@dataclass(frozen=True)
class Remainder:
    """The whole minus its parts, never negative: `over` when the parts alone sum to more, by `amount`."""

    amount: float
    whole: float
    over: bool

    @property
    def share(self) -> float:
        return self.amount / self.whole


def remainder(whole: float | None, parts: float) -> Remainder | None:
    if not whole:
        return None
    return Remainder(abs(whole - parts), whole, parts > whole)


@dataclass(frozen=True)
class KernelKind:
    """Instructions of one kind of kernel in a network's own count (see the module docstring)."""

    kind: str
    functions: int  # how many of the count's functions are of this kind
    instructions: int
    share: float  # of every instruction the inference counted


#: (words in a PrimFunc's name, the kind): the first that matches names it; fused kernels start with their main op.
KERNEL_KINDS = (
    (("conv2d",), "conv2d kernels (with their fused bias, requantize and clip)"),
    (("pool",), "pools"),
    (("concatenate",), "concatenations"),
    (("mean", "matmul", "dense", "softmax"), "classifier (mean, matmul, softmax)"),
    (("transpose", "layout_transform"), "layout transforms"),
)
OTHER_KERNELS = "other kernels (quantize, dequantize, cast, ...)"
OUTSIDE_KERNELS = "outside the kernels (TVM runtime, Python, system)"


def kind_of(function: str) -> str:
    """The kind of a `group:function` key of results.functions."""
    group, _, name = function.partition(":")
    if group != "kernel":
        return OUTSIDE_KERNELS
    return next((kind for words, kind in KERNEL_KINDS if any(w in name for w in words)), OTHER_KERNELS)


def kernel_kinds(functions: dict[str, int]) -> list[KernelKind]:
    """A counted inference's instructions by kernel kind, most first; empty without per-function counts."""
    total = sum(functions.values())
    if not total:
        return []
    by_kind: dict[str, list[int]] = {}
    for function, n in functions.items():
        by_kind.setdefault(kind_of(function), []).append(n)
    kinds = [KernelKind(kind, len(ns), sum(ns), sum(ns) / total) for kind, ns in by_kind.items()]
    return sorted(kinds, key=lambda k: (-k.instructions, k.kind))


@dataclass(frozen=True)
class Breakdown:
    network: str
    metric: str
    whole: float | None  # TVM end to end (its best configuration)
    whole_tflite: float | None
    parts: list[Part]
    kinds: list[KernelKind] = field(default_factory=list)  # the network's own count by kernel kind

    @property
    def convs(self) -> float:
        return sum(p.total for p in self.parts if p.total is not None)

    @property
    def convs_tflite(self) -> float:
        return sum(p.tflite_total for p in self.parts if p.tflite_total is not None)

    @property
    def missing(self) -> list[str]:
        """Configurations of the network with no measurement: the rest is not only pools then."""
        return [p.workload for p in self.parts if p.best is None]

    @property
    def rest(self) -> Remainder | None:
        return remainder(self.whole, self.convs)

    @property
    def rest_tflite(self) -> Remainder | None:
        return remainder(self.whole_tflite, self.convs_tflite)

    def share(self, part: Part) -> float | None:
        return part.total / self.whole if part.total is not None and self.whole else None

    @property
    def goes(self) -> str:
        """For a title: where Inception-v3's `time goes`, or its `instructions go`."""
        return "time goes" if self.metric == TIME else "instructions go"

    @property
    def notes(self) -> list[str]:
        """What a reader must know to read the rest: where the convs alone sum to more than the whole."""
        metric = METRICS[self.metric]
        out = []
        for who, rest in (("TVM", self.rest), ("TFLite", self.rest_tflite)):
            if rest is not None and rest.over:
                out.append(
                    f"{who}'s convs, each measured alone, sum to {1 + rest.share:.1%} of the network's {metric.what} "
                    f"({metric.text(rest.amount)} more than the whole): each pays alone for what it shares inside "
                    f"the network, so there is no rest to show."
                )
        return out


def _best_rows(rows: list[dict], metric: Metric) -> dict[tuple[str, str, str], dict]:
    """{(workload, scheme, pipeline): the row with the lowest value over layouts}, of rows with a value."""
    best: dict[tuple[str, str, str], dict] = {}
    for r in rows:
        value = metric.value(r)
        key = (r["workload"], r["scheme"], r["pipeline"])
        if value is not None and (key not in best or value < metric.value(best[key])):
            best[key] = r
    return best


def _tflite(rows: list[dict], metric: Metric) -> dict[tuple[str, str], float]:
    return {(r["workload"], r["scheme"]): r[metric.tflite_column] for r in rows if r.get(metric.tflite_column)}


def breakdown(
    network: str, scheme: str, parts: dict[str, int], rows: list[dict], metric: str | None = None
) -> Breakdown:
    """The network's value per conv configuration (see the module docstring), from result rows."""
    m = METRICS[metric or metric_of(rows)]
    best, tflite = _best_rows(rows, m), _tflite(rows, m)

    def value(workload: str, pipeline: str) -> float | None:
        row = best.get((workload, scheme, pipeline))
        return None if row is None else m.value(row)

    pieces = [
        Part(name, count, value(name, "default"), value(name, "tuned"), tflite.get((name, scheme)))
        for name, count in parts.items()
    ]
    pieces.sort(key=lambda p: (-(p.total or 0), -p.count, p.workload))
    whole = min((r for p in ("default", "tuned") if (r := best.get((network, scheme, p)))), key=m.value, default=None)
    kinds = kernel_kinds(whole.get("functions") or {}) if whole is not None and m.name == INSTRUCTIONS else []
    return Breakdown(network, m.name, m.value(whole) if whole else None, tflite.get((network, scheme)), pieces, kinds)


@dataclass(frozen=True)
class Best:
    """A workload's best TVM configuration against TFLite, in the rows' metric."""

    workload: str
    scheme: str
    default: float | None
    tuned: float | None
    tflite: float | None
    best_config: str | None  # e.g. NCHW/tuned
    best: float | None
    metric: str = TIME

    @property
    def ratio(self) -> float | None:
        """TVM's best over TFLite: below 1, TVM is faster (or executes fewer instructions)."""
        return self.best / self.tflite if self.best and self.tflite else None


def best_configs(rows: list[dict], metric: str | None = None) -> list[Best]:
    """Per workload and scheme: the best default, the best tuned, TFLite, and TVM's best of all."""
    m = METRICS[metric or metric_of(rows)]
    best, tflite = _best_rows(rows, m), _tflite(rows, m)
    out = []
    for workload, scheme in sorted({(r["workload"], r["scheme"]) for r in rows}):
        default, tuned = best.get((workload, scheme, "default")), best.get((workload, scheme, "tuned"))
        fastest = min((r for r in (default, tuned) if r is not None), key=m.value, default=None)
        out.append(
            Best(
                workload,
                scheme,
                m.value(default) if default else None,
                m.value(tuned) if tuned else None,
                tflite.get((workload, scheme)),
                f"{fastest['layout']}/{fastest['pipeline']}" if fastest else None,
                m.value(fastest) if fastest else None,
                m.name,
            )
        )
    return out
