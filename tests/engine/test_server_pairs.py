"""A job's pairs of fork servers: started when first asked for, one per index, all ended with the job."""

import pytest

from bot.child import MEASURE_SCRIPT
from bot.engine import isolation
from bot.engine.server_pairs import ServerPairs


@pytest.fixture
def pairs(tmp_path, bot_python):
    """Real fork servers of the dev install's TVM, [PR's, base's] per pair as the runner makes them."""
    asked: list[int] = []

    def start(index: int) -> list[isolation.ForkServer]:
        asked.append(index)
        servers = [isolation.ForkServer(bot_python, MEASURE_SCRIPT, tmp_path / f"p{index}" / name)
                   for name in ("server", "base-server")]  # fmt: skip
        for server in servers:
            server.launch()
        return servers

    made = ServerPairs(start)
    yield made, asked
    made.kill()


def test_pairs_start_in_order_when_first_asked_for_and_once(pairs):
    made, asked = pairs
    assert made.started == 0
    third = made.servers(2)
    assert asked == [0, 1, 2] and made.started == 3
    assert made.servers(2) is third and made.servers(0) is not made.servers(1) and asked == [0, 1, 2]
    base, pr = made(1)  # as time_pair asks: the base's server first
    assert (pr, base) == tuple(made.servers(1)) and {s.workdir.parent.name for s in (pr, base)} == {"p1"}
    assert len({s.proc.pid for pair in range(3) for s in made.servers(pair)}) == 6  # six interpreters


def test_close_and_kill_end_every_server_of_every_pair(pairs):
    made, _ = pairs
    procs = [s.proc for pair in range(2) for s in made.servers(pair)]
    made.close()
    assert all(p.poll() is not None for p in procs)
    with pytest.raises(RuntimeError, match="already ended"):  # a closed server is never started again
        made.servers(1)
    assert made.started == 2
    made.kill()  # and ending twice is harmless
