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
unreachable GitHub every other item would fail the same way.
"""

from __future__ import annotations

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
