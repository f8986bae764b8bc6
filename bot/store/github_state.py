"""What the bot remembers about GitHub: pull requests, its sticky comments, approvals, deliveries."""

from __future__ import annotations

from typing import Any


class GitHubState:
    db: Any
