"""`@perfbot ...` commands in PR comments: parsing and who may give them.

A command is a line of its own, case-insensitive, anywhere in the comment:

    @perfbot rerun
    @perfbot rerun device=rpi4 suite=smoke
    @perfbot run            (approve a fork PR's current head for running)
    @perfbot cancel
    @perfbot help

Lines inside fenced code blocks and quoted lines ("> ...") are not commands,
so quoting someone's command or the bot's own help does not trigger anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

VERBS = ("rerun", "run", "cancel", "help")
#: GitHub repository roles that may command the bot.
TRUSTED_PERMISSIONS = frozenset({"admin", "maintain", "write"})
OPTIONS = {"rerun": ("device", "suite", "config"), "run": (), "cancel": (), "help": ()}


@dataclass(frozen=True)
class Command:
    verb: str
    options: dict[str, str] = field(default_factory=dict)
    line: str = ""
    problem: str | None = None  # why the line cannot be carried out as written

    @property
    def device(self) -> str | None:
        return self.options.get("device")

    @property
    def suite(self) -> str | None:
        return self.options.get("suite")

    @property
    def config(self) -> str | None:
        return self.options.get("config")


def parse(body: str | None, mention: str = "perfbot") -> list[Command]:
    """Every command line in a comment body, in order."""
    pattern = re.compile(rf"^\s*@{re.escape(mention)}(?=\s|$)(?P<rest>.*)$", re.IGNORECASE)
    commands, fence = [], None
    for raw in (body or "").splitlines():
        stripped = raw.strip()
        marker = re.match(r"^(`{3,}|~{3,})", stripped)
        if marker:
            if fence is None:
                fence = marker.group(1)
            elif stripped.startswith(fence):
                fence = None
            continue
        if fence is not None or stripped.startswith(">"):
            continue
        match = pattern.match(raw)
        if match:
            commands.append(_command(match.group("rest").split(), stripped))
    return commands


def _command(words: list[str], line: str) -> Command:
    if not words:
        return Command("help", line=line, problem="no command given")
    verb = words[0].lower()
    if verb not in VERBS:
        return Command(verb, line=line, problem=f"unknown command {words[0]!r}")
    options: dict[str, str] = {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        key = key.lower()
        if not eq or not value:
            return Command(verb, options, line, f"expected key=value, got {word!r}")
        if key not in OPTIONS[verb]:
            allowed = ", ".join(OPTIONS[verb]) or "none"
            return Command(verb, options, line, f"{verb} takes no option {key!r} (options: {allowed})")
        options[key] = value
    return Command(verb, options, line)


def may_command(permission: str | None, login: str, allowlist: frozenset[str] = frozenset()) -> bool:
    """Write, maintain or admin on the repository, or a name in the allowlist."""
    return (permission or "none") in TRUSTED_PERMISSIONS or login.lower() in allowlist


def help_text(mention: str = "perfbot") -> str:
    return "\n".join(
        [
            "perfbot measures quantized conv2d and Inception-v3 with this PR's TVM against its base branch and TFLite.",
            "Commands (one per line, for people with write access to the repository):",
            "",
            "```",
            f"@{mention} rerun                          run everything again for the head commit",
            f"@{mention} rerun device=NAME suite=NAME   only that device and/or suite (suite: smoke, conv, full)",
            f"@{mention} run                            approve this fork PR's current head commit for running",
            f"@{mention} cancel                         cancel this PR's queued and running jobs",
            f"@{mention} help                           this text",
            "```",
        ]
    )
