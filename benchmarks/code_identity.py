"""Whether two git trees hold the same code, docstrings and comments aside.

A benchmark record names the `bot/` tree it measured and refuses a start from
another, so that one record never mixes designs. Hours of device time should
not be thrown away for a corrected docstring, though: a tree whose Python
files parse to the same syntax once docstrings are dropped (comments never
reach the syntax tree), and whose other files are byte for byte the same,
runs the same code. Help text taken from a docstring can differ; what is
timed and judged cannot.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

_SCOPES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _blobs(repo: Path, tree: str) -> dict[str, str]:
    """path -> blob id of every file under `tree` (a tree or commit:path git names)."""
    listing = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "-z", tree], capture_output=True, text=True)
    if listing.returncode != 0:
        raise LookupError(f"git tree {tree} is not in {repo}: {listing.stderr.strip()}")
    blobs = {}
    for entry in filter(None, listing.stdout.split("\0")):
        meta, path = entry.split("\t", 1)
        blobs[path] = meta.split()[2]
    return blobs


def _text(repo: Path, blob: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "cat-file", "blob", blob], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def code_of(source: str) -> str:
    """The syntax of a Python source without its docstrings or comments, positions left out."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, _SCOPES) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree)


def code_differences(repo: Path, old: str, new: str) -> list[str]:
    """The files whose code differs between two trees of `repo` (none: same code), added and removed ones too."""
    before, after = _blobs(repo, old), _blobs(repo, new)
    differing = []
    for path in sorted(before.keys() | after.keys()):
        a, b = before.get(path), after.get(path)
        if a == b:
            continue
        if a is None or b is None or not path.endswith(".py"):
            differing.append(path)
            continue
        try:
            same = code_of(_text(repo, a)) == code_of(_text(repo, b))
        except SyntaxError:
            same = False
        if not same:
            differing.append(path)
    return differing
