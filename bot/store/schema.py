"""The database schema as an ordered list of migrations.

The schema version lives in SQLite's `PRAGMA user_version`. Each migration
runs once, in a transaction, in order; a database written by a newer perfbot
is refused rather than guessed at. Add a migration to change the schema; never
edit one that has shipped.

Tested in tests/store/test_store.py: a new database, an old one migrated in order, a newer one refused.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils


def _v1_results(db: sqlite_utils.Database) -> None:
    db["runs"].create(
        {
            "id": int,
            "started_at": str,  # ISO 8601, UTC
            "finished_at": str,
            "status": str,  # running | complete | aborted
            "suite": str,
            "device": str,
            "arch": str,
            "target": str,  # JSON
            "threads": int,
            "host_cpu": str,
            "emulated": int,
            "tuning": int,
            "env": str,  # environment key, e.g. "python:/usr/bin/python3" or "pip:apache-tvm==0.26.0"
            "tvm_version": str,
            "tvm_ffi_version": str,
            "tvm_commit": str,
            "kind": str,  # local | base | pr
            "repo": str,
            "sha": str,
            "commit_time": str,
            "pr": int,
            "base_sha": str,
            "job_id": int,
            "perfbot_version": str,
        },
        pk="id",
        not_null={"started_at", "status", "suite", "device", "kind"},
        defaults={"status": "running", "kind": "local", "emulated": 0, "tuning": 0},
    )
    db["results"].create(
        {
            "id": int,
            "run_id": int,
            "workload": str,
            "scheme": str,
            "layout": str,
            "pipeline": str,
            "status": str,
            "samples_ms": str,  # JSON list, every timed repeat
            "median_ms": float,
            "tflite_samples_ms": str,
            "tflite_median_ms": float,
            "ratio": float,  # TVM median / TFLite median
            "max_abs_diff": float,  # in quantized units of the output
            "mismatch_fraction": float,
            "error": str,
            "compile_s": float,
            "wall_s": float,
            "workload_hash": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
        not_null={"run_id", "workload", "status"},
    )
    db["results"].create_index(["run_id"])
    db["results"].create_index(["workload", "scheme", "layout", "pipeline"])
    db["runs"].create_index(["device", "kind", "sha"])
    db["tunings"].create(
        {
            "id": int,
            "created_at": str,
            "device": str,
            "target": str,
            "workload": str,
            "scheme": str,
            "layout": str,
            "trials": int,
            "status": str,
            "duration_s": float,
            "database_dir": str,
            "tvm_version": str,
            "tvm_ffi_version": str,
            "error": str,
        },
        pk="id",
    )


def _v2_github(db: sqlite_utils.Database) -> None:
    db["jobs"].create(
        {
            "id": int,
            "key": str,  # unique: repo, sha, device, suite, config
            "repo": str,
            "pr": int,
            "sha": str,
            "base_sha": str,
            "kind": str,  # pr | base
            "device": str,
            "suite": str,
            "config": str,  # default | tuned
            "state": str,  # pending | running | done | failed | cancelled
            "priority": int,
            "attempts": int,
            "worker": str,
            "lease_expires": float,  # unix time
            "created_at": str,
            "updated_at": str,
            "run_id": int,
            "reason": str,
            "requested_by": str,
        },
        pk="id",
        not_null={"key", "sha", "device", "suite", "state"},
        defaults={"state": "pending", "priority": 0, "attempts": 0, "config": "default"},
    )
    db["jobs"].create_index(["key"], unique=True)
    db["jobs"].create_index(["state", "device"])
    db["pull_requests"].create(
        {
            "repo": str,
            "number": int,
            "title": str,
            "author": str,
            "head_sha": str,
            "head_repo": str,
            "head_ref": str,
            "base_ref": str,
            "base_sha": str,
            "merge_base": str,
            "is_fork": int,
            "state": str,
            "url": str,
            "updated_at": str,
        },
        pk=("repo", "number"),
    )
    db["pr_comments"].create(
        {"repo": str, "pr": int, "comment_id": int, "body_sha": str, "updated_at": str},
        pk=("repo", "pr"),
    )
    db["approvals"].create(
        {"repo": str, "pr": int, "sha": str, "approved_by": str, "approved_at": str},
        pk=("repo", "pr", "sha"),
    )
    db["deliveries"].create({"id": str, "event": str, "received_at": str}, pk="id")
    db["seen_comments"].create(
        {"comment_id": int, "repo": str, "pr": int, "author": str, "decision": str, "seen_at": str},
        pk="comment_id",
    )
    db["outbox"].create(
        {
            "repo": str,
            "pr": int,
            "reason": str,
            "attempts": int,
            "next_attempt": float,
            "last_error": str,
            "created_at": str,
        },
        pk=("repo", "pr"),
        defaults={"attempts": 0, "next_attempt": 0.0},
    )
    db["poll_state"].create({"key": str, "etag": str, "last_modified": str, "value": str}, pk="key")
    db["posts"].create(
        {
            "id": int,
            "at": str,
            "repo": str,
            "pr": int,
            "sha": str,
            "kind": str,
            "target": str,
            "body": str,
            "dry_run": int,
        },
        pk="id",
    )


def _v3_inbox(db: sqlite_utils.Database) -> None:
    """Events are kept until handled, so that GitHub being down delays work instead of losing it."""
    db["inbox"].create(
        {
            "id": int,
            "event": str,  # pull_request | issue_comment | push | ...
            "payload": str,  # the parsed event as JSON
            "received_at": str,
            "attempts": int,
            "next_attempt": float,
            "state": str,  # pending | done | failed
            "error": str,
        },
        pk="id",
        defaults={"attempts": 0, "next_attempt": 0.0, "state": "pending"},
    )
    db["inbox"].create_index(["state", "next_attempt"])
    db["jobs"].add_column("commit_time", str)


def _v4_inbox_kinds(db: sqlite_utils.Database) -> None:
    """Inbox rows name their event by a stable kind (bot.github.events.KINDS), not by a Python class name.

    Rows already queued are rewritten: the kind, and the pull request fields of PR events, which now
    nest one PullRequest shape (`pull`) with GitHub's `url`, `draft`, `merged` and `updated_at`.
    Self-contained: it imports nothing of the bot, so it stays right whatever the classes become.
    """
    import json

    kinds = {
        "PullRequestEvent": "pull_request",
        "CommentEvent": "comment",
        "PushEvent": "push",
        "PingEvent": "ping",
        "PullSeen": "poll:pull_seen",
        "PullGone": "poll:pull_gone",
        "BaseHead": "poll:base_head",
        "CommentSeen": "poll:comment_seen",
    }
    pull_keys = ("repo", "number", "title", "author", "head_sha", "head_repo", "head_ref", "base_ref", "base_sha")

    def nested(old: dict) -> dict:
        pull = {key: old.get(key) for key in pull_keys}
        pull.update(
            is_fork=bool(old.get("is_fork")),
            state=old.get("state") or "open",
            draft=bool(old.get("draft")),
            merged=bool(old.get("merged")),
            url=old.get("url") or old.get("html_url") or "",
            updated_at=old.get("updated_at") or "",
        )
        return pull

    for row_id, event, payload in db.execute("select id, event, payload from inbox").fetchall():
        if event not in kinds:
            continue
        fields = json.loads(payload)
        if event == "PullRequestEvent":
            fields = {"action": fields["action"], "pull": nested(fields)}
        elif event == "PullSeen":
            fields = {"pull": nested(fields["pull"])}
        db.execute("update inbox set event = ?, payload = ? where id = ?", [kinds[event], json.dumps(fields), row_id])


def _v5_head_time(db: sqlite_utils.Database) -> None:
    """GitHub's time of a PR's head (its updated_at when the bot first saw that head), for fork approvals."""
    db["pull_requests"].add_column("head_at", str)


def _v6_commit_statuses(db: sqlite_utils.Database) -> None:
    """The commit statuses perfbot set, per PR, so that a superseded or closed head's `pending` gets resolved.

    The statuses remembered before (poll_state keys `status:REPO@SHA:CONTEXT`) come along without a PR.
    """
    db["commit_statuses"].create(
        {
            "repo": str,
            "sha": str,
            "context": str,
            "pr": int,
            "state": str,  # pending | success | failure | error
            "description": str,
            "updated_at": str,
        },
        pk=("repo", "sha", "context"),
    )
    db["commit_statuses"].create_index(["repo", "pr", "state"])
    for key, value in db.execute("select key, value from poll_state where key like 'status:%'").fetchall():
        target, _, context = key[len("status:") :].rpartition(":")
        repo, _, sha = target.rpartition("@")
        state, _, description = (value or "").partition(": ")
        if repo and sha and context:
            db["commit_statuses"].upsert(
                {"repo": repo, "sha": sha, "context": context, "state": state, "description": description},
                pk=("repo", "sha", "context"),
            )


def _v7_builds_and_pairs(db: sqlite_utils.Database) -> None:
    """What build a run measured, the code it compiled to, and a PR's base measured beside it."""
    for column, kind in (
        ("native_key", str),  # content hash of what went into the native libraries (bot/engine/builds.py)
        ("python_tree", str),  # git tree hash of the commit's python/ folder
        ("paired", int),  # 1: a PR run that timed the merge base's build beside the PR's
        ("base_env", str),
        ("base_native_key", str),
        ("base_python_tree", str),
    ):
        db["runs"].add_column(column, kind)
    for column, kind in (
        ("code_hash", str),  # hash of the VM program, its constants and the generated IR (bot/child/measure.py)
        ("attempt", int),  # 1, or 2 for the rerun that confirms a change before it is reported
        ("base_status", str),  # a paired PR run: the same item with the merge base's build
        ("base_samples_ms", str),  # JSON list
        ("base_median_ms", float),
        ("base_code_hash", str),
        ("base_max_abs_diff", float),
        ("base_error", str),
        ("rounds", str),  # JSON list of [base ms, PR ms], one per side-by-side round
        ("same_code", int),  # 1: the PR compiled to exactly the base's code; nothing was timed
    ):
        db["results"].add_column(column, kind)


