"""What a person sees in the terminal: progress while it works (a bar, or a line per item in a log), a table
at the end: the results, or for a PR the verdicts its comment would show."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bot.vocabulary import STATUS_STYLE, TIME, instructions, label, milliseconds

# Logs and pipes get a width that fits the verdict table (11 columns) instead of rich's 80.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
errors = Console(stderr=True, highlight=False)

#: One line for a person about a long step (an environment build, a tuning, a device's setup). The engine's
#: long steps take one as `say`: the CLI prints it on stderr, the job worker logs it, tests collect it.
Say = Callable[[str], None]


def note(line: str) -> None:
    """One line of plain text on stderr (no rich markup: it may name a command line or a path)."""
    errors.print(line, markup=False, soft_wrap=True)  # one line, also in a log file: grep finds it whole


def item_line(result, count: int, total: int) -> str:
    """One recorded item as a line of a log: `11/18 qconv_17x17x128_128_1x7_s1_same/uint8 NHWC/default ok 12.30 ms`."""
    median = f" {milliseconds(result.median_ms)} ms" if result.median_ms else ""
    if result.instructions is not None:
        median = f" {instructions(result.instructions.total)} instructions"
    error = f": {result.error_line}" if result.error_line else ""
    rerun = " (rerun)" if result.attempt > 1 else ""
    status = "same code" if result.same_code else result.status
    judged = result.judged
    rounds = f", {judged.verdict} after {judged.n_base} rounds: {judged.interval_text}" if judged else ""
    return f"{count}/{total} {result.workload.key} {result.config.name}{rerun} {status}{median}{rounds}{error}"


def progress():
    """How a run shows its progress: a bar on a terminal; in a file or a pipe, where a bar is drawn only at the
    end (a full suite wrote nothing for 16 minutes), one line per item as it is recorded."""
    return BarProgress() if errors.is_terminal else LineProgress()


class LineProgress:
    """runner.RunProgress as one plain line per item (on stderr, or to `say`: the job worker logs them)."""

    def __init__(self, say: Say = note):
        self.say = say
        self.total = self.count = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def start(self, total: int, title: str) -> None:
        self.total, self.count = total, 0
        self.say(f"{title}: {total} items")

    def step(self, description: str) -> None:
        pass

    def done(self, result) -> None:
        if result is None:
            return
        self.count += 1
        self.say(item_line(result, self.count, self.total))


class BarProgress:
    """runner.RunProgress as a rich progress bar on stderr; failures are printed as they happen."""

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
            self._bar.console.print(
                f"[{STATUS_STYLE.get(result.status, 'red')}]{result.status}[/] "
                f"{escape(result.workload.key)} {escape(result.config.name)}: {escape(result.error_line)}",
                soft_wrap=True,  # one line, also in a log file: grep finds it whole
            )


def ms(value: float | None) -> str:
    return milliseconds(value)


def ratio(value: float | None) -> str:
    """TVM/TFLite median latency: below 1 means TVM is faster."""
    if value is None:
        return "-"
    return f"{value:.2f}"


def diff(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"


def item_table(title: str, numbers: tuple[str, ...]) -> Table:
    """A table of a run's items: workload, scheme, config and status, then the given columns of numbers."""
    names = [(c, "left") for c in ("workload", "scheme", "config", "status")]
    return columns_table(title, names + [(c, "right") for c in numbers])


def results_table(results: Iterable, title: str) -> Table:
    results = list(results)
    if any(r.instructions is not None or r.tflite_instructions is not None for r in results):
        return counts_table(results, title)
    table = item_table(title, ("TVM ms", "TFLite ms", "TVM/TFLite", "max abs diff"))
    for r in results:
        status = "untuned" if r.status == "ok" and r.untuned_tasks else r.status
        table.add_row(
            r.workload.name,
            r.workload.scheme,
            r.config.name,
            f"[{STATUS_STYLE.get(status, 'yellow')}]{status}[/]",
            ms(r.median_ms),
            ms(r.tflite_median_ms),
            ratio(r.ratio),
            diff(r.max_abs_diff),
        )
    return table


