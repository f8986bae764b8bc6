"""Shared fixtures. Plugins below keep each area's fixtures next to its own code."""

pytest_plugins = ["tests.fake_github.fixtures"]
