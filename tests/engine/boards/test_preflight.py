"""Preflight: what devices.yml may ask for is what preflight can do.

Starting a device's own tracker (own_tracker) is tested with the tracker, in
tests/engine/boards/test_tracker.py; bringing the emulated board up for a
run, in tests/engine/boards/test_emulated_server.py and tests/engine/test_counting.py.
"""

from bot.devices import BRING_UPS
from bot.engine.boards import preflight


def test_every_bring_up_devices_yml_accepts_has_a_way_to_bring_it_up():
    assert set(preflight.BRING_UP) == set(BRING_UPS)
