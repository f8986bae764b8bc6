"""What every page needs: the history grouped by series, links, names and number formats."""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from bot.vocabulary import INSTRUCTIONS, UNTUNED, label
from dashboard.html import esc

#: progress(done, total): called after each page is written.
PageProgress = Callable[[int, int], None]


_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.]*(-[A-Za-z0-9_.]+)*")


def slug(*parts) -> str:
    """A file name for a page: readable, and distinct for distinct names.

    Parts are joined with `--`; a part that is not plain (other characters,
    `--` of its own) is cleaned up and the name gets a hash of the original.
    """
    texts = [str(p) for p in parts]
    name = "--".join(re.sub(r"[^A-Za-z0-9_.-]+", "_", t).strip("-.")[:80] or "_" for t in texts)
    if not all(_SAFE.fullmatch(t) for t in texts) or len(name) > 150:
        name = name[:150] + "--" + hashlib.sha1("\x1f".join(texts).encode()).hexdigest()[:10]
    return name


def config_of(row: dict) -> str:
    return f"{row['layout']}/{row['pipeline']}"


def status_cell(row: dict) -> str:
    """A result's status as HTML: failures stand out; an ok tuned row without records says it is not tuned latency."""
    if row["status"] != "ok":
        return f'<span class="bad">{esc(row["status"])}</span>'
    if row.get("untuned_tasks"):
        return f'<span class="warn">{esc(label(UNTUNED))}</span>'
    return "ok"