def _v8_bisections_and_networks(db: sqlite_utils.Database) -> None:
    """The commits that moved the base branch (`perfbot bisect`), and what a whole network is made of."""
    db["bisections"].create(
        {
            "id": int,
            "repo": str,
            "device": str,
            "workload": str,
            "scheme": str,
            "layout": str,
            "pipeline": str,
            "good_sha": str,  # a commit known to be at the old level
            "bad_sha": str,  # a commit known to be at the new level
            "first_bad_sha": str,  # what the bisection found: the first commit at the new level
            "pr": int,  # the pull request that brought first_bad_sha, when GitHub knows one
            "status": str,  # queued | running | found | not_found | failed
            "change": float,  # first_bad against the known-good build, side by side: +0.12 is 12% slower
            "reason": str,  # how it was started (a change point, a person) or why it failed
            "evidence": str,  # JSON list of probes: {sha, verdict, change, ci_low, ci_high}
            "started_at": str,
            "finished_at": str,
            "posted_at": str,  # when the PR got its comment (set by the GitHub side)
        },
        pk="id",
    )
    db["bisections"].create_index(["device", "workload", "scheme", "layout", "pipeline"])
    # Inception-v3's conv2d layers by configuration: how often each conv suite workload occurs in the network,
    # so its time can be broken down from the conv suite's measurements (the Relax VM has no per-op profiler).
    db["network_parts"].create({"network": str, "workload": str, "count": int}, pk=("network", "workload"))


