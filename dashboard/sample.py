"""A database filled with realistic history, for the dashboard's test and benchmark.

Written through the Store API only (the one module with SQL), with latencies
drawn around real levels measured here, one step regression per series, a
few failures, and PR runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from bot.store import Store


def fill(store: Store, *, devices=("local", "rpi4"), workloads=20, schemes=("uint8", "int8"),
         configs=(("NHWC", "default"), ("NCHW", "default")), commits=30, samples=10, seed=0,
         repo="apache/tvm", pr_title="Speed up conv2d", pr_error="Traceback: boom") -> int:
    """Returns the number of results written."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    names = [f"qconv_{17 + i}x{17 + i}x128_128_1x7_s1_same" for i in range(workloads)]
    levels = {name: 5 + 300 * rng.random() for name in names}
    written = 0
    with store.transaction():
        for c in range(commits):
            sha = f"{c:04x}" + "ab" * 18
            when = (start + timedelta(hours=6 * c)).isoformat()
            for device in devices:
                run = store.start_run(suite="conv", device=device, arch="x86_64", target='"host"', threads=1,
                                      kind="base", repo=repo, sha=sha, commit_time=when, env="python:test",
                                      tvm_version="0.27.0.post1", emulated=int(device.startswith("qemu")))
                for n, name in enumerate(names):
                    for scheme in schemes:
                        for layout, pipeline in configs:
                            level = levels[name] * (1.15 if c >= commits * 2 // 3 and n % 3 == 0 else 1.0)
                            xs = list(level * np.exp(rng.normal(0, 0.01, samples)))
                            failed = c == commits - 1 and n == 1 and layout == "NCHW"
                            store.add_result(run, workload=name, scheme=scheme, layout=layout, pipeline=pipeline,
                                             status="compile_error" if failed else "ok",
                                             samples_ms=[] if failed else xs,
                                             median_ms=None if failed else float(np.median(xs)),
                                             tflite_samples_ms=[level / 50], tflite_median_ms=level / 50,
                                             ratio=None if failed else float(np.median(xs)) / (level / 50),
                                             max_abs_diff=None if failed else 0.0, mismatch_fraction=0.0,
                                             error="AssertionError: assert kernel_layout == \"HWIO\"\n" + pr_error
                                             if failed else None)
                            written += 1
                store.finish_run(run)
        head = "feed" + "cd" * 18
        store.save_pull(repo=repo, number=4242, title=pr_title, author="someone", head_sha=head,
                        base_sha=f"{commits - 1:04x}" + "ab" * 18, merge_base=f"{commits - 1:04x}" + "ab" * 18,
                        base_ref="main", state="open")
        for device in devices[:1]:
            run = store.start_run(suite="conv", device=device, arch="x86_64", target='"host"', threads=1, kind="pr",
                                  repo=repo, sha=head, pr=4242, env="python:test", tvm_version="0.27.0.post1",
                                  base_sha=f"{commits - 1:04x}" + "ab" * 18)
            for name in names[:3]:
                for scheme in schemes:
                    for layout, pipeline in configs:
                        xs = list(levels[name] * 1.3 * np.exp(rng.normal(0, 0.01, samples)))
                        store.add_result(run, workload=name, scheme=scheme, layout=layout, pipeline=pipeline,
                                         status="ok", samples_ms=xs, median_ms=float(np.median(xs)),
                                         tflite_samples_ms=[1.0], tflite_median_ms=1.0, ratio=float(np.median(xs)),
                                         max_abs_diff=0.0, mismatch_fraction=0.0, error=None)
                        written += 1
            store.finish_run(run)
    return written
