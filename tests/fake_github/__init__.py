"""A fake GitHub REST server for tests; see server.py. Fixtures live in fixtures.py."""

from tests.fake_github.server import FakeGitHub

__all__ = ["FakeGitHub"]
