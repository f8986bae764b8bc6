"""`perfbot dashboard`: the static plotly site from the database."""

from __future__ import annotations

from pathlib import Path

import click

from bot import console
from bot.cli import setup
from bot.cli.options import db_option, devices_option, repo_option
from bot.settings import Settings


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("site"),
    show_default=True,
    help="Folder for the static site.",
)
@db_option
@devices_option
@repo_option(required=False)
def dashboard(out_dir, db_path, repo):
    """Build the static plotly trend pages from the database."""
    build_dashboard(setup.settings(), out_dir, db_path, repo)


COMMANDS = (dashboard,)


def build_dashboard(settings: Settings, out_dir: Path, db_path: Path | None, repo: str | None) -> None:
    from dashboard.build import build_site

    db = setup.database(settings, db_path, create=False)
    report = build_site(db, out_dir, repo=repo, registry=setup.registry(settings))
    console.console.print(f"{report.summary()}; open {out_dir / 'index.html'}")
