"""Settings from environment variables, read once at start-up.

Every variable perfbot reads is read here (the README's "Environment variables" lists them):
PERFBOT_DB, PERFBOT_DEVICES, PERFBOT_CACHE (else $XDG_CACHE_HOME/perfbot, else ~/.cache/perfbot),
PERFBOT_NAME, PERFBOT_ALLOWLIST, PERFBOT_DASHBOARD_URL, PERFBOT_WEBHOOK_SECRET, GITHUB_TOKEN,
GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY(_FILE), GITHUB_APP_INSTALLATION_ID and GITHUB_API_URL; the CLI
reads PERFBOT_REPO as --repo's default.

Secrets (tokens, keys, the webhook secret) come only from the environment and
are kept out of `repr()` so that they never reach a log line or a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bot.errors import BadSetting

PUBLIC_API = "https://api.github.com"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "perfbot"


@dataclass(frozen=True)
class GitHubSettings:
    """How to reach GitHub. No token and no app means a dry run."""

    api_url: str = PUBLIC_API
    token: str | None = field(default=None, repr=False)
    app_id: str | None = None
    app_private_key: str | None = field(default=None, repr=False)
    app_installation_id: int | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    mention: str = "perfbot"
    allowlist: frozenset[str] = frozenset()
    dashboard_url: str | None = None

    @property
    def dry_run(self) -> bool:
        return not (self.token or (self.app_id and self.app_private_key))


@dataclass(frozen=True)
class Settings:
    """Everything perfbot reads from its environment."""

    db_path: Path
    devices_path: Path | None
    cache_dir: Path
    github: GitHubSettings

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, devices: Path | None = None) -> Settings:
        """`devices` is a devices.yml named on the command line (`--devices`); see `devices_file`."""
        env = os.environ if environ is None else environ
        return cls(
            db_path=Path(env.get("PERFBOT_DB", "perf.db")),
            devices_path=devices_file(env, devices),
            cache_dir=Path(env["PERFBOT_CACHE"]) if env.get("PERFBOT_CACHE") else default_cache_dir(),
            github=_github_settings(env),
        )


def devices_file(env, given: Path | None = None) -> Path | None:
    """Which devices.yml applies, the same way from any folder: the one given on the command line, else
    $PERFBOT_DEVICES, else ./devices.yml, else None: the registry built into perfbot (bot/devices.yml)."""
    if given is not None:
        return Path(given)
    if env.get("PERFBOT_DEVICES"):
        return Path(env["PERFBOT_DEVICES"])
    return Path("devices.yml") if Path("devices.yml").is_file() else None


def _github_settings(env) -> GitHubSettings:
    key = env.get("GITHUB_APP_PRIVATE_KEY")
    key_file = env.get("GITHUB_APP_PRIVATE_KEY_FILE")
    if key_file and not key:
        try:
            key = Path(key_file).read_text()
        except OSError as e:
            raise BadSetting(f"GITHUB_APP_PRIVATE_KEY_FILE={key_file}: cannot read it ({e.strerror})") from None
    installation = env.get("GITHUB_APP_INSTALLATION_ID")
    if installation is not None and not installation.isdigit():
        raise BadSetting(f"GITHUB_APP_INSTALLATION_ID={installation!r}: expected a number")
    app_id = env.get("GITHUB_APP_ID") or None
    if app_id and not key:
        raise BadSetting("GITHUB_APP_ID is set but GITHUB_APP_PRIVATE_KEY_FILE (or GITHUB_APP_PRIVATE_KEY) is not")
    mention = env.get("PERFBOT_NAME", "perfbot").lstrip("@").strip()
    if not mention or any(c.isspace() for c in mention):
        raise BadSetting(f"PERFBOT_NAME={env.get('PERFBOT_NAME')!r}: expected one word, e.g. perfbot")
    allow = env.get("PERFBOT_ALLOWLIST", "")
    return GitHubSettings(
        api_url=(env.get("GITHUB_API_URL") or PUBLIC_API).rstrip("/"),
        token=env.get("GITHUB_TOKEN") or None,
        app_id=app_id,
        app_private_key=key or None,
        app_installation_id=int(installation) if installation else None,
        webhook_secret=env.get("PERFBOT_WEBHOOK_SECRET") or None,
        mention=mention,
        allowlist=frozenset(n.strip().lower() for n in allow.split(",") if n.strip()),
        dashboard_url=(env.get("PERFBOT_DASHBOARD_URL") or "").rstrip("/") or None,
    )
