"""A C++ PR of TVM through `perfbot run --env source:...@PR --base-env source:...@BASE`, to its verdict.

The tree is the installed apache-tvm release laid out as TVM's, with tvm-ffi's C++ as 3rdparty/tvm-ffi
(tests/tvm_checkout.py `make_cpp_checkout`): perfbot builds each commit's apache-tvm-ffi from it with
cmake and the compiler, for real; TVM's own libraries are the release's (the documented subset that
keeps CI under 30 minutes). The PR rewords an error message in tvm-ffi's function.cc: a real C++
change of the runtime that costs nothing measured. What it deserves, and what this test holds perfbot
to: both commits built (another native key, another runtime key), the PR's FFI recompiled from the
kept build folder (one file, not the whole FFI), every item timed side by side (the compiled code is
the same, the runtime that runs it is not: never `same code`), and none called slower or faster.
The real apache/tvm C++ builds and their verdicts are the README's (benchmarks/source_build.py).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.engine.builds import native
from bot.store import Store
from bot.verdicts import judge
from bot.vocabulary import FASTER, SAME_CODE, SLOWER
from tests import tvm_checkout
from tests.cli.conftest import perfbot, show
from tests.engine.builds.conftest import missing_build_tools

pytestmark = [pytest.mark.slow(minutes=5), pytest.mark.timeout(1800)]


def test_a_cpp_change_of_the_runtime_is_built_timed_beside_its_base_and_judged_unchanged(tmp_path, tiny_model):
    if missing_build_tools():
        pytest.skip(f"needs {', '.join(missing_build_tools())}")
    checkout, cache, db = tmp_path / "tvm", tmp_path / "cache", tmp_path / "perf.db"
    base = tvm_checkout.make_cpp_checkout(checkout)
    pr = tvm_checkout.commit_change(checkout, "reword", "[FFI] Reword an error", tvm_checkout.reword_ffi_error)
    result = perfbot(
        "run", "--model", tiny_model, "--env", f"source:{checkout}@{pr}", "--base-env", f"source:{checkout}@{base}",
        "--kind", "pr", "--pr", 7, "--sha", pr, "--base-sha", base, "--db", db, cache=cache, cwd=tmp_path,
        timeout=1700,
    )  # fmt: skip
    assert result.returncode == 0, show(result)

    store = Store.open(db)
    (run,) = [r for r in store.runs() if r["kind"] == "pr"]
    assert run["paired"] and run["native_key"] != run["base_native_key"]
    for key in (run["native_key"], run["base_native_key"]):
        assert native.find(cache, key).how == "cmake"
    ffi = sorted(p.name for p in (cache / "builds" / "ffi").glob("*-py*") if p.is_dir() and "build-" not in p.name)
    assert len(ffi) == 2  # each commit's apache-tvm-ffi, built from its own 3rdparty/tvm-ffi
    (build_dir,) = (cache / "builds" / "ffi").glob("build-*-py*[0-9]")
    assert compiled_twice(build_dir) == {Path(tvm_checkout.FFI_FUNCTION).name}  # the PR's one changed file
    rows = judge(store, "local", store.results(run["id"]))
    assert rows and all(row.paired and not row.same_code and row.comparison is not None for row in rows)
    assert {row.verdict for row in rows}.isdisjoint({SAME_CODE, SLOWER, FASTER}), [r.verdict for r in rows]
    assert all(r["rounds"] for r in store.results(run["id"]))  # timed, round by round


def compiled_twice(build_dir) -> set[str]:
    """The source files whose objects ninja compiled more than once in a kept build folder (its log keeps
    one line per build of an output, until ninja compacts it, which it does not after two builds)."""
    outputs = Counter(line.split("\t")[3] for line in (build_dir / ".ninja_log").read_text().splitlines()[1:])
    return {Path(output).stem for output, builds in outputs.items() if output.endswith(".o") and builds > 1}
