"""perfbot: a CI bot and performance tracker for Apache TVM's quantized inference on ARM.

This package never imports TVM: the TVM under test runs in child processes
(see bot/child/measure.py), so a crash there is a recorded result, not a crash here.

    engine/        measuring: the TVM under test, children, timing, counting, tuning, bisect, the job worker
    child/         scripts that run inside the TVM under test, never imported by perfbot
    github/        the GitHub side: client, webhook, poll, commands, the comment, publishing
    store/         the only SQL
    cli/           the `perfbot` command, thin
    __main__.py    `python -m bot`

and what every side shares (tests/test_layout.py keeps them free of either side):

    errors.py      perfbot's errors, each with its exit code
    settings.py    settings from the environment, secrets never shown
    devices.py     devices.yml, read and checked without TVM
    vocabulary.py  the words the store, the comment and the dashboard share
    stats.py       the verdict's statistics: one judge_rounds for every caller
    verdicts.py    a PR's verdicts from the store, for the comment, the status and the CLI
    breakdown.py   where a network's time went, layer by layer
    console.py     progress and tables, on a terminal or in a log
    lifecycle.py   every process perfbot starts ends with it
"""

__version__ = "0.1.0"
