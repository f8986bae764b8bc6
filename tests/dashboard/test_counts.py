"""The dashboard of a board that counts instructions, PR runs made at the terminal, and the ARM break-down column.

A real database filled through the Store API (as the runner records them:
tests/results.py), built into a site and opened in headless Chromium.
"""

from __future__ import annotations

import json
import re

import pytest

from bot.store import Store
from dashboard.build import build_site, slug
from tests.dashboard.browser import open_page, screenshot, serve
from tests.results import counted, ok, paired, rounds_of

REPO = "apache/tvm"
QEMU = "qemu-aarch64"
EMULATOR = "qemu-aarch64 7.2.22 -cpu cortex-a72, counting plugin icount.so"
CONV, OTHER, NETWORK = "qconv_a", "qconv_b", "inception_v3"
PARTS = {CONV: 3, OTHER: 1}
COMMITS = 8
LEVEL = 60_000_000  # NHWC/default's count; NCHW/default counts 10% more
STEP_AT = 5  # +1.5% from this commit on: beyond the 0.1% margin
WIGGLE_AT = 3  # +30,000 instructions at this commit only: above COUNT_FLOOR, under 0.1% of the count
PR, TERMINAL_PR, TERMINAL_COUNTED_PR = 4242, 77, 78
HEAD = "feed" * 10
#: The network's own count on the board, by function: 1,000 M, 750 M of them in conv2d kernels.
NETWORK_FUNCTIONS = {
    "kernel:fused_conv2d3_add3_quantize3_tir_clip3_dequantize": 600_000_000,
    "kernel:fused_conv2d_add_quantize_tir_clip_dequantize": 150_000_000,
    "kernel:fused_max_pool2d_dequantize": 50_000_000,
    "kernel:fused_concatenate_quantize": 40_000_000,
    "kernel:fused_matmul_add18_quantize85_dequantize": 20_000_000,
    "kernel:fused_mean_quantize84_dequantize": 10_000_000,
    "kernel:dequantize": 100_000_000,
    "tvm runtime:(other)": 20_000_000,
    "system:libc.so.6": 10_000_000,
}


def sha_of(commit: int) -> str:
    return f"{commit:04x}" + "cd" * 18


def count_row(workload: str, layout: str, n: int, *, tflite: int = 40_000_000, functions=None) -> dict:
    """A result of a counting run: one inference's instructions, TFLite's on the same board, by function."""
    return {
        "workload": workload, "scheme": "uint8", "layout": layout, "pipeline": "default", "status": "ok",
        "instructions": n, "tflite_instructions": tflite, "instruction_ratio": n / tflite,
        "functions": functions or {"kernel:fused_conv2d_add": n - 2_000_000, "kernel:dequantize": 1_500_000,
                                   "tvm runtime:(other)": 500_000},
        "kernels": 4, "code_bytes": 18_000, "compile_s": 0.4, "max_abs_diff": 0.0, "mismatch_fraction": 0.0,
    }  # fmt: skip


def conv_level(commit: int, layout: str) -> int:
    n = LEVEL * (1.1 if layout == "NCHW" else 1.0) * (1.015 if commit >= STEP_AT else 1.0)
    return int(n) + (30_000 if commit == WIGGLE_AT else 0) + commit * 7  # a few instructions of jitter


def record(store: Store, rows: list[dict], **run) -> int:
    run_id = store.start_run(**run)
    for row in rows:
        store.add_result(run_id, **row)
    store.finish_run(run_id)
    return run_id


