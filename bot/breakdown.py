"""Where the time goes, and TVM's best against TFLite: pure functions over measured latencies.

The Relax VM of TVM 0.27 has no per-operator profiler, but the conv suite
measures every conv2d configuration of Inception-v3 on its own. So the
network's time is broken down as: per configuration, how often it occurs
(store.network_parts), its measured time and that times the count, as a
share of the end-to-end time; the rest (pools, concatenations, the
classifier, and whatever the convs cost differently inside the network) is
the end-to-end time minus the convs. The parts may be measured at other
commits than the network: the caller says which.

`best_configs` answers the question that started perfbot: for each workload,
the fastest configuration TVM has (layout and pipeline) against TFLite.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    workload: str
    count: int
    default_ms: float | None  # the faster layout of the default pipeline
    tuned_ms: float | None  # the faster layout of the tuned pipeline
    tflite_ms: float | None

    @property
    def best_ms(self) -> float | None:
        known = [ms for ms in (self.default_ms, self.tuned_ms) if ms is not None]
        return min(known) if known else None


@dataclass(frozen=True)
class Breakdown:
    network: str
    network_ms: float | None  # TVM end to end (best configuration)
    network_tflite_ms: float | None
    parts: list[Part]

    @property
    def convs_ms(self) -> float:
        return sum(p.count * p.best_ms for p in self.parts if p.best_ms is not None)

    @property
    def convs_tflite_ms(self) -> float:
        return sum(p.count * p.tflite_ms for p in self.parts if p.tflite_ms is not None)

    @property
    def missing(self) -> list[str]:
        """Configurations of the network with no measurement: the rest is not only pools then."""
        return [p.workload for p in self.parts if p.best_ms is None]

    @property
    def rest_ms(self) -> float | None:
        return None if self.network_ms is None else self.network_ms - self.convs_ms

    def share(self, part: Part) -> float | None:
        if part.best_ms is None or not self.network_ms:
            return None
        return part.count * part.best_ms / self.network_ms


def best_by_pipeline(rows: list[dict]) -> dict[tuple[str, str, str], float]:
    """{(workload, scheme, pipeline): the fastest median over layouts} of ok rows."""
    best: dict[tuple[str, str, str], float] = {}
    for r in rows:
        if r.get("status") != "ok" or not r.get("median_ms") or (r.get("untuned_tasks") or 0) > 0:
            continue
        key = (r["workload"], r["scheme"], r["pipeline"])
        best[key] = min(best.get(key, float("inf")), r["median_ms"])
    return best


def breakdown(network: str, scheme: str, parts: dict[str, int], rows: list[dict]) -> Breakdown:
    """The network's time, per conv configuration (see the module docstring), from result rows."""
    best = best_by_pipeline(rows)
    tflite = {(r["workload"], r["scheme"]): r.get("tflite_median_ms") for r in rows if r.get("tflite_median_ms")}
    pieces = [
        Part(
            workload=name,
            count=count,
            default_ms=best.get((name, scheme, "default")),
            tuned_ms=best.get((name, scheme, "tuned")),
            tflite_ms=tflite.get((name, scheme)),
        )
        for name, count in sorted(parts.items(), key=lambda kv: -kv[1])
    ]
    known = [best.get((network, scheme, p)) for p in ("default", "tuned")]
    known = [ms for ms in known if ms is not None]
    pieces.sort(key=lambda p: -(p.count * (p.best_ms or 0)))
    return Breakdown(network, min(known) if known else None, tflite.get((network, scheme)), pieces)


@dataclass(frozen=True)
class Best:
    """A workload's fastest TVM configuration against TFLite."""

    workload: str
    scheme: str
    default_ms: float | None
    tuned_ms: float | None
    tflite_ms: float | None
    best_config: str | None  # e.g. NCHW/tuned
    best_ms: float | None

    @property
    def ratio(self) -> float | None:
        """TVM's best over TFLite: below 1, TVM is faster."""
        return self.best_ms / self.tflite_ms if self.best_ms and self.tflite_ms else None


def best_configs(rows: list[dict]) -> list[Best]:
    """Per workload and scheme: the fastest default, the fastest tuned, TFLite, and TVM's best of all."""
    grouped: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        grouped.setdefault((r["workload"], r["scheme"]), []).append(r)
    out = []
    for (workload, scheme), mine in sorted(grouped.items()):
        ok = [r for r in mine if r.get("status") == "ok" and r.get("median_ms") and not (r.get("untuned_tasks") or 0)]
        by_pipeline = {
            p: min((r["median_ms"] for r in ok if r["pipeline"] == p), default=None) for p in ("default", "tuned")
        }
        fastest = min(ok, key=lambda r: r["median_ms"], default=None)
        tflite = next((r["tflite_median_ms"] for r in mine if r.get("tflite_median_ms")), None)
        out.append(
            Best(
                workload,
                scheme,
                by_pipeline["default"],
                by_pipeline["tuned"],
                tflite,
                f"{fastest['layout']}/{fastest['pipeline']}" if fastest else None,
                fastest["median_ms"] if fastest else None,
            )
        )
    return out
