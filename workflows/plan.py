"""The job matrix for perfbot's workflows: which device runs which suite, one job per runner.

    python3 perfbot/workflows/plan.py --devices perfbot/devices.yml --event EVENT \\
        [--device NAME] [--suite NAME] [--event-path FILE --pull FILE --permission FILE] >> "$GITHUB_OUTPUT"

EVENT is the GitHub event that started the workflow:

- pull_request, push: every enabled device with its first suite (smoke);
- schedule: every enabled device with `full` where it runs it (its last suite otherwise);
- workflow_dispatch: --device (empty: every enabled device) with --suite;
- issue_comment: the `@perfbot rerun [device=D] [suite=S]` and `@perfbot run` lines of
  the comment in $COMMENT (untrusted text: it is only parsed, by bot/github/commands.py, the
  parser the bot itself uses); other commands (cancel, help) are the service's.

With --event-path (the event's JSON, $GITHUB_EVENT_PATH), --pull (GitHub's pull request,
GET /repos/R/pulls/N) and --permission (the commenter's, GET .../collaborators/U/permission),
it also decides which head sha the measuring job may check out (`head_to_run`), the gate that
keeps fork code off the boards until a maintainer approved exactly that head:

- pull_request from the same repository: the event's head sha;
- pull_request from a fork: nothing, until `@perfbot run` (or rerun) is commented;
- issue_comment: the commenter needs write, maintain or admin (GitHub's role, not the coarse
  author_association); the sha is the PR's head as GitHub has it now, and for a fork it is
  run only if the PR did not change after the comment was written (bot/github/approval.py:
  the approval covers only the head the approver saw). Prints `sha=...` (empty: nothing runs).

Devices that share runner labels are measured by one job, one after the other, into one
database: a PR's comment is computed from one database (see perfbot-report.yml).
Prints `matrix={"include": [{"runner": ..., "labels": [...], "runs": "DEVICE:SUITE ..."}]}`
and `any=true|false`. Needs PyYAML, markdown-it-py (the command parser reads comments as GitHub
renders them) and perfbot's source on sys.path (nothing else).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.github.approval import covers  # noqa: E402 - after the path is set
from bot.github.commands import TRUSTED_PERMISSIONS, parse  # noqa: E402


def default_suite(spec: dict, event: str) -> str:
    suites = spec.get("suites") or ["smoke"]
    if event == "schedule":
        return "full" if "full" in suites else suites[-1]
    return suites[0]


def wanted_runs(
    devices: dict, event: str, device: str = "", suite: str = "", comment: str = "", mention: str = "perfbot"
) -> list[tuple[str, str]]:
    """(device, suite) pairs to run, in devices.yml order, without repeats."""
    enabled = {name: spec for name, spec in devices.items() if spec.get("enabled", True)}
    runs: list[tuple[str, str]] = []
    if event == "issue_comment":
        for command in parse(comment, mention):
            if command.problem or command.verb not in ("rerun", "run"):
                continue
            runs += [
                (name, command.suite or default_suite(spec, event))
                for name, spec in enabled.items()
                if command.device in (None, name)
            ]
    elif event == "workflow_dispatch" and device:
        if device not in devices:
            raise SystemExit(f"plan: device {device!r} is not in devices.yml (known: {', '.join(devices)})")
        runs = [(device, suite or default_suite(devices[device], event))]
    elif event in ("pull_request", "push", "schedule", "workflow_dispatch"):
        runs = [(name, suite or default_suite(spec, event)) for name, spec in enabled.items()]
    else:
        raise SystemExit(f"plan: no plan for event {event!r}")
    runs = [(name, s) for name, s in runs if s in (devices[name].get("suites") or [s])]
    return list(dict.fromkeys(runs))


def head_to_run(event_name: str, event: dict, pull: dict, permission: dict) -> tuple[str, str]:
    """(sha to measure or "", why): see the module docstring. Every input is GitHub's JSON."""
    if event_name not in ("pull_request", "issue_comment"):
        return "", f"no pull request in a {event_name} event"
    base = (event.get("repository") or {}).get("full_name", "")
    head_repo = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    fork = head_repo is None or head_repo.lower() != base.lower()
    if event_name == "pull_request":
        sha = event["pull_request"]["head"]["sha"]
        if fork:
            return "", f"{sha[:10]} comes from a fork: a maintainer's `@perfbot run` comment runs it"
        return sha, "a branch of this repository"
    if pull.get("state") != "open":
        return "", "the pull request is closed"
    comment = event.get("comment") or {}
    who = (comment.get("user") or {}).get("login", "")
    role = permission.get("role_name") or permission.get("permission") or "none"
    if role not in TRUSTED_PERMISSIONS:
        return "", f"@{who} has {role} access; commands need write, maintain or admin"
    sha = pull["head"]["sha"]
    if fork and not covers(comment.get("created_at"), pull.get("updated_at")):
        return "", (
            f"the fork's head is {sha[:10]} and the pull request changed after @{who}'s comment: "
            "comment `@perfbot run` again to approve this head"
        )
    return sha, f"approved by @{who}" if fork else f"requested by @{who}"


def matrix(devices: dict, runs: list[tuple[str, str]]) -> dict:
    """One matrix entry per distinct runner label set."""
    jobs: dict[tuple[str, ...], list[str]] = {}
    for name, suite in runs:
        jobs.setdefault(tuple(devices[name]["runner_labels"]), []).append(f"{name}:{suite}")
    return {
        "include": [
            {"runner": " ".join(labels), "labels": list(labels), "runs": " ".join(items)}
            for labels, items in jobs.items()
        ]
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--devices", type=Path, required=True)
    ap.add_argument("--event", required=True)
    ap.add_argument("--device", default="")
    ap.add_argument("--suite", default="")
    ap.add_argument("--event-path", type=Path, help="the event's JSON ($GITHUB_EVENT_PATH)")
    ap.add_argument("--pull", type=Path, help="GitHub's pull request JSON")
    ap.add_argument("--permission", type=Path, help="the commenter's permission JSON")
    args = ap.parse_args(argv)
    devices = yaml.safe_load(args.devices.read_text())["devices"]
    runs = wanted_runs(
        devices,
        args.event,
        args.device,
        args.suite,
        os.environ.get("COMMENT", ""),
        os.environ.get("PERFBOT_NAME", "perfbot"),
    )
    if args.event_path:
        read = lambda path: json.loads(path.read_text()) if path and path.is_file() and path.read_text().strip() else {}  # noqa: E731
        sha, why = head_to_run(args.event, read(args.event_path), read(args.pull), read(args.permission))
        print(f"perfbot: {'measuring ' + sha[:10] if sha else 'not measuring'}: {why}", file=sys.stderr)
        if not sha:
            runs = []
        print(f"sha={sha}")
    print("matrix=" + json.dumps(matrix(devices, runs), separators=(",", ":")))
    print(f"any={'true' if runs else 'false'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