def counting_run(**fields) -> dict:
    return {"device": QEMU, "emulated": True, "metric": "instructions", "emulator": EMULATOR,
            "tvm_version": "0.27.0.post1", "env": "python:test", **fields}  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("counts")
    store = Store.open(folder / "perf.db")
    store.record_network_parts(NETWORK, PARTS)
    for c in range(COMMITS):
        rows = [count_row(CONV, layout, conv_level(c, layout)) for layout in ("NHWC", "NCHW")]
        if c == COMMITS - 1:  # the newest commit ran the full suite: the network and both convs
            rows += [count_row(OTHER, "NHWC", 150_000_000, tflite=90_000_000)]
            rows += [count_row(NETWORK, "NHWC", 1_000_000_000, tflite=800_000_000, functions=NETWORK_FUNCTIONS)]
        record(store, rows, **counting_run(suite="full" if c == COMMITS - 1 else "conv", kind="base", repo=REPO,
                                           sha=sha_of(c), commit_time=f"2026-02-0{c + 1}T00:00:00+00:00"))  # fmt: skip
    # A timed board's full suite, whose standalone convs sum to more than the network (110 ms against 100 ms).
    timed = [
        ok(NETWORK, [99.0, 100.0, 101.0], tflite=50.0, layout="NHWC", pipeline="default"),
        ok(CONV, [29.5, 30.0, 30.5], tflite=10.0, layout="NHWC", pipeline="default"),
        ok(OTHER, [19.5, 20.0, 20.5], tflite=10.0, layout="NHWC", pipeline="default"),
    ]
    record(store, timed, suite="full", device="rpi4", kind="local", env="python:test", tvm_version="0.27.0.post1")
    # A PR perfbot saw on GitHub, counted beside its merge base: 5% more instructions, and a same-code item.
    store.save_pull(repo=REPO, number=PR, title="Tile the 3x3 conv", author="someone", head_sha=HEAD,
                    head_ref="tile", base_sha=sha_of(COMMITS - 1), merge_base=sha_of(COMMITS - 1), base_ref="main",
                    state="open")  # fmt: skip
    base = conv_level(COMMITS - 1, "NHWC")
    record(store, [counted(CONV, base, int(base * 1.05), layout="NHWC", pipeline="default",
                           functions={"kernel:fused_conv2d_add": int(base * 1.05)},
                           base_functions={"kernel:fused_conv2d_add": base}),
                   counted(CONV, None, None, same_code=True, layout="NCHW", pipeline="default")],
           **counting_run(suite="conv", kind="pr", repo=REPO, pr=PR, sha=HEAD, base_sha=sha_of(COMMITS - 1),
                          paired=True))  # fmt: skip
    # PR runs made at the terminal: `perfbot run --kind pr --pr N --base-env ...`, no GitHub, no repository.
    slower = paired(CONV, rounds_of(30.0, 0.30), layout="NHWC", pipeline="default")
    record(store, [slower, {**slower, "attempt": 2},
                   paired(OTHER, None, same_code=True, layout="NHWC", pipeline="default"),
                   paired(NETWORK, rounds_of(100.0, 0.0, seed=3), layout="NHWC", pipeline="default")],
           suite="smoke", device="local", kind="pr", pr=TERMINAL_PR, paired=True, env="source:/src/tvm@pr",
           base_env="source:/src/tvm@main", tvm_version="0.27.0.post1")  # fmt: skip
    record(store, [counted(OTHER, 150_000_000, 140_000_000, layout="NHWC", pipeline="default")],
           **counting_run(suite="smoke", kind="pr", pr=TERMINAL_COUNTED_PR, paired=True,
                          base_env="source:/src/tvm@main"))  # fmt: skip
    store.close()
    built = build_site(folder / "perf.db", folder / "site", repo=REPO)
    with serve(folder / "site") as url:
        yield folder / "site", built, url


def read(folder, name: str) -> str:
    return (folder / name).read_text()


def figure(text: str) -> tuple[list, dict]:
    """The trend chart's data and layout, as the page hands them to plotly."""
    found = re.search(r'Plotly\.newPlot\("trend",(.*),\{"responsive"', text).group(1)
    data, layout = json.loads("[" + found + "]")
    return data, layout


def test_a_counting_trend_is_in_instructions_with_steps_by_arithmetic(site):
    folder, _, _ = site
    text = read(folder, f"trend/{slug(QEMU, CONV, 'uint8')}.html")
    data, layout = figure(text)
    assert layout["yaxis"]["title"]["text"] == "instructions of one inference (emulated AArch64)"
    assert "ms" not in layout["yaxis"]["title"]["text"] and not any(t.get("fill") for t in data)  # exact: no band
    series = {t["name"]: t for t in data}
    assert series["TVM NHWC/default"]["y"][0] == LEVEL and len(series["TVM NHWC/default"]["y"]) == COMMITS
    assert series["TFLite"]["y"] == [40_000_000] * COMMITS
    ratios = [t for t in data if t.get("yaxis") == "y2"]
    assert {t["name"] for t in ratios} == {"TVM/TFLite NHWC/default", "TVM/TFLite NCHW/default"}
    assert series["TVM/TFLite NHWC/default"]["y"][0] == 1.5 and series["TVM/TFLite NCHW/default"]["y"][0] == 1.65
    assert series["TVM NHWC/default"]["customdata"][0][3] == "qemu-aarch64 7.2.22 -cpu cortex-a72"  # what counted it
    assert "one inference on %{customdata[3]}" in series["TVM NHWC/default"]["hovertemplate"]
    steps = text.split("<h2>Steps between consecutive commits</h2>")[1].split("</table>")[0]
    # One step per config, at the +1.5% commit; the +30,000-instruction wiggle is inside the 0.1% margin.
    assert steps.count("<tr>") == 1 + 2 and sha_of(STEP_AT)[:10] in steps and sha_of(WIGGLE_AT)[:10] not in steps
    before, after = conv_level(STEP_AT - 1, "NHWC"), conv_level(STEP_AT, "NHWC")
    assert f'<td class="num">{before:,}</td><td class="num">{after:,}</td>' in steps  # exact counts
    assert f"+{after / before - 1:.2%}" in steps
    assert "Emulated device: latency" not in text and "not time" in text


