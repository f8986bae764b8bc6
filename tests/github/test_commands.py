"""`@perfbot` command parsing and who may give commands."""

import pytest

from bot.github import commands


@pytest.mark.parametrize(
    "body, expected",
    [
        ("@perfbot rerun", [("rerun", {})]),
        ("@PerfBot ReRun", [("rerun", {})]),
        ("LGTM\n  @perfbot rerun device=rpi4 suite=smoke  \nthanks", [("rerun", {"device": "rpi4", "suite": "smoke"})]),
        ("@perfbot run\n@perfbot help", [("run", {}), ("help", {})]),
        ("@perfbot cancel", [("cancel", {})]),
        ("please @perfbot rerun", []),  # not on a line of its own
        ("> @perfbot rerun", []),  # quoted
        ("```\n@perfbot rerun\n```", []),  # in a code block
        ("~~~~\n@perfbot rerun\n~~~~\n@perfbot cancel", [("cancel", {})]),
        ("LGTM\n\n    @perfbot rerun", []),  # an indented code block, as GitHub renders it
        ("LGTM\n    @perfbot rerun", [("rerun", {})]),  # indented, but a paragraph's next line: plain text
        ("<!--\n@perfbot rerun\n-->\n@perfbot cancel", [("cancel", {})]),  # a multi-line HTML comment
        ("see <!--\n@perfbot rerun\n--> there", []),  # an inline one, over lines
        ("<details>\n@perfbot rerun\n</details>", []),  # an HTML block
        ("`@perfbot rerun`", []),  # a code span
        ("[@perfbot rerun](https://example.org)", []),  # a link
        ("<https://x.org/@perfbot>", []),
        ("# @perfbot rerun", []),  # a heading
        ("- @perfbot rerun", []),  # a list item
        ("> quoted\n>\n> @perfbot rerun", []),
        ("@perfbot rerun *now*", []),  # formatted, not plain text
        ("@perfbot rerun\r\n@perfbot help\r\n", [("rerun", {}), ("help", {})]),  # GitHub sends CRLF
        ("```\n@perfbot rerun\n", []),  # a fence never closed runs to the end
        ("@perfbotx rerun", []),
        ("@perfbot-ci rerun", []),
        ("", []),
        (None, []),
    ],
)
def test_parse(body, expected):
    found = commands.parse(body)
    assert [(c.verb, c.options) for c in found if c.problem is None] == expected
    assert all(c.problem is None for c in found)


@pytest.mark.parametrize(
    "line, problem",
    [
        ("@perfbot deploy", "unknown command 'deploy'"),
        ("@perfbot rerun device", "expected key=value, got 'device'"),
        ("@perfbot rerun color=red", "rerun takes no option 'color' (options: device, suite, config)"),
        ("@perfbot run device=x", "run takes no option 'device' (options: none)"),
        ("@perfbot", "no command given"),
    ],
)
def test_problems_are_reported_not_guessed(line, problem):
    [command] = commands.parse(line)
    assert command.problem == problem and command.line == line


def test_mention_is_configurable():
    assert [c.verb for c in commands.parse("@tvm-perf rerun\n@perfbot cancel", "tvm-perf")] == ["rerun"]


@pytest.mark.parametrize(
    "permission, login, allow, ok",
    [
        ("admin", "a", set(), True),
        ("maintain", "a", set(), True),
        ("write", "a", set(), True),
        ("triage", "a", set(), False),
        ("read", "a", set(), False),
        ("none", "a", set(), False),
        (None, "a", set(), False),
        ("read", "Friend", {"friend"}, True),
    ],
)
def test_who_may_command(permission, login, allow, ok):
    assert commands.may_command(permission, login, frozenset(allow)) is ok


def test_help_lists_every_verb_with_the_mention():
    text = commands.help_text("tvm-perf")
    for verb in commands.VERBS:
        assert f"@tvm-perf {verb.name}" in text
        assert verb.summary in text
    assert commands.parse(text, "tvm-perf") == []  # its own examples sit in a code block