def counts_table(results: list, title: str) -> Table:
    """A run on an instruction-counting board: one inference's instructions for TVM and TFLite on the emulated
    core, their ratio, and what the compiled module is made of; no times (the board's times say nothing)."""
    numbers = ("TVM instructions", "TFLite instructions", "TVM/TFLite", "kernels", "code bytes", "compile s")
    table = item_table(title, (*numbers, "max abs diff"))
    for r in results:
        stats = r.module_stats
        table.add_row(
            r.workload.name,
            r.workload.scheme,
            r.config.name,
            f"[{STATUS_STYLE.get(r.status, 'yellow')}]{r.status}[/]",
            instructions(r.instructions.total if r.instructions else None),
            instructions(r.tflite_instructions.total if r.tflite_instructions else None),
            ratio(r.instruction_ratio),
            f"{stats.kernels}" if stats else "-",
            f"{stats.code_bytes:,}" if stats else "-",
            f"{r.compile_s:.2f}" if r.compile_s is not None else "-",
            diff(r.max_abs_diff),
        )
    return table


def summary(results: list) -> str:
    counts = Counter(r.status for r in results)
    parts = [f"{n} {status}" for status, n in sorted(counts.items(), key=lambda kv: (kv[0] != "ok", kv[0]))]
    return f"{len(results)} results: " + ", ".join(parts)


def as_rows(results: Iterable) -> list[dict]:
    """A run's ItemResults as the store's result rows (what bot/breakdown.py reads), counts included."""
    return [
        {
            "workload": r.workload.name,
            "scheme": r.workload.scheme,
            "layout": r.config.layout,
            "pipeline": r.config.pipeline,
            "status": r.status,
            "median_ms": r.median_ms,
            "tflite_median_ms": r.tflite_median_ms,
            "untuned_tasks": r.untuned_tasks,
            "instructions": r.instructions.total if r.instructions else None,
            "tflite_instructions": r.tflite_instructions.total if r.tflite_instructions else None,
            "functions": r.instructions.functions if r.instructions else None,
        }
        for r in results
    ]


def _value_text(metric: str) -> Callable[[float | None], str]:
    """How a table cell writes a value of the metric: milliseconds, or an instruction count."""
    return ms if metric == TIME else instructions


def best_table(rows: list[dict], title: str) -> Table:
    """Per workload: TVM's best default and tuned configuration, TFLite, and TVM's best against it, in the rows'
    metric (time, or instructions on a counting board: bot/breakdown.py)."""
    from bot.breakdown import METRICS, best_configs, metric_of

    metric = METRICS[metric_of(rows)]
    text, unit = _value_text(metric.name), metric.unit
    table = columns_table(title, [("workload", "left"), ("scheme", "left"), (f"default {unit}", "right"),
                           (f"tuned {unit}", "right"), (f"TFLite {unit}", "right"), ("TVM's best", "left"),
                           ("best/TFLite", "right")])  # fmt: skip
    for best in best_configs(rows, metric.name):
        table.add_row(best.workload, best.scheme, text(best.default), text(best.tuned), text(best.tflite),
                      best.best_config or "-", ratio(best.ratio))  # fmt: skip
    return table


def breakdown_table(bd, title: str) -> RenderableType:
    """Inception-v3's time (or instructions) per conv configuration and the rest, and, where the network was
    counted, its own instructions by kernel kind (see bot/breakdown.py)."""
    from bot.breakdown import METRICS

    text, unit = _value_text(bd.metric), METRICS[bd.metric].unit
    table = columns_table(title, [("conv configuration", "left"), ("count", "right"), (f"default {unit}", "right"),
                           (f"tuned {unit}", "right"), (f"TFLite {unit}", "right"), (f"count x TVM {unit}", "right"),
                           ("share", "right")])  # fmt: skip
    for part in bd.parts:
        share = bd.share(part)
        table.add_row(part.workload, str(part.count), text(part.default), text(part.tuned), text(part.tflite),
                      text(part.total), f"{share:.1%}" if share is not None else "-")  # fmt: skip
    table.add_row("convs", str(sum(p.count for p in bd.parts)), "", "", text(bd.convs_tflite or None),
                  text(bd.convs), f"{bd.convs / bd.whole:.1%}" if bd.whole else "-", style="bold")  # fmt: skip
    rest = bd.rest
    if rest is None or not rest.over:
        table.add_row("the rest: pools, concatenations, classifier", "", "", "", "", text(rest and rest.amount),
                      f"{rest.share:.1%}" if rest else "-")  # fmt: skip
    else:
        table.add_row("the convs' sum over the whole", "", "", "", "", "+" + text(rest.amount),
                      f"+{rest.share:.1%}")  # fmt: skip
    table.add_row(bd.network + " end to end", "", "", "", text(bd.whole_tflite), text(bd.whole), "100%",
                  style="bold")  # fmt: skip
    table.caption = " ".join(bd.notes) or None
    if not bd.kinds:
        return table
    kinds = columns_table(f"{bd.network} by kernel kind, from its own per-function counts",
                   [("kernel kind", "left"), ("functions", "right"), ("instructions", "right"), ("share", "right")])  # fmt: skip
    for kind in bd.kinds:
        kinds.add_row(kind.kind, str(kind.functions), instructions(kind.instructions), f"{kind.share:.1%}")
    return Group(table, kinds)