def test_a_counting_trend_shows_the_newest_runs_top_functions(site):
    folder, _, _ = site
    text = read(folder, f"trend/{slug(QEMU, CONV, 'uint8')}.html")
    table = text.split("<h2>Where the instructions go</h2>")[1].split("</table>")[0]
    assert "kernel:fused_conv2d_add" in table and "tvm runtime:(other)" in table
    newest = conv_level(COMMITS - 1, "NHWC")
    assert f"{newest - 2_000_000:,}" in table


def test_count_steps_that_rose_are_listed_as_regressions_on_the_index(site):
    folder, _, _ = site
    index = read(folder, "index.html")
    regressions = index.split("<h2>Worst regressions</h2>")[1].split("<h2>")[0]
    assert "+1.5% instructions" in regressions and sha_of(STEP_AT)[:10] in regressions
    assert "instructions, emulated AArch64</span>" in index  # the board is shown as what it is
    devices = index.split("<h2>TVM against TFLite, per device</h2>")[1].split("</table>")[0]
    assert "(fewer instructions)" in devices and "where the instructions go" in devices


def test_the_counting_boards_device_page_is_in_instructions(site):
    folder, _, _ = site
    text = read(folder, f"device/{slug(QEMU)}.html")
    assert "<th>default instructions</th>" in text and "<th>best instructions</th>" in text
    assert "<th>default ms</th>" not in text and "fewest instructions" in text


def test_no_pr_point_is_drawn_at_zero(site):
    folder, _, _ = site
    seen = 0
    for path in (folder / "trend").glob("*.html"):
        for trace in figure(path.read_text())[0]:
            if trace.get("name", "").startswith("PRs"):
                seen += len(trace["y"])
                assert all(y and y > 0 for y in trace["y"]), path.name
    # GitHub PR: 2 rows (one same code, drawn at its base's level); terminal: 2 with a value of their own
    # and the counted one; the terminal same-code row has no level anywhere, so it is left to the tables.
    assert seen == 2 + 2 + 1


def test_a_same_code_pr_row_is_drawn_at_its_bases_count(site):
    folder, _, _ = site
    data, _ = figure(read(folder, f"trend/{slug(QEMU, CONV, 'uint8')}.html"))
    pr = next(t for t in data if t["name"] == "PRs NCHW/default")
    assert pr["y"] == [conv_level(COMMITS - 1, "NCHW")] and pr["marker"]["symbol"] == ["diamond-open"]
    assert "same code as its base" in pr["customdata"][0][4]


def test_a_counted_pr_page_shows_counts_and_verdicts(site, browser):
    folder, _, url = site
    page, errors = open_page(browser, url, f"pr/{PR}.html")
    cells = page.evaluate("""() => [...document.querySelectorAll("tbody tr")].map(
        tr => [...tr.querySelectorAll("td")].map(td => td.innerText))""")
    heads = page.evaluate("() => [...document.querySelectorAll('th')].map(th => th.innerText)")
    assert "base instructions" in heads and "PR instructions" in heads and "base ms" not in heads
    base = conv_level(COMMITS - 1, "NHWC")
    row = next(c for c in cells if c[2] == "NHWC/default")
    assert row[3:7] == [f"{base:,}", f"{int(base * 1.05):,}", "+5.0%", "more instructions"]
    assert "kernel:fused_conv2d_add" in row[9]  # the function that moved
    assert next(c for c in cells if c[2] == "NCHW/default")[6] == "same code"
    assert errors == []
    screenshot(page, "pr-counted")
    page.close()


