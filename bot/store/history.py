"""Read-only queries over recorded history, for the dashboard and statistics."""

from __future__ import annotations

from typing import Any


class History:
    db: Any
