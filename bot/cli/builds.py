"""`perfbot build` and `perfbot builds [export|import]`: one commit's TVM from the build cache, what it holds, moving it."""

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


def _say(line: str) -> None:
    console.errors.print(f"[dim]{escape(line)}[/]", soft_wrap=True)


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
    """Build (or find) one commit's TVM in the build cache, and say how it was made.

    A C++ build shows its progress (ninja's steps) every 15 s and keeps its whole log in the cache
    (the path is printed); stopped by Ctrl-C, SIGTERM or kill -9, it resumes where it stopped when run again.
    """
    from bot.engine import arm_runtime, builds, subjects
    from bot.engine.builds import native

    cache_dir = settings().cache_dir
    checkout, ref = _checkout_and_ref(commit)
    started = time.monotonic()
    resolved = builds.resolve(checkout, ref)
    if native_from:
        if rebuild:
            native.forget(cache_dir, resolved.native_key)
        subjects.native_from(resolved, native_from, cache_dir, _say, force=force)
    env = builds.environment_of(resolved, cache_dir, _say, rebuild=rebuild and not native_from)
    arm = env.build.get("aarch64_runtime")
    checked = arm_runtime.check(env, cache_dir) if arm else None
    console.console.print(
        f"{resolved.checkout}@{resolved.short}: TVM ready in {time.monotonic() - started:.1f} s\n"
        f"  native build {env.build['native_key']} ({env.build['how']})\n"
        f"  python/ tree {env.build['python_tree'][:12]} laid over it\n"
        + (
            f"  AArch64 runtime {arm}" + (" (loaded by `import tvm` under qemu)" if checked else "") + "\n"
            if arm
            else ""
        )
        + f"  run it with: --env {env.key}\n"
        f"  or by hand:  PYTHONPATH={env.variables['PYTHONPATH']} TVM_LIBRARY_PATH={env.variables['TVM_LIBRARY_PATH']} "
        f"{env.python}",
        markup=False,
        soft_wrap=True,
    )


@click.group("builds", invoke_without_command=True)
@click.pass_context
def list_builds(ctx):
    """What the build cache holds: native builds by key, the commits laid over them, AArch64 runtimes.

    `perfbot builds export` and `perfbot builds import` move a native build to another host by its key.
    """
    if ctx.invoked_subcommand is not None:
        return
    from bot.engine import builds

    rows = builds.cached(settings().cache_dir)
    if not rows:
        console.console.print("the build cache is empty; `perfbot build CHECKOUT@COMMIT` fills it")
        return
    table = Table(title="build cache", title_justify="left")
    for column in ("what", "commit", "key", "how", "size", "last use"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for row in rows:
        how = f"[red]broken: {escape(row.broken)}[/]" if row.broken else escape(row.how)
        table.add_row(row.what, row.commit[:10], row.key, how, f"{row.size_bytes / 1e6:,.0f} MB", row.last_used or "–")
    console.console.print(table)


@list_builds.command("export")
@click.argument("key", metavar="KEY|CHECKOUT@COMMIT")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export(key, out):
    """Write a native build (host libraries, FFI wheel, AArch64 runtime) to OUT (.tar, or .tar.gz to compress)."""
    from bot.engine import builds
    from bot.engine.builds import transfer

    if "@" in key:
        key = builds.resolve(*_checkout_and_ref(key)).native_key
    manifest = transfer.export_build(settings().cache_dir, key, out)
    size = sum(f["bytes"] for f in manifest["files"].values())
    console.console.print(
        f"{out}: native build {key}" + (f" with AArch64 runtime {manifest['aarch64']}" if manifest["aarch64"] else "")
        + f", {len(manifest['files'])} files, {size / 1e6:,.0f} MB before compression",
        markup=False, soft_wrap=True,
    )  # fmt: skip


@list_builds.command("import")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(archive):
    """Verify an export (every file's SHA-256) and put its build in this host's cache."""
    from bot.engine.builds import transfer

    manifest = transfer.import_build(settings().cache_dir, archive, _say)
    console.console.print(
        f"{archive}: native build {manifest['native_key']} of commit {manifest['build'].get('commit', '?')[:10]}"
        + (f" with AArch64 runtime {manifest['aarch64']}" if manifest["aarch64"] else "")
        + " is in the cache; every commit with this native key now needs no C++ build",
        markup=False, soft_wrap=True,
    )  # fmt: skip


COMMANDS = (build, list_builds)
