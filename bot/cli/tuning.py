"""`perfbot tuning show|export|import`: the devices' tuning databases, as one file for a fleet of hosts."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from bot import console
from bot.cli.setup import settings


@click.group()
def tuning():
    """The tuning databases: what they hold, and moving them between hosts."""


@tuning.command("show")
def show():
    """Every device's database: where it is, and who tuned it with which TVM (its provenance)."""
    from bot.engine import tuning_databases

    rows = tuning_databases.databases(settings().cache_dir)
    if not rows:
        console.console.print("no tuning databases yet; `perfbot tune` makes one")
        return
    table = Table(title="tuning databases", title_justify="left")
    for column in ("device", "records", "tuned with", "trials", "last tuned", "folder"):
        table.add_column(column)
    for row in rows:
        last = row["provenance"][-1] if row["provenance"] else {}
        tvm = f"TVM {last.get('tvm_version', '?')} {str(last.get('tvm_commit') or '')[:10]}".strip()
        table.add_row(row["device"], str(row["records"]), escape(tvm), str(last.get("trials", "?")),
                      last.get("date", "?"), str(row["folder"]))  # fmt: skip
    console.console.print(table)


@tuning.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export(out):
    """Write every device's database, with its provenance, to one .tar.gz."""
    from bot.engine import tuning_databases

    exported = tuning_databases.export_databases(settings().cache_dir, out)
    console.console.print(f"{out}: the databases of {', '.join(exported) or 'no device'}")


@tuning.command("import")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(archive):
    """Unpack an export into this host's cache, replacing the databases it holds."""
    from bot.engine import tuning_databases

    cache_dir = settings().cache_dir
    folders = tuning_databases.import_databases(cache_dir, archive)
    console.console.print(f"{archive}: imported {len(folders)} database{'s' if len(folders) != 1 else ''} into "
                          f"{cache_dir / 'tuning'}", markup=False, soft_wrap=True)  # fmt: skip
    for folder in folders:  # one per line, as `tuning show` names them
        console.console.print(f"  {folder}", markup=False, soft_wrap=True)


COMMANDS = (tuning,)
