"""The GitHub side: pull requests and base-branch pushes in, jobs queued, comments and statuses out.

    client.py     GitHub's REST API through PyGithub (the only module that imports it)
    events.py     the events the bot acts on, parsed from webhook payloads and polls
    webhook.py    the webhook receiver: signatures checked, events parsed, handed on
    poll.py       `perfbot watch`: open PRs, their comments and the base branch, polled
    commands.py   `@perfbot ...` in PR comments: the verbs, how they are read, who may give them
    approval.py   whether a maintainer's `@perfbot run` covers a fork PR's head
    bot.py        what happens when a PR opens, gets a push or a comment, or closes
    retry.py      one retry policy for the inbox (events) and the outbox (PRs to publish)
    comment.py    the sticky PR comment's markdown and the commit statuses' lines
    publish.py    every PR's comment and statuses brought up to date with the database
    bisect_report.py  a found first bad commit, posted once on the PR that brought it
    service.py    the long-running commands: watch, serve, and enqueue and report by hand

What it may import: the shared modules at the top of `bot/` (errors, settings,
devices, vocabulary, verdicts, stats, console, lifecycle) and the store. What
it may not: the engine (`bot.engine`), the child scripts (`bot.child`) or the
CLI. It queues jobs and reads their results from the store; the job worker,
in the engine, runs them. tests/test_layout.py keeps it so.
"""
