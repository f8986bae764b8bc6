"""The fork servers of one PR job: a pair of servers for each pair of an item's children, started when needed.

A forked child inherits its fork server's address space, and with it much of
a process's lifelong luck (bot/engine/timing.py), so the pairs of children
whose rounds a verdict counts as independent (bot/stats.judge_rounds) come
from servers of their own. The i-th pair of children of every item is forked
from the i-th pair of servers: a job starts as many pairs of servers as its
most-timed item needed pairs of children (two servers start in about 2.5 s
here), not one pair of servers per pair of children.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.engine.isolation import ForkServer


class ServerPairs:
    """The job's pairs of fork servers, in the order first asked for. `start(i)` makes and starts pair i as
    [PR's server, base's server] (or [the build's server] for a run alone), and kills what it made if it fails."""

    def __init__(self, start: Callable[[int], list[ForkServer]]):
        self._start = start
        self._pairs: list[list[ForkServer]] = []
        self._ended = False

    def servers(self, index: int) -> list[ForkServer]:
        """Pair `index`, started now if it is the first time it is asked for. Once the job's servers are
        ended, asking is a bug in the caller: a closed server would start a session of its own again."""
        if self._ended:
            raise RuntimeError("the job's fork servers are already ended; ask for pairs before close() or kill()")
        while len(self._pairs) <= index:
            self._pairs.append(self._start(len(self._pairs)))
        return self._pairs[index]

    def __call__(self, index: int) -> tuple[ForkServer, ForkServer]:
        """(base's server, PR's server) of pair `index`, as bot/engine/timing.time_pair asks for them."""
        pr, base = self.servers(index)
        return base, pr

    @property
    def started(self) -> int:
        return len(self._pairs)

    def close(self) -> None:
        """Ask every server to end once its child is done (the run is over)."""
        self._ended = True
        for servers in self._pairs:
            for server in servers:
                server.close()

    def kill(self) -> None:
        """End every server and its child now (an exception, Ctrl-C, SIGTERM)."""
        self._ended = True
        for servers in self._pairs:
            for server in servers:
                server.kill()
