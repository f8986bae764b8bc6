"""Whether a maintainer's `@perfbot run` covers a fork PR's head: only the head they could have seen.

The push time of a head is taken from GitHub, never from the bot's clock (the bot may see a push
a poll interval late, or, with a lost `synchronize` delivery, only when the command arrives):
it is the PR's `updated_at` in the first GitHub answer that showed that head, kept as the
pull request's `head_at`.

- In a `synchronize` (or `opened`) delivery, `updated_at` is the push itself.
- In a REST answer (a poll, or the read the bot makes before acting on a command), it is the
  PR's last change at that moment: the push or something after it, so never earlier than the
  push. A comment bumps it too, so right after an approval with nothing else happening it
  equals the approval's `created_at`.

An approval written at time C covers head H when `head_at(H) <= C`: H was on GitHub when the
comment was written. Seen through `updated_at`, a push after the comment always makes
`head_at > C`, so pushed code is never approved by an older comment. The price: when the bot
first learns of H only after the PR changed again after the approval (another comment), it
cannot tell the order and refuses, asking for a new `@perfbot run`.

Why not the timeline: its `committed` events carry the commit's own dates, which the pusher
writes (a commit can claim any date), and `head_ref_force_pushed` exists only for force pushes.
GitHub's times have whole seconds: a push in the very same second as the approval cannot be
told from one just before it.
"""

from __future__ import annotations

from datetime import datetime


def covers(comment_at: str | None, head_at: str | None) -> bool:
    """Whether a comment written at `comment_at` approves a head GitHub had at `head_at` (unknown: no)."""
    comment, head = _time(comment_at), _time(head_at)
    return comment is not None and head is not None and head <= comment


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def earlier(a: str | None, b: str | None) -> bool:
    """Whether GitHub time `a` is before `b` (unknown times: no)."""
    first, second = _time(a), _time(b)
    return first is not None and second is not None and first < second
