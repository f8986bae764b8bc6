"""`@perfbot ...` commands in PR comments: what they are, how they are read, and who may give them.

A command is plain text on a line of its own, case-insensitive, anywhere in the comment:

    @perfbot rerun
    @perfbot rerun device=rpi4 suite=smoke
    @perfbot run            (approve a fork PR's current head for running)
    @perfbot cancel
    @perfbot help

Comments are read the way GitHub renders them (CommonMark, by markdown-it-py): only lines of
top-level paragraphs count. A line inside a code block (fenced, or indented four spaces after
a blank line), a code span, a quote, a list, a heading, an HTML comment or block, or a link is
not a command, so quoting someone's command or the bot's own help does not trigger anything.

The verbs are objects (`VERBS`): name, options, who may give it, and the bot method that does it;
the help text and the answers to unknown verbs and options are derived from them.
This module is also imported by workflows/plan.py, which has only PyYAML, markdown-it-py and
perfbot's source: it imports nothing else of perfbot but the vocabulary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

from bot.vocabulary import PIPELINES, SUITES

#: GitHub repository roles that may command the bot.
TRUSTED_PERMISSIONS = frozenset({"admin", "maintain", "write"})
ANYONE, WRITERS = "anyone", "writers"


@dataclass(frozen=True)
class Option:
    """A `key=VALUE` a verb takes; `choices` None means the bot checks the value (devices)."""

    name: str
    summary: str
    choices: tuple[str, ...] | None = None

    def problem(self, value: str) -> str | None:
        if self.choices is not None and value not in self.choices:
            return f"unknown {self.name} `{value}` (known: {', '.join(self.choices)})"
        return None


@dataclass(frozen=True)
class Verb:
    name: str
    summary: str
    does: str  # the bot.github.bot.Bot method that carries it out
    options: tuple[Option, ...] = ()
    who: str = WRITERS

    @property
    def option_names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.options)

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)


DEVICE = Option("device", "a device of devices.yml")
SUITE = Option("suite", "a suite", SUITES)
CONFIG = Option("config", "a configuration", PIPELINES)

VERBS: tuple[Verb, ...] = (
    Verb("rerun", "run everything again for the head commit", "do_rerun", (DEVICE, SUITE, CONFIG)),
    Verb("run", "approve this fork PR's current head commit for running", "do_run"),
    Verb("cancel", "cancel this PR's queued and running jobs", "do_cancel"),
    Verb("help", "this text", "do_help", who=ANYONE),
)
BY_NAME = {verb.name: verb for verb in VERBS}


@dataclass(frozen=True)
class Command:
    verb: str
    options: dict[str, str] = field(default_factory=dict)
    line: str = ""
    problem: str | None = None  # why the line cannot be carried out as written

    @property
    def spec(self) -> Verb | None:
        return BY_NAME.get(self.verb)

    @property
    def device(self) -> str | None:
        return self.options.get("device")

    @property
    def suite(self) -> str | None:
        return self.options.get("suite")

    @property
    def config(self) -> str | None:
        return self.options.get("config")


_MARKDOWN = MarkdownIt("commonmark")


def plain_lines(body: str | None) -> list[str]:
    """The lines of a comment that GitHub shows as plain text in a top-level paragraph, stripped."""
    tokens = _MARKDOWN.parse(body or "")
    lines: list[str] = []
    for previous, token in zip([None, *tokens], tokens):
        if token.type != "inline" or token.level != 1 or previous is None or previous.type != "paragraph_open":
            continue
        parts: list[str] = []
        plain = True
        for child in [*(token.children or []), None]:
            if child is None or child.type in ("softbreak", "hardbreak"):
                if plain and parts:
                    lines.append("".join(parts).strip())
                parts, plain = [], True
            elif child.type in ("text", "text_special"):
                parts.append(child.content)
            else:  # code spans, inline HTML (comments too), links, images, emphasis: not plain text
                plain = False
    return lines


def parse(body: str | None, mention: str = "perfbot") -> list[Command]:
    """Every command line in a comment body, in order."""
    pattern = re.compile(rf"^@{re.escape(mention)}(?=\s|$)(?P<rest>.*)$", re.IGNORECASE)
    commands = []
    for line in plain_lines(body):
        match = pattern.match(line)
        if match:
            commands.append(_command(match.group("rest").split(), line))
    return commands


def _command(words: list[str], line: str) -> Command:
    if not words:
        return Command("help", line=line, problem="no command given")
    verb = BY_NAME.get(words[0].lower())
    if verb is None:
        return Command(words[0].lower(), line=line, problem=f"unknown command {words[0]!r}")
    options: dict[str, str] = {}
    for word in words[1:]:
        key, eq, value = word.partition("=")
        key = key.lower()
        if not eq or not value:
            return Command(verb.name, options, line, f"expected key=value, got {word!r}")
        option = verb.option(key)
        if option is None:
            allowed = ", ".join(verb.option_names) or "none"
            return Command(verb.name, options, line, f"{verb.name} takes no option {key!r} (options: {allowed})")
        options[key] = value
    return Command(verb.name, options, line)


def value_problem(command: Command) -> str | None:
    """An option value outside its verb's choices (e.g. an unknown suite), as the bot answers it."""
    spec = command.spec
    for key, value in command.options.items():
        option = spec.option(key) if spec else None
        problem = option.problem(value) if option else None
        if problem:
            return problem
    return None


def may_command(permission: str | None, login: str, allowlist: frozenset[str] = frozenset()) -> bool:
    """Write, maintain or admin on the repository, or a name in the allowlist."""
    return (permission or "none") in TRUSTED_PERMISSIONS or login.lower() in allowlist


def help_text(mention: str = "perfbot") -> str:
    """The commands, from VERBS: one line per verb, and one more with its options."""
    rows: list[tuple[str, str]] = []
    for verb in VERBS:
        rows.append((f"@{mention} {verb.name}", verb.summary))
        if verb.options:
            usage = " ".join(f"{o.name}=NAME" for o in verb.options)
            choices = "; ".join(f"{o.name}: {', '.join(o.choices)}" for o in verb.options if o.choices)
            names = ", ".join(o.name for o in verb.options[:-1]) + f" and/or {verb.options[-1].name}"
            rows.append((f"@{mention} {verb.name} {usage}", f"only that {names}, any of them ({choices})"))
    width = max(len(usage) for usage, _ in rows) + 3
    return "\n".join(
        [
            "perfbot measures quantized conv2d and Inception-v3 with this PR's TVM against its base branch and TFLite.",
            "Commands (one per line, for people with write access to the repository"
            + "".join(f"; {v.name} is for anyone" for v in VERBS if v.who == ANYONE)
            + "):",
            "",
            "```",
            *(f"{usage.ljust(width)}{summary}" for usage, summary in rows),
            "```",
        ]
    )
