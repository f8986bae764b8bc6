"""SQL lives in bot/store/ only: every other module asks the store by name (issue 13, item 5).

A string literal that reads as an SQL statement (select ... from, insert into,
update ... set, delete from) or as a where-clause (`state = 'running'`,
`kind = ? and sha = ?`) outside bot/store/ is a query that escaped its room:
give it a named method on the store instead.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STATEMENT = re.compile(
    r"\bselect\b[\s\S]+?\bfrom\b|\binsert\s+(or\s+\w+\s+)?into\b|\bupdate\s+\w+\s+set\b|\bdelete\s+from\b", re.I
)
CONDITION = r"[a-z_]+(\.[a-z_]+)?\s*(=|!=|<>|<=|>=|<|>|\bis\s+(not\s+)?|\bin\s+)\s*(\?|'[^']*'|null\b|\()"
WHERE = re.compile(rf"^\s*{CONDITION}.*$|\b[a-z_]+\s*(=|!=)\s*\?", re.I | re.S)
#: Everything that is not the store: the bot's other rooms, the dashboard, the benchmarks.
MODULES = sorted(
    p
    for folder in ("bot", "dashboard", "benchmarks")
    for p in (ROOT / folder).rglob("*.py")
    if (ROOT / "bot" / "store") not in p.parents
)


def sql_literals(source: str) -> list[str]:
    """String literals (f-strings by their constant parts) that read as SQL."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
        else:
            continue
        if STATEMENT.search(text) or WHERE.search(text):
            found.append(text)
    return found


@pytest.mark.parametrize(
    "source, is_sql",
    [
        ("db.execute(\"select count(*) from inbox where state = 'failed'\")", True),
        ("store.jobs(\"state = 'running'\")", True),
        ("store.runs(\"kind = 'base' and status = 'complete'\")", True),
        ('rows_where("device = ? and sha = ?", [d, s])', True),
        ('x = f"update jobs set state = {s!r}"', True),
        ('x = "DELETE FROM deliveries"', True),
        ('raise ValueError("pick a device; select one from devices.yml")', True),  # reads as SQL: reword it
        ('print("TVM median / TFLite median: under 1 means TVM is faster")', False),
        ('help="Folder for the static site."', False),
        ('f"{n} updated, {m} deleted from the cache"', False),
        ('"--kind pr needs --pr NUMBER"', False),
    ],
)
def test_the_detector_tells_sql_from_prose(source, is_sql):
    assert bool(sql_literals(source)) == is_sql


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_no_sql_outside_the_store(path):
    found = sql_literals(path.read_text())
    assert not found, f"{path.relative_to(ROOT)} speaks SQL: {found}; make it a named method in bot/store/"
