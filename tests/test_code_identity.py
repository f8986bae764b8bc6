"""benchmarks/code_identity.py: two trees run the same code only when docstrings and comments are all that differ."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import code_identity  # noqa: E402
from tests.tvm_checkout import git  # noqa: E402

TIMING = '''"""Rounds of one sample a side."""

ROUNDS = 24  # the cap


def rounds(n):
    """How many rounds."""
    return min(n, ROUNDS)
'''


def commit(repo: Path, files: dict[str, str]) -> str:
    """Write `files` into repo/bot, commit, and return the bot/ tree."""
    for name, text in files.items():
        path = repo / "bot" / name
        if text is None:
            path.unlink()
        else:
            path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", "change")
    return git(repo, "rev-parse", "HEAD:bot")


def bot_repo(folder: Path) -> Path:
    """An empty git repository with a bot/ folder, for `commit`."""
    (folder / "bot").mkdir(parents=True)
    git(folder, "init", "-q")
    return folder


@pytest.fixture
def repo(tmp_path):
    return bot_repo(tmp_path)


def test_new_docstrings_and_comments_leave_the_code_the_same(repo):
    old = commit(repo, {"timing.py": TIMING, "suite.yml": "items: 12\n"})
    edited = (
        TIMING.replace("Rounds of one sample a side.", "Rounds of one sample a side, now said better.")
        .replace("# the cap", "# the cap: today's budget")
        .replace('    """How many rounds."""\n', '    """How many rounds.\n\n    Two lines now.\n    """\n')
    )
    new = commit(repo, {"timing.py": edited})
    assert old != new
    assert code_identity.code_differences(repo, old, new) == []


@pytest.mark.parametrize(
    "change",
    [
        {"timing.py": TIMING.replace("ROUNDS = 24", "ROUNDS = 12")},  # code
        {"timing.py": TIMING.replace("min(n, ROUNDS)", "max(n, ROUNDS)")},  # code, same length
        {"suite.yml": "items: 8\n"},  # not Python: bytes count
        {"looks.py": "LOOKS = 5\n"},  # a file added
        {"suite.yml": None},  # a file removed
    ],
)
def test_any_other_change_is_named(repo, change):
    old = commit(repo, {"timing.py": TIMING, "suite.yml": "items: 12\n"})
    new = commit(repo, change)
    assert code_identity.code_differences(repo, old, new) == sorted(change)


def test_a_string_that_is_not_a_docstring_is_code(repo):
    old = commit(repo, {"words.py": 'REASON = "within the margin"\n'})
    new = commit(repo, {"words.py": 'REASON = "inside the margin"\n'})
    assert code_identity.code_differences(repo, old, new) == ["words.py"]


def test_a_tree_this_clone_lacks_is_a_lookup_error(repo):
    old = commit(repo, {"timing.py": TIMING})
    with pytest.raises(LookupError, match="0123456"):
        code_identity.code_differences(repo, "0123456789abcdef0123456789abcdef01234567", old)
