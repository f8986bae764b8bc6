"""`perfbot build` and `perfbot builds`: one commit's TVM from the build cache, and what the cache holds."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.markup import escape
from rich.table import Table

from bot import console
from bot.cli.options import settings
from bot.errors import UnknownName


def _checkout_and_ref(value: str) -> tuple[Path, str]:
    checkout, at, ref = value.rpartition("@")
    if not at or not checkout or not ref:
        raise UnknownName(f"{value!r}: expected CHECKOUT@COMMIT, e.g. ~/src/tvm@main or ~/src/tvm@3f2a9c81")
    return Path(checkout).expanduser(), ref


@click.command()
@click.argument("commit", metavar="CHECKOUT@COMMIT")
@click.option(
    "--native-from",
    "native_from",
    default=None,
    metavar="SPEC",
    help="Use a released TVM's libraries as this commit's native build instead of building C++: "
    "pip:apache-tvm==X or python:PATH (sound only when the commit's native sources are the release's; checked).",
)
@click.option("--force", is_flag=True, help="With --native-from: register even when the runtime sources differ.")
@click.option("--rebuild", is_flag=True, help="Throw away what the cache has for this commit (also a broken build).")
def build(commit, native_from, force, rebuild):
    """Build (or find) one commit's TVM in the build cache, and say how it was made."""
    from bot.engine import builds
    from bot.engine.builds import native

    cache_dir = settings().cache_dir
    checkout, ref = _checkout_and_ref(commit)
    say = lambda line: console.errors.print(f"[dim]{escape(line)}[/]")  # noqa: E731
    started = time.monotonic()
    resolved = builds.resolve(checkout, ref)
    if native_from:
        if rebuild:
            native.forget(cache_dir, resolved.native_key)
        native.register_wheel(resolved, native_from, cache_dir, say, force=force)
    env = builds.environment_of(resolved, cache_dir, say, rebuild=rebuild and not native_from)
    console.console.print(
        f"{resolved.checkout}@{resolved.short}: TVM ready in {time.monotonic() - started:.1f} s\n"
        f"  native build {env.build['native_key']} ({env.build['how']})\n"
        f"  python/ tree {env.build['python_tree'][:12]} laid over it\n"
        f"  run it with: --env {env.key}\n"
        f"  or by hand:  PYTHONPATH={env.variables['PYTHONPATH']} TVM_LIBRARY_PATH={env.variables['TVM_LIBRARY_PATH']} "
        f"{env.python}",
        markup=False,
    )


@click.command("builds")
def list_builds():
    """What the build cache holds: native builds by key, and the commits laid over them."""
    from bot.engine import builds

    rows = builds.cached(settings().cache_dir)
    if not rows:
        console.console.print("the build cache is empty; `perfbot build CHECKOUT@COMMIT` fills it")
        return
    table = Table(title="build cache", title_justify="left")
    for column in ("what", "commit", "native key", "how", "size", "last use"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for row in rows:
        how = f"[red]broken: {escape(row.broken)}[/]" if row.broken else escape(row.how)
        table.add_row(row.what, row.commit[:10], row.key, how, f"{row.size_bytes / 1e6:,.0f} MB", row.last_used or "–")
    console.console.print(table)


COMMANDS = (build, list_builds)
