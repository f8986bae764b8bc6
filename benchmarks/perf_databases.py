"""Opening the perf databases a reading script is pointed at: each missing or foreign file named in one line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.errors import DatabaseError  # noqa: E402
from bot.store import Store  # noqa: E402


def each_store(paths: list[Path], script: str) -> Iterator[tuple[Path, Store]]:
    """(path, store) per database, in order; every path is checked before the first is read, so a typo in the
    last one stops the script before it prints anything. bot/store migrates a database an older perfbot wrote."""
    for path in paths:
        if not path.is_file():
            raise SystemExit(f"{script}: {path}: no such database")
    for path in paths:
        try:
            yield path, Store.open(path, create=False)
        except DatabaseError as e:
            raise SystemExit(f"{script}: {e}") from None