def num(value) -> float | None:
    """A number for a figure: 5 significant digits (smaller pages), None for missing or not finite."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.5g}")


def ms(value) -> str:
    return f"{value:,.3f}" if isinstance(value, (int, float)) and math.isfinite(value) else "–"


def when(row: dict) -> str:
    """A point's place on the time axis: the commit's time, else when it was measured (UTC, to the minute)."""
    text = row.get("commit_time") or row.get("started_at") or ""
    return text[:16].replace("T", " ")


class Site:
    """What every page needs: the grouped history, links, and the page counter."""

    def __init__(
        self,
        out_dir: Path,
        repo: str | None,
        github_url: str,
        base: list[dict],
        prs: list[dict],
        progress: PageProgress | None,
        local: list[dict] = (),
        bisections: list[dict] = (),
        functions_of: Callable[[int], dict[int, dict]] | None = None,
    ):
        self.out, self.repo, self.github = out_dir, repo, github_url.rstrip("/")
        self.pages = 0
        self.written: set[str] = set()
        self.progress = progress
        self.series: dict[tuple, list[dict]] = defaultdict(list)  # (device, workload, scheme) -> base results
        for r in base:
            self.series[(r["device"], r["workload"], r["scheme"])].append(r)
        self.pr_points: dict[tuple, list[dict]] = defaultdict(list)
        for r in prs:
            self.pr_points[(r["device"], r["workload"], r["scheme"])].append(r)
        #: (device, workload, scheme) -> results of local tries (`perfbot run`: no base-branch commit), by run time
        self.local: dict[tuple, list[dict]] = defaultdict(list)
        for r in local:
            self.local[(r["device"], r["workload"], r["scheme"])].append(r)
        self.keys = sorted(set(self.series) | set(self.pr_points) | set(self.local))
        self.emulated = {r["device"] for rows in (base, prs, local) for r in rows if r.get("emulated")}
        #: devices whose runs count instructions (devices.yml `metric: instructions`): their pages never show ms
        self.counting = {r["device"] for rows in (base, prs, local) for r in rows if r.get("metric") == INSTRUCTIONS}
        self._functions_of = functions_of
        self._functions: dict[int, dict[int, dict]] = {}
        #: run id -> its results, and per device and kind ('base', 'local') its run ids, oldest first
        self.run_rows: dict[int, list[dict]] = defaultdict(list)
        self.device_runs: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"base": [], "local": []})
        for kind, rows in (("base", base), ("local", local)):
            for r in rows:
                if r["run_id"] not in self.run_rows:
                    self.device_runs[r["device"]][kind].append(r["run_id"])
                self.run_rows[r["run_id"]].append(r)
        self.devices = sorted(self.device_runs)
        #: (device, workload, scheme) -> bisections that found the first commit at a series' new level
        self.bisections: dict[tuple, list[dict]] = defaultdict(list)
        for b in bisections:
            if b.get("first_bad_sha"):
                self.bisections[(b["device"], b["workload"], b["scheme"])].append(b)
        repos = Counter(r.get("repo") for r in prs if r.get("repo"))
        #: PR pages of this repository are pr/<number>.html, the address the PR comment links to.
        self.home_repo = repo or (repos.most_common(1)[0][0] if repos else None)
        self.pr_numbers = sorted(
            {(r.get("repo") or self.home_repo or "", r["pr"]) for r in prs if r.get("pr")},
            key=lambda p: (p[0] != (self.home_repo or ""), p[0], -p[1]),
        )
        self.run_info: dict[tuple, list] = {}  # (run id, link prefix) -> a point's link and hover text
        self.regressions: list[tuple] = []  # (change, key, config, row), filled by the trend pages
        self.pr_summaries: dict[tuple, tuple[str, str]] = {}  # (repo, number) -> (title, summary)

    def functions(self, run_id: int) -> dict[int, dict[str, int]]:
        """{result id: per-function instruction counts} of one run (store.functions_of), read once per run."""
        if run_id not in self._functions:
            self._functions[run_id] = self._functions_of(run_id) if self._functions_of else {}
        return self._functions[run_id]

    def tag(self, device: str) -> str:
        """HTML after a device's name: what its numbers are, when they are not a board's latency."""
        if device in self.counting:
            return '<span class="tag">instructions, emulated AArch64</span>'
        return '<span class="tag">emulated</span>' if device in self.emulated else ""

    def tick(self, total: int) -> None:
        if self.progress is not None:
            self.progress(self.pages, total)

    def write(self, name: str, text: str) -> None:
        (self.out / name).write_text(text, encoding="utf-8")
        self.written.add(name)
        self.pages += 1

    # links: GitHub when the repository is known, pages of this site otherwise

    def repo_of(self, row: dict) -> str | None:
        return row.get("repo") or self.repo

    def commit_url(self, repo: str | None, sha: str | None) -> str | None:
        if not (repo and sha):
            return None
        return f"{self.github}/{quote(repo, safe='/')}/commit/{quote(sha, safe='')}"

    def pull_url(self, repo: str | None, number: int | None) -> str | None:
        if not (repo and number):
            return None
        return f"{self.github}/{quote(repo, safe='/')}/pull/{int(number)}"

    def commit_link(self, row: dict, sha_key: str = "sha") -> str:
        sha = row.get(sha_key)
        if not sha:
            return "–"
        url = self.commit_url(self.repo_of(row), sha)
        text = f"<code>{esc(sha[:10])}</code>"
        return f'<a href="{esc(url)}">{text}</a>' if url else text

    def trend_href(self, key: tuple, depth: int) -> str:
        return "../" * depth + f"trend/{slug(*key)}.html"

    def device_href(self, device: str, depth: int) -> str:
        return "../" * depth + f"device/{slug(device)}.html"

    def breakdown_href(self, device: str, depth: int) -> str:
        return "../" * depth + f"breakdown/{slug(device)}.html"

    def newest_runs(self, device: str, kind: str) -> dict[str, int]:
        """{suite: the device's newest run of that kind}: history order for the base branch, run time for tries."""
        return {self.run_rows[run][0]["suite"]: run for run in self.device_runs[device][kind]}

    def run_name(self, row: dict, kind: str) -> str:
        """HTML naming the run a result came from: its commit (base), or `local run N` with its TVM and env."""
        if kind == "base":
            return f"commit {self.commit_link(row)} ({esc(when(row))}, TVM {esc(row.get('tvm_version') or '?')})"
        return (
            f"local run {int(row['run_id'])} ({esc(when(row))}, TVM {esc(row.get('tvm_version') or '?')}, "
            f"<code>{esc(row.get('env') or '?')}</code>)"
        )

    def pr_href(self, repo: str, number: int, depth: int) -> str:
        if not repo or repo == self.home_repo:
            return "../" * depth + f"pr/{int(number)}.html"
        return "../" * depth + f"pr/{slug(repo, number)}.html"

    def series_name(self, key: tuple) -> str:
        device, workload, scheme = key
        return f"{esc(device)}{self.tag(device)} · {esc(workload)} · {esc(scheme)}"
