"""Result rows as the runner records them, for tests that build a database by hand.

`paired(...)` is one item of a PR run that timed the head's build beside the
merge base's (rounds of (base ms, PR ms)); `ok(...)` and `failed(...)` are
items of a build timed alone (a base-branch run).
"""

from __future__ import annotations

import statistics

import numpy as np


def ok(workload: str, samples: list[float], *, scheme: str = "uint8", tflite: float | None = 20.0, **extra) -> dict:
    median = statistics.median(samples)
    return {
        "workload": workload,
        "scheme": scheme,
        "status": "ok",
        "samples_ms": samples,
        "median_ms": median,
        "tflite_median_ms": tflite,
        "ratio": median / tflite if tflite else None,
        "max_abs_diff": 0.0,
        "mismatch_fraction": 0.0,
        **extra,
    }


def failed(workload: str, status: str, error: str, *, scheme: str = "uint8", **extra) -> dict:
    return {"workload": workload, "scheme": scheme, "status": status, "error": error, **extra}


def rounds_of(base_ms: float, change: float, n: int = 10, spread: float = 0.005, seed: int = 0) -> list[list[float]]:
    """n side-by-side rounds: base around base_ms, PR `change` away, each with its own small noise."""
    rng = np.random.default_rng(seed)
    base = base_ms * np.exp(rng.normal(0, spread, n))
    pr = base * (1 + change) * np.exp(rng.normal(0, spread, n))
    return [[float(b), float(p)] for b, p in zip(base, pr)]


def paired(
    workload: str,
    rounds: list[list[float]] | None = None,
    *,
    scheme: str = "uint8",
    status: str = "ok",
    base_status: str = "ok",
    same_code: bool = False,
    attempt: int = 1,
    tflite: float | None = 20.0,
    **extra,
) -> dict:
    """One item of a side-by-side PR run; `rounds=None` with `same_code` means nothing was timed."""
    rounds = rounds or []
    pr_samples = [p for _, p in rounds]
    base_samples = [b for b, _ in rounds]
    median = statistics.median(pr_samples) if pr_samples else None
    return {
        "workload": workload,
        "scheme": scheme,
        "status": status,
        "samples_ms": pr_samples,
        "median_ms": median,
        "tflite_median_ms": tflite,
        "ratio": median / tflite if median and tflite else None,
        "max_abs_diff": 0.0 if status == "ok" else extra.pop("max_abs_diff", None),
        "mismatch_fraction": 0.0,
        "base_status": base_status,
        "base_samples_ms": base_samples,
        "base_median_ms": statistics.median(base_samples) if base_samples else None,
        "rounds": rounds,
        "same_code": same_code,
        "code_hash": "same" if same_code else f"pr-{workload}",
        "base_code_hash": "same" if same_code else f"base-{workload}",
        "attempt": attempt,
        **extra,
    }


def as_paired(row: dict, base_samples: list[float]) -> list[dict]:
    """A PR item recorded alone, as the side-by-side run records it: rounds against `base_samples`.

    A timed item whose PR side differs from the base gets the confirming rerun
    (attempt 2) the job worker takes before anything is reported.
    """
    if "base_status" in row:
        return [row]
    pr = row.get("samples_ms") or []
    if row["status"] not in ("ok", "wrong_result") or not pr:
        return [{**row, "base_status": "ok", "attempt": 1}]
    rounds = [[b, p] for b, p in zip(base_samples, pr)]
    extra = {
        k: v for k, v in row.items() if k not in ("samples_ms", "median_ms", "ratio", "workload", "scheme", "status")
    }
    first = paired(row["workload"], rounds, scheme=row["scheme"], status=row["status"], **extra)
    if pr == base_samples and row["status"] == "ok":
        return [first]
    return [first, {**first, "attempt": 2}]


def counted(
    workload: str,
    base: int | None,
    pr: int | None,
    *,
    scheme: str = "uint8",
    status: str = "ok",
    base_status: str = "ok",
    same_code: bool = False,
    tflite: int | None = 5_000_000,
    functions: dict | None = None,
    base_functions: dict | None = None,
    **extra,
) -> dict:
    """One item of a PR run on an instruction-counting board: the two sides' exact counts, none for same code."""
    return {
        "workload": workload,
        "scheme": scheme,
        "status": status,
        "base_status": base_status,
        "instructions": pr,
        "base_instructions": base,
        "tflite_instructions": tflite,
        "instruction_ratio": pr / tflite if pr and tflite else None,
        "functions": functions if functions is not None else ({"kernel:conv2d": pr} if pr else None),
        "base_functions": base_functions if base_functions is not None else ({"kernel:conv2d": base} if base else None),
        "max_abs_diff": 0.0 if not same_code else None,
        "same_code": same_code,
        "kernels": 6,
        "code_bytes": 18_000,
        "compile_s": 0.4,
        "base_kernels": 6,
        "base_code_bytes": 18_000,
        "base_compile_s": 0.4,
        **extra,
    }