def _v9_tuned_tasks(db: sqlite_utils.Database) -> None:
    """A tuned item's tasks with and without records in the device's database; tunings by suite."""
    db["results"].add_column("tuned_tasks", int)
    db["results"].add_column("untuned_tasks", int)  # > 0: not a tuned latency (bot/verdicts.py: untuned)


def _v10_bisection_posts(db: sqlite_utils.Database) -> None:
    """What the GitHub side did with a found bisection: the comment it posted, or why it posted none."""
    db["bisections"].add_column("comment_id", int)  # the sticky comment on the first bad commit's PR
    db["bisections"].add_column("post_note", str)  # e.g. GitHub knows no pull request for the commit


def _v11_instruction_counts(db: sqlite_utils.Database) -> None:
    """Instruction counts on the emulated board (bot/engine/boards/), what served a run, and compile statistics."""
    for column, kind in (
        ("metric", str),  # time | instructions: what the device measures (devices.yml `metric`)
        ("device_runtime", str),  # the TVM runtime that ran the modules on the device, as the device says
        ("emulator", str),  # e.g. "qemu-aarch64 7.2.22 -cpu cortex-a72, counting plugin icount-....so"
    ):
        db["runs"].add_column(column, kind)
    for column, kind in (
        ("instructions", int),  # one inference of TVM's compiled model, counted on the emulated board
        ("functions", str),  # JSON {"group:function": instructions} (bot/engine/boards/instructions.py)
        ("tflite_instructions", int),  # one inference of TFLite's interpreter, same model, input and board
        ("tflite_functions", str),
        ("instruction_ratio", float),  # instructions / tflite_instructions
        ("base_instructions", int),  # a PR run: the merge base's build, counted in the same job
        ("base_functions", str),
        ("kernels", int),  # PrimFuncs in the compiled module as linked for the board
        ("code_bytes", int),  # bytes of machine code in that module
        ("base_kernels", int),
        ("base_code_bytes", int),
        ("base_compile_s", float),
    ):
        db["results"].add_column(column, kind)


