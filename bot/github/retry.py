"""When the bot tries again: one policy for its inbox (events to handle) and its outbox (PRs to publish).

Work that failed is kept and comes due again later; nothing here sleeps.

- A rate limit: due again when GitHub said it resets (`RateLimited.reset_at`), not before.
- GitHub down or refusing: exponential backoff with jitter, computed by tenacity's
  `wait_exponential_jitter` (5 s, 10 s, 20 s, ... up to 10 minutes, plus up to 5 s of jitter so
  that many items do not come due in the same instant).
- A bug (any other exception): the same backoff, but given up after `bug_attempts`: a bug
  does not heal by waiting, and the traceback is in the log.
- Given up: an inbox event is marked failed (`perfbot status` counts them); an outbox entry
  is parked until the PR is marked again (a new result or push publishes it afresh).

`stops_round` says whether the rest of a round should wait too: after a rate limit or an
unreachable GitHub every other item would fail the same way. `drain` works off a round of
due items (the inbox's events, the outbox's PRs) by these rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import tenacity

from bot.errors import GitHubError
from bot.github.client import GitHubUnavailable, RateLimited

#: `next_attempt` of work given up on: never due by time again.
NEVER = float("inf")


@dataclass(frozen=True)
class RetryPolicy:
    first_s: float = 5.0
    max_s: float = 600.0
    jitter_s: float = 5.0
    github_attempts: int = 20
    bug_attempts: int = 3

    def __post_init__(self) -> None:
        if self.github_attempts < 1 or self.bug_attempts < 1:
            raise ValueError(
                f"RetryPolicy: github_attempts={self.github_attempts}, bug_attempts={self.bug_attempts}: "
                "at least one attempt each"
            )

    def wait_s(self, attempts: int) -> float:
        """Seconds before the next try, after `attempts` failed ones (1 = the first failure)."""
        wait = tenacity.wait_exponential_jitter(multiplier=self.first_s, max=self.max_s, jitter=self.jitter_s)
        state = tenacity.RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
        state.attempt_number = max(1, attempts)
        return wait(state)

    def next_attempt(self, error: BaseException, attempts: int, now: float) -> float:
        """When to try again after the `attempts`-th failure (a unix time), or NEVER when giving up."""
        limit = self.github_attempts if isinstance(error, GitHubError) else self.bug_attempts
        if attempts >= limit:
            return NEVER
        if isinstance(error, RateLimited) and error.reset_at:
            return error.reset_at
        return now + self.wait_s(attempts)

    @staticmethod
    def stops_round(error: BaseException) -> bool:
        return isinstance(error, (RateLimited, GitHubUnavailable))


DEFAULT = RetryPolicy()


def drain(
    items: Iterable[dict],
    handle: Callable[[dict], None],
    *,
    done: Callable[[dict], None],
    failed: Callable[[dict, str, float], None],
    policy: RetryPolicy,
    clock: Callable[[], float],
    what: Callable[[dict], str],
    log: logging.Logger,
) -> int:
    """Handle each due item; a failure is kept with its error and when it comes due again, never raised.

    GitHub's trouble is a warning (it waits, see the module docstring); any other exception is logged with
    its traceback, since it is a bug. After a rate limit or an unreachable GitHub the rest of the round
    waits too. `failed(item, error, retry_at)` keeps the failure; returns how many items were handled.
    """
    handled = 0
    for item in items:
        try:
            handle(item)
        except Exception as e:  # noqa: BLE001 - GitHub trouble waits; a bug in one item must not hold up the others
            retry_at = policy.next_attempt(e, item["attempts"] + 1, clock())
            if isinstance(e, GitHubError):
                log.warning("%s deferred: %s", what(item), e)
                error = str(e)
            else:
                log.exception("%s failed", what(item))
                error = f"{type(e).__name__}: {e}"
            failed(item, error, retry_at)
            if policy.stops_round(e):
                break  # the others would fail the same way; they stay due for the next round
            continue
        done(item)
        handled += 1
    return handled
