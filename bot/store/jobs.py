"""The job queue: one job per (repo, sha, device, suite, config), claimed with a lease."""

from __future__ import annotations

from typing import Any


class Jobs:
    db: Any