def verdict_table(device, title: str, sides: tuple[str, str] = ("base", "PR")) -> Table:
    """A device's rows as its PR comment judges them (a bot.verdicts.DeviceReport), what needs a look first:
    the verdict, both sides' medians (or instruction counts), the change with its 99% interval, the rounds
    it rests on, whether a rerun confirmed it (runs from when jobs reran a change: the column shows only
    then), and the compiled functions whose code changed."""
    counting = device.device.counts
    reruns = any(r.confirmed is not None for r in device.rows)
    unit = "instructions" if counting else "ms"
    evidence = "samples" if any(r.separate for r in device.rows) else "rounds"
    columns = [("workload", "left"), ("scheme", "left"), ("config", "left"), ("verdict", "left"),
               (f"{sides[0]} {unit}", "right"), (f"{sides[1]} {unit}", "right"), ("change [99% CI]", "right")]  # fmt: skip
    if not counting:
        columns += [(evidence, "right"), *([("rerun", "left")] if reruns else []), ("TVM/TFLite", "right")]
    columns.append(("code changed in", "left"))
    table = columns_table(title, columns)
    for row in device.sorted_rows():
        style = "bold red" if row.alarming else STATUS_STYLE.get(row.status, "") if row.status != "ok" else ""
        verdict = f"new {label(row.verdict)}" if row.new_failure else label(row.verdict)
        cells = [row.workload, row.scheme, row.config, f"[{style}]{escape(verdict)}[/]" if style else escape(verdict)]
        if counting:
            c = row.counts
            cells += [instructions(c.base if c else None, "–"), instructions(c.pr if c else None, "–"), row.change_text]
        else:
            cells += [milliseconds(row.base_ms, "–"), milliseconds(row.pr_ms, "–"), row.change_text, _evidence(row),
                      *([_rerun(row)] if reruns else []), row.ratio_text]  # fmt: skip
        table.add_row(*cells, escape(row.changed_text()))
    return table


def device_notes(device, sides: tuple[str, str] = ("base", "PR")) -> list[str]:
    """What a verdict table rests on, in words: which TVM each side was, and what ran the modules on the device."""
    notes = []
    if device.built and device.base_built:
        notes.append(f"{sides[1]} side: {device.built}; {sides[0]} side: {device.base_built}")
    elif device.built:
        notes.append(f"Measured: {device.built}")
    if device.cpu_fallback:
        notes.append(f"On {device.device.name}: {device.cpu_fallback}")
    from bot.verdicts import foreign_runtime

    if foreign_runtime(device):
        notes.append(f"On {device.device.name} the modules ran on {device.device_runtime}, "
                     f"not on the compiling TVM's own runtime ({device.tvm_version or 'unknown'})")  # fmt: skip
    return notes


def _evidence(row) -> str:
    """How many rounds (or, between separate runs, samples a side) the change rests on."""
    c = row.comparison
    if c is None:
        return "–"
    return f"{c.n_base}/{c.n_pr}" if row.separate else str(c.n_pr)


def _rerun(row) -> str:
    """Whether the job's rerun confirmed a first attempt that looked changed."""
    return {True: "confirmed", False: "not confirmed"}.get(row.confirmed, "–")


def columns_table(title: str, columns: list[tuple[str, str]]) -> Table:
    """An empty table with these (name, justify) columns, its title on the left, as every table here has it;
    a cell too wide for a narrow terminal folds onto a second line instead of losing its end to an ellipsis."""
    table = Table(title=title, title_justify="left", caption_justify="left")
    for column, justify in columns:
        table.add_column(column, justify=justify, overflow="fold")
    return table
