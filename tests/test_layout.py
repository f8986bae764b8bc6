"""The rooms keep their walls: what each package may import (the README's Layout section draws them).

- the engine (measuring) imports nothing of the GitHub side, and the GitHub side
  nothing of the engine: they meet only in the CLI;
- `bot/child/` runs inside the TVM under test, where perfbot is not installed: it
  imports only the standard library, numpy, tvm, tflite and ai_edge_litert;
- the dashboard reads the store and the shared modules, nothing of the GitHub side;
- the shared modules at the top of `bot/` import neither side.
"""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHILD_ALLOWED = {"numpy", "tvm", "tvm_ffi", "tflite", "ai_edge_litert"}
#: The top of bot/: what every side shares (bot/__main__.py is the entry point, the CLI's own).
SHARED = sorted(p for p in (ROOT / "bot").glob("*.py") if p.name != "__main__.py")


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def names(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("path", files("bot/engine"), ids=names(files("bot/engine")))
def test_the_engine_imports_nothing_of_the_github_side(path):
    assert not {m for m in imports(path) if m == "bot.github" or m.startswith("bot.github.")}


@pytest.mark.parametrize("path", files("bot/github"), ids=names(files("bot/github")))
def test_the_github_side_imports_nothing_of_the_engine(path):
    assert not {m for m in imports(path) if m.startswith(("bot.engine", "bot.child", "bot.cli"))}


@pytest.mark.parametrize("path", files("bot/child"), ids=names(files("bot/child")))
def test_child_scripts_import_only_what_the_interpreter_under_test_has(path):
    foreign = {m for m in imports(path) if m.split(".")[0] not in sys.stdlib_module_names | CHILD_ALLOWED}
    assert not foreign, f"{path.name} imports {sorted(foreign)}: the TVM environment under test does not have them"


@pytest.mark.parametrize("path", files("dashboard"), ids=names(files("dashboard")))
def test_the_dashboard_reads_the_store_and_shared_modules_only(path):
    assert not {m for m in imports(path) if m.startswith(("bot.github", "bot.engine", "bot.cli", "bot.child"))}


@pytest.mark.parametrize("path", SHARED, ids=names(SHARED))
def test_shared_modules_import_neither_side(path):
    assert not {m for m in imports(path) if m.startswith(("bot.github", "bot.engine", "bot.cli", "bot.child"))}


@pytest.mark.parametrize("path", files("bot/engine/builds"), ids=names(files("bot/engine/builds")))
def test_the_build_cache_stands_on_its_own(path):
    """builds/ is below the spec dispatch (bot/engine/subjects.py) and beside envs.py: it imports neither."""
    assert not {
        m for m in imports(path) if m.startswith(("bot.engine.envs", "bot.engine.subjects", "bot.engine.boards"))
    }


def test_the_pip_environments_do_not_import_the_build_cache():
    assert not {
        m for m in imports(ROOT / "bot/engine/envs.py") if m.startswith(("bot.engine.builds", "bot.engine.subjects"))
    }


PACKAGES = sorted(p.parent for p in (ROOT / "bot").rglob("__init__.py"))


@pytest.mark.parametrize("package", PACKAGES, ids=names(PACKAGES))
def test_each_package_docstring_names_its_modules_and_subpackages(package):
    """The README's Layout says each package's docstring lists its modules: a new module is added to it."""
    docstring = ast.get_docstring(ast.parse((package / "__init__.py").read_text())) or ""
    parts = [p.name for p in package.glob("*.py") if p.name != "__init__.py"]
    parts += [f"{p.name}/" for p in package.iterdir() if (p / "__init__.py").is_file()]
    assert not [part for part in parts if part not in docstring], f"{package.name}/__init__.py does not name them"


MODULES = files("bot") + files("dashboard")


@pytest.mark.parametrize("path", MODULES, ids=names(MODULES))
def test_modules_stay_under_750_lines(path):
    """STYLE.md's house rule: a module that grows past it holds more than one concern."""
    assert len(path.read_text().splitlines()) < 750
