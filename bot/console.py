"""What a person sees in the terminal: a progress bar while it works, a table at the end."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.vocabulary import STATUS_STYLE

# Logs and pipes get a width that fits the results table instead of rich's 80 columns.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)
errors = Console(stderr=True, highlight=False)


class BarProgress:
    """runner.Progress as a rich progress bar on stderr; failures are printed as they happen."""

    def __init__(self):
        self._bar = Progress(
            TextColumn("[bold]{task.fields[title]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=errors,
            transient=False,
        )
        self._task = None

    def __enter__(self):
        self._bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self._bar.__exit__(*exc)

    def start(self, total: int, title: str) -> None:
        self._task = self._bar.add_task("", total=total, title=title)

    def step(self, description: str) -> None:
        self._bar.update(self._task, description=description)

    def done(self, result) -> None:
        self._bar.advance(self._task)
        if result is not None and result.status != "ok":
            first = (result.error or "").splitlines()[:1]
            self._bar.console.print(
                f"[{STATUS_STYLE.get(result.status, 'red')}]{result.status}[/] "
                f"{result.workload.key} {result.config.name}: {first[0] if first else ''}"
            )


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def ratio(value: float | None) -> str:
    """TVM/TFLite median latency: below 1 means TVM is faster."""
    if value is None:
        return "-"
    return f"{value:.2f}"


def diff(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"


def results_table(results: Iterable, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column, justify in (
        ("workload", "left"),
        ("scheme", "left"),
        ("config", "left"),
        ("status", "left"),
        ("TVM ms", "right"),
        ("TFLite ms", "right"),
        ("TVM/TFLite", "right"),
        ("max abs diff", "right"),
    ):
        table.add_column(column, justify=justify)
    for r in results:
        table.add_row(
            r.workload.name,
            r.workload.scheme,
            r.config.name,
            f"[{STATUS_STYLE.get(r.status, 'red')}]{r.status}[/]",
            ms(r.median_ms),
            ms(r.tflite_median_ms),
            ratio(r.ratio),
            diff(r.max_abs_diff),
        )
    return table


def summary(results: list) -> str:
    counts = Counter(r.status for r in results)
    parts = [f"{n} {status}" for status, n in sorted(counts.items(), key=lambda kv: (kv[0] != "ok", kv[0]))]
    return f"{len(results)} results: " + ", ".join(parts)