def _v12_code_functions_and_builds(db: sqlite_utils.Database) -> None:
    """Where a PR's code changed (per compiled function), and which TVM each side of a run was."""
    for column, kind in (
        ("build_how", str),  # how the TVM under test was made: cmake, wheel REQ (source: builds); none for pip/python
        ("base_build_how", str),
        ("base_tvm_version", str),  # a paired run: the merge base's TVM as its child reported it
    ):
        db["runs"].add_column(column, kind)
    for column, kind in (
        ("code_functions", str),  # JSON {function: hash of its IR} (bot/child/measure.py function_hashes)
        ("base_code_functions", str),
        ("changed_functions", str),  # JSON list: a paired run's functions whose code differs between the sides
    ):
        db["results"].add_column(column, kind)


def _v13_sequential_rounds(db: sqlite_utils.Database) -> None:
    """Side-by-side rounds that stop when the verdict is decided: why they stopped, and the design they ran under."""
    for column, kind in (
        (
            "stopped",
            str,
        ),  # decided unchanged | decided changed | cap | cannot decide | wrong result (vocabulary.STOPPED)
        ("pair_rounds", int),  # rounds per pair of children, a look at the verdict after each (bot/stats.Looks)
        ("max_rounds", int),  # the cap: rounds at most
        ("margin", float),  # the verdict's margin as timed: the minimum effect, or the series' noise if larger
    ):
        db["results"].add_column(column, kind)


def _v14_own_runtime(db: sqlite_utils.Database) -> None:
    """Whether a run's modules ran on the runtime of the TVM that compiled them (a PR's own AArch64 runtime)."""
    db["runs"].add_column("own_runtime", int)  # 1 yes, 0 another build's, null: the device did not say


def _v15_round_order(db: sqlite_utils.Database) -> None:
    """Which side each side-by-side round timed first: what a round's ratio owes to its place is read from it."""
    # a letter a round, b (base) or p (PR); null in rows from before it was kept, which timed the base first in
    # even rounds (from 0) counted across the item's pairs of children
    db["results"].add_column("round_order", str)


def _v16_compiled_for(db: sqlite_utils.Database) -> None:
    """What a run's modules were compiled for, as its TVM printed the target, and why a local device's "host"
    is not LLVM's name for the CPU when it is not (a virtual machine hiding features: bot/engine/boards/host.py)."""
    db["runs"].add_column("compiled_for", str)
    db["runs"].add_column("cpu_fallback", str)


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1_results,
    _v2_github,
    _v3_inbox,
    _v4_inbox_kinds,
    _v5_head_time,
    _v6_commit_statuses,
    _v7_builds_and_pairs,
    _v8_bisections_and_networks,
    _v9_tuned_tasks,
    _v10_bisection_posts,
    _v11_instruction_counts,
    _v12_code_functions_and_builds,
    _v13_sequential_rounds,
    _v14_own_runtime,
    _v15_round_order,
    _v16_compiled_for,
]

LATEST = len(MIGRATIONS)
