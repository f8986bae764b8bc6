"""The job matrix for perfbot's workflows: which device runs which suite, one job per runner.

    python3 perfbot/workflows/plan.py --devices perfbot/devices.yml --event EVENT \\
        [--device NAME] [--suite NAME] >> "$GITHUB_OUTPUT"

EVENT is the GitHub event that started the workflow:

- pull_request, push: every enabled device with its first suite (smoke);
- schedule: every enabled device with `full` where it runs it (its last suite otherwise);
- workflow_dispatch: --device (empty: every enabled device) with --suite;
- issue_comment: the `@perfbot rerun [device=D] [suite=S]` and `@perfbot run` lines of
  the comment in $COMMENT (untrusted text: it is only parsed, by bot/github/commands.py, the
  parser the bot itself uses); other commands (cancel, help) are the service's.

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

from bot.github.commands import parse  # noqa: E402 - after the path is set


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
    print("matrix=" + json.dumps(matrix(devices, runs), separators=(",", ":")))
    print(f"any={'true' if runs else 'false'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