def test_a_pr_run_made_at_the_terminal_shows_base_against_head_with_verdicts(site, browser):
    folder, _, url = site
    page, errors = open_page(browser, url, f"pr/{TERMINAL_PR}.html")
    body = page.inner_text("body")
    assert "perfbot run --kind pr" in body and "source:/src/tvm@pr" in body and "source:/src/tvm@main" in body
    cells = {
        r[0]: r
        for r in page.evaluate("""() => [...document.querySelectorAll("tbody tr")].map(
            tr => [...tr.querySelectorAll("td")].map(td => td.innerText))""")
    }
    # workload, scheme, config, base ms, PR ms, change, verdict, TVM/TFLite, correctness
    assert cells[CONV][6] == "slower than +2%, confirmed by a rerun"
    assert float(cells[CONV][5].split("%")[0]) == pytest.approx(30, abs=2)  # `+29.7% [+29.4, +30.1]`
    assert cells[OTHER][6] == "same code" and cells[NETWORK][6] == "unchanged within ±2%"
    assert float(cells[CONV][3]) == pytest.approx(30.0, rel=0.02)
    assert errors == []
    screenshot(page, "pr-terminal")
    page.close()
    index = read(folder, "index.html")
    assert "1 slower, 1 unchanged, 1 same code" in index  # the PR list says what its page says
    counted_pr = read(folder, f"pr/{TERMINAL_COUNTED_PR}.html")
    assert "fewer instructions" in counted_pr and "150,000,000" in counted_pr and "-6.7%" in counted_pr


def test_the_breakdown_has_an_arm_column_and_no_negative_rest(site, browser):
    _, _, url = site
    page, errors = open_page(browser, url, f"breakdown/{slug('rpi4')}.html")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15000)
    heads = page.evaluate(
        "() => [...document.querySelectorAll('table')[0].querySelectorAll('th')].map(t => t.innerText)"
    )
    assert heads[-2:] == ["count × ARM instructions", "share of ARM's"]
    rows = {
        r[0]: r[1:]
        for r in page.evaluate("""() => [...document.querySelectorAll("table")[0].querySelectorAll("tbody tr")].map(
            tr => [...tr.querySelectorAll("td")].map(td => td.innerText))""")
    }
    arm_conv = 3 * conv_level(COMMITS - 1, "NHWC")
    assert rows[CONV][4:6] == ["90.000", "90.0%"] and rows[CONV][-1] == f"{arm_conv / 1e9:.1%}"
    assert rows[OTHER][-2:] == ["150.0 M", "15.0%"]
    # The convs alone take 110 ms of a 100 ms network: the row says by how much, never a negative rest.
    rest = rows["the rest, or (+) how far the convs' sum is over the whole"]
    assert rest[4:6] == ["+10.000", "+10.0%"] and rest[6:8] == ["10.000", "20.0%"]
    assert not any(cell.startswith("-") for cell in rest)
    assert "sum to 110.0% of the network's end-to-end time" in page.inner_text("body")
    kinds = page.inner_text("table:below(h3:has-text('by kernel kind'))")
    assert "conv2d kernels" in kinds and "75.0%" in kinds and "pools" in kinds and "5.0%" in kinds
    bars = page.evaluate("() => document.getElementById('shares-uint8').data.map(t => [t.name, t.x])")
    assert [name for name, _ in bars] == ["TVM", "TFLite", "ARM instructions"]
    assert bars[0][1][0] is None  # no bar for a rest the convs exceed
    assert errors == []
    screenshot(page, "breakdown-arm")
    page.close()


def test_the_counting_boards_own_breakdown_is_in_instructions(site):
    folder, _, _ = site
    text = read(folder, f"breakdown/{slug(QEMU)}.html")
    assert "where the instructions of inception_v3 go" in text and "<th>count × TVM instructions</th>" in text
    assert "ARM instructions" not in text  # it is the ARM board
    assert "<td>the rest: pools, concatenations, classifier</td>" in text


@pytest.mark.parametrize(
    "path",
    [f"trend/{slug(QEMU, CONV, 'uint8')}.html", f"trend/{slug('local', OTHER, 'uint8')}.html", "index.html"],
)
def test_counting_pages_render_in_chromium_without_errors(site, browser, path):
    _, _, url = site
    page, errors = open_page(browser, url, path)
    if path.startswith("trend/"):
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=15000)
    assert errors == []
    if path.startswith(f"trend/{slug(QEMU)}"):
        assert "instructions of one inference" in page.text_content(".js-plotly-plot")
        assert page.locator(".js-plotly-plot .scatterlayer .trace .points path").count() >= 2 * COMMITS
    screenshot(page, path)
    page.close()
