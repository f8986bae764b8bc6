"""`perfbot build` and `perfbot builds [export|import]` as a user runs them: bad input is one line and an exit code."""

from __future__ import annotations

import pytest

from tests.cli.conftest import perfbot, show


def test_an_empty_cache_says_how_to_fill_it(tmp_path):
    result = perfbot("builds", cache=tmp_path / "cache", cwd=tmp_path)
    assert (
        result.returncode == 0 and "the build cache is empty; `perfbot build CHECKOUT@COMMIT` fills it" in result.stdout
    )


@pytest.mark.parametrize(
    "args, code, message",
    [
        (("build", "no-at-sign"), 2, "'no-at-sign': expected CHECKOUT@COMMIT"),
        (("build", "/nonexistent/tvm@main"), 2, "/nonexistent/tvm: no such folder (expected a TVM git checkout)"),
        (("builds", "export", "0123abcd", "out.tar.gz"), 2, "no native build 0123abcd in"),
        (("builds", "import", "junk.tar"), 1, "junk.tar: not a perfbot build export"),
    ],
)
def test_bad_input_is_one_line_naming_it_and_writes_nothing(tmp_path, args, code, message):
    (tmp_path / "junk.tar").write_text("not an archive")
    cache = tmp_path / "cache"
    result = perfbot(*args, cache=cache, cwd=tmp_path)
    assert result.returncode == code and message in result.stderr, show(result)
    assert len(result.stderr.strip().splitlines()) == 1, show(result)
    assert not (tmp_path / "out.tar.gz").exists() and not (cache / "builds" / "native").exists()
