"""A database filled with realistic history, for the dashboard's test and benchmark.

Written through the Store API only (the one module with SQL), with latencies
drawn around levels like those measured here, a 15% step regression in every
third workload two thirds of the way along, a compile error at the newest
commit, a pull request (its job and its side-by-side run: 30% slower,
confirmed by the rerun, and one new failure), and one local `perfbot run` try.
Used by the dashboard's test and by benchmarks/dashboard_build.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from bot.store import Store

HEAD = "feed" + "cd" * 18
PR_NUMBER = 4242


def sha_of(commit: int) -> str:
    return f"{commit:04x}" + "ab" * 18


def workload_names(workloads: int, user_workload: str | None = None) -> list[str]:
    names = [f"qconv_{17 + i}x{17 + i}x128_128_1x7_s1_same" for i in range(workloads)]
    return names + ([user_workload] if user_workload else [])


def fill(
    store: Store,
    *,
    devices=("local", "rpi4"),
    workloads=20,
    schemes=("uint8", "int8"),
    configs=(("NHWC", "default"), ("NCHW", "default")),
    commits=30,
    samples=10,
    seed=0,
    repo="apache/tvm",
    pr_title="Speed up conv2d",
    pr_error="Traceback: boom",
    user_workload: str | None = None,
) -> int:
    """Returns the number of results written. `user_workload` adds a workload named as a user's model file."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    names = workload_names(workloads, user_workload)
    levels = {name: 5 + 300 * rng.random() for name in names}
    merge_base = sha_of(commits - 1)
    written = 0

    def result(
        run: int, name: str, scheme: str, layout: str, pipeline: str, level: float, error: str | None = None
    ) -> None:
        nonlocal written
        xs = [] if error else list(level * np.exp(rng.normal(0, 0.01, samples)))
        tflite = level / 50 * float(np.exp(rng.normal(0, 0.01)))
        median = float(np.median(xs)) if xs else None
        store.add_result(
            run,
            workload=name,
            scheme=scheme,
            layout=layout,
            pipeline=pipeline,
            status="compile_error" if error else "ok",
            samples_ms=xs,
            median_ms=median,
            tflite_samples_ms=[tflite],
            tflite_median_ms=tflite,
            ratio=median / tflite if median else None,
            max_abs_diff=None if error else 0.0,
            mismatch_fraction=None if error else 0.0,
            error=error,
        )
        written += 1

    def paired_result(run, name, scheme, layout, pipeline, level, factor, attempt, error=None) -> None:
        """One item of a PR run timed beside its base: 10 rounds of (base ms, PR ms)."""
        nonlocal written
        base = [] if error else list(level * np.exp(rng.normal(0, 0.005, 10)))
        pr = [b * factor * float(np.exp(rng.normal(0, 0.005))) for b in base]
        tflite = level / 50
        store.add_result(
            run,
            workload=name,
            scheme=scheme,
            layout=layout,
            pipeline=pipeline,
            status="compile_error" if error else "ok",
            samples_ms=pr,
            median_ms=float(np.median(pr)) if pr else None,
            tflite_samples_ms=[tflite],
            tflite_median_ms=tflite,
            ratio=float(np.median(pr)) / tflite if pr else None,
            max_abs_diff=None if error else 0.0,
            mismatch_fraction=None if error else 0.0,
            error=error,
            attempt=attempt,
            base_status="ok",
            base_samples_ms=base or [level],
            base_median_ms=float(np.median(base)) if base else level,
            rounds=list(zip(base, pr)),
            code_hash=f"pr-{name}-{scheme}-{layout}",
            base_code_hash=f"base-{name}-{scheme}-{layout}",
            same_code=False,
        )
        written += 1

    with store.transaction():
        for c in range(commits):
            when = (start + timedelta(hours=6 * c)).isoformat()
            for device in devices:
                run = store.start_run(
                    suite="conv",
                    device=device,
                    arch="x86_64",
                    target='"host"',
                    threads=1,
                    kind="base",
                    repo=repo,
                    sha=sha_of(c),
                    commit_time=when,
                    env="python:test",
                    tvm_version="0.27.0.post1",
                    emulated=device.startswith("qemu"),
                )
                for n, name in enumerate(names):
                    for scheme in schemes:
                        for layout, pipeline in configs:
                            level = levels[name] * (1.15 if c >= commits * 2 // 3 and n % 3 == 0 else 1.0)
                            failed = c == commits - 1 and n == 1 and layout == configs[-1][0]
                            result(
                                run,
                                name,
                                scheme,
                                layout,
                                pipeline,
                                level,
                                f'AssertionError: assert kernel_layout == "HWIO"\n{pr_error}' if failed else None,
                            )
                store.finish_run(run)
        store.save_pull(
            repo=repo,
            number=PR_NUMBER,
            title=pr_title,
            author="someone",
            head_sha=HEAD,
            head_ref="faster-conv",
            base_sha=merge_base,
            merge_base=merge_base,
            base_ref="main",
            state="open",
        )
        device = devices[0]
        job_id, _ = store.enqueue(
            sha=HEAD, device=device, suite="conv", kind="pr", repo=repo, pr=PR_NUMBER, base_sha=merge_base
        )
        store.claim(device, "sample")
        run = store.start_run(
            suite="conv",
            device=device,
            arch="x86_64",
            target='"host"',
            threads=1,
            kind="pr",
            repo=repo,
            sha=HEAD,
            pr=PR_NUMBER,
            env="python:test",
            tvm_version="0.27.0.post1",
            base_sha=merge_base,
            job_id=job_id,
            emulated=device.startswith("qemu"),
            paired=True,
        )
        for n, name in enumerate(names[:3]):
            for scheme in schemes:
                for layout, pipeline in configs:
                    new_failure = n == 0 and scheme == schemes[0] and layout == configs[-1][0]
                    for attempt in (1, 2):
                        paired_result(
                            run,
                            name,
                            scheme,
                            layout,
                            pipeline,
                            levels[name],
                            1.3,
                            attempt,
                            f"tvm.error.InternalError: {pr_error}" if new_failure else None,
                        )
                        if new_failure:
                            break
        store.finish_run(run)
        store.finish(job_id, "sample", "done", run_id=run)
        run = store.start_run(
            suite="smoke",
            device=devices[0],
            arch="x86_64",
            target='"host"',
            threads=1,
            kind="local",
            env="python:test",
            tvm_version="0.27.0.post1",
        )
        for name in names[-2:]:
            result(run, name, schemes[0], *configs[0], levels[name])
        store.finish_run(run)
    return written
