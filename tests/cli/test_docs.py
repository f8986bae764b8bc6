"""The CLI documents itself, and the README shows only what the CLI has (after sqlite-utils' test_docs.py).

Every command and subcommand of `perfbot` has help text, and so has every
option. Every `perfbot ...` line in the README's shell blocks names a command
that exists, with options that command has: each line is parsed by click
itself (`make_context`), as `perfbot` would parse it, without running it.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

#: Fenced blocks a shell reads (```sh and its synonyms).
SHELL_BLOCK = re.compile(r"^```(?:sh|shell|bash|console|zsh)[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: What ends one command of a shell line.
CONTROL = {"&&", "||", ";", "|", "&", "(", ")"}


def commands(group: click.Group = main, path: tuple[str, ...] = ("perfbot",)):
    """(path, command) for the group and every command below it, depth first."""
    yield path, group
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = list(commands())


def ids(items):
    return [" ".join(path) for path, _ in items]


def perfbot_invocations(line: str) -> list[list[str]]:
    """The arguments of every `perfbot` command on one shell line.

    `perfbot`, `.venv/bin/perfbot` and `python -m bot` count; comments after `#`,
    a leading `$ ` prompt, environment assignments and commands chained with
    `&&`, `;` or `|` are understood.
    """
    line = line.strip()
    if line.startswith("$ "):
        line = line[2:]
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words, found, current = list(lexer), [], []
    for word in [*words, ";"]:
        if word not in CONTROL:
            current.append(word)
            continue
        for i, token in enumerate(current):
            if Path(token).name == "perfbot":
                found.append(current[i + 1 :])
                break
            if token == "-m" and current[i + 1 : i + 2] == ["bot"]:
                found.append(current[i + 2 :])
                break
        current = []
    return found


def readme_invocations(text: str) -> list[tuple[str, list[str]]]:
    """(line, arguments) for every `perfbot` command in the text's shell blocks."""
    found = []
    for block in SHELL_BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            found += [(line.strip(), args) for args in perfbot_invocations(line)]
    return found


def problem(args: list[str]) -> str | None:
    """Why `perfbot ARGS` would be refused by click as typed, or None when it parses.

    Only the command line is judged, not the machine: a path that does not exist
    here (`tuning import export.tar.gz`) is fine, and so is a required option that
    an environment variable can give (`watch` with $PERFBOT_REPO).
    """
    command, name, parent, args = main, "perfbot", None, list(args)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            while isinstance(command, click.Group):
                if not args:
                    return None  # a bare group shows its help
                ctx = command.make_context(name, list(args), parent=parent)
                position = len(args) - len(ctx.args) - 1  # groups stop at their first non-option word
                if position < 0 or args[position].startswith("-"):
                    return None  # only the group's own options, e.g. `perfbot --version`
                name, command, _ = command.resolve_command(ctx, args[position:])
                parent, args = ctx, ctx.args
            command.make_context(name, list(args), parent=parent)
    except click.exceptions.Exit:
        return None  # --help, --version
    except click.exceptions.NoArgsIsHelpError:
        return None
    except click.MissingParameter as e:
        if e.param is not None and getattr(e.param, "envvar", None):
            return None
        return e.format_message()
    except click.BadParameter as e:
        if e.param is not None and isinstance(e.param.type, click.Path):
            return None
        return e.format_message()
    except click.UsageError as e:
        return e.format_message()
    return None


@pytest.mark.parametrize("path, command", COMMANDS, ids=ids(COMMANDS))
def test_every_command_has_help(path, command):
    assert (command.help or "").strip(), f"`{' '.join(path)}` has no help: give its function a docstring"
    assert command.get_short_help_str().strip()


@pytest.mark.parametrize("path, command", COMMANDS, ids=ids(COMMANDS))
def test_every_option_has_help(path, command):
    bare = [p.opts[0] for p in command.params if isinstance(p, click.Option) and not (p.help or "").strip()]
    assert not bare, f"`{' '.join(path)}`: options without help text: {', '.join(bare)}"


@pytest.mark.parametrize("path, command", COMMANDS, ids=ids(COMMANDS))
def test_every_help_page_renders(path, command):
    result = CliRunner().invoke(main, [*path[1:], "--help"])
    assert result.exit_code == 0, result.output
    assert (command.help or "").split("\n")[0].strip().split()[0] in result.output


def test_the_top_level_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name, command in main.commands.items():
        if not command.hidden:
            assert re.search(rf"^\s+{re.escape(name)}\s", result.output, re.MULTILINE), name


README_LINES = readme_invocations(README.read_text())


def test_the_readme_shows_perfbot_commands():
    assert README_LINES, "no `perfbot ...` line in any ```sh block of README.md: is the parser broken?"


@pytest.mark.parametrize("line, args", README_LINES, ids=[line for line, _ in README_LINES])
def test_every_command_the_readme_shows_exists_with_its_options(line, args):
    assert problem(args) is None, f"README.md: `{line}`: {problem(args)}"


# The checker itself -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, expected",
    [
        ("perfbot run", [["run"]]),
        (".venv/bin/perfbot run --suite conv", [["run", "--suite", "conv"]]),
        ("perfbot run --suite full   # ... and the whole network", [["run", "--suite", "full"]]),
        ("$ perfbot status", [["status"]]),
        ("python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/perfbot run", [["run"]]),
        ("PERFBOT_DB=x.db perfbot status; perfbot devices --json | jq .", [["status"], ["devices", "--json"]]),
        ('perfbot history --versions "0.25.0 0.26.0" --suite smoke', [["history", "--versions", "0.25.0 0.26.0", "--suite", "smoke"]]),
        (".venv/bin/python -m bot tuning show", [["tuning", "show"]]),
        ("sh .ci/run", []),
        ("# perfbot run, in a comment", []),
        (".venv/bin/python benchmarks/harness_overhead.py --runs 2", []),
    ],
)  # fmt: skip
def test_shell_lines_are_read_as_a_shell_would(line, expected):
    assert perfbot_invocations(line) == expected


def test_shell_blocks_only_and_continuation_lines():
    text = (
        "Prose mentions `perfbot frobnicate`.\n\n"
        "```python\nperfbot = 1\n```\n\n"
        "```sh\nperfbot run \\\n  --suite conv\n```\n"
    )
    assert readme_invocations(text) == [("perfbot run    --suite conv", ["run", "--suite", "conv"])]


@pytest.mark.parametrize(
    "args",
    [
        ["run"],
        ["-v", "run", "--suite", "conv", "--device", "local", "--tuning"],
        ["--version"],
        ["run", "--help"],
        ["tuning", "import", "no-such-export.tar.gz"],
        ["tuning"],
        ["watch", "--once"],  # --repo can come from $PERFBOT_REPO
        ["history", "--versions", "0.26.0 0.27.0.post1"],
        [],
    ],
)
def test_lines_perfbot_takes(args):
    assert problem(args) is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["frobnicate"], "No such command"),
        (["tuning", "frobnicate"], "No such command"),
        (["run", "--no-such-option"], "No such option"),
        (["run", "--trials", "4"], "No such option"),
        (["tune", "--trials", "many"], "many"),
        (["run", "--kind", "nightly"], "nightly"),
        (["history"], "--versions"),
        (["report", "--repo", "apache/tvm"], "--pr"),
        (["status", "extra"], "extra"),
    ],
)
def test_lines_perfbot_refuses(args, message):
    assert message in (problem(args) or "")
