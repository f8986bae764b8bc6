"""The store's tests share one fixture: a new database in a file on disk, closed after the test."""

import pytest

from bot.store import Store


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "perf.db")
    yield store
    store.close()
