"""`perfbot tuning show|export|import` as a user runs them: one host's databases moved to another.

The databases are those `perfbot tune` made of the tiny model (the session's
`tuned` fixture, shared with test_measure.py); the other host is a second,
empty cache folder.
"""

from __future__ import annotations

import io
import tarfile

import pytest

from tests.cli.conftest import perfbot, show

pytestmark = pytest.mark.timeout(900)


def shown(output: str) -> dict[str, list[str]]:
    """`tuning show`'s table rows by device."""
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 6:
            rows[cells[0]] = cells
    return rows


def test_an_empty_cache_says_how_to_make_a_database(tmp_path):
    result = perfbot("tuning", "show", cache=tmp_path / "cache", cwd=tmp_path)
    assert result.returncode == 0, show(result)
    assert result.stdout.strip() == "no tuning databases yet; `perfbot tune` makes one"


def test_an_export_of_nothing_says_so(tmp_path):
    out = tmp_path / "tuning.tar.gz"
    result = perfbot("tuning", "export", out, cache=tmp_path / "cache", cwd=tmp_path)
    assert result.returncode == 0, show(result)
    assert " ".join(result.stdout.split()) == f"{out}: the databases of no device"
    assert tarfile.open(out).getnames() == []


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda path: path.write_text("not an archive"), "not a perfbot tuning export"),
        (lambda path: path.write_bytes(_tar({"elsewhere.json": b"{}"})), "is not part of a perfbot tuning export"),
        (lambda path: path.write_bytes(_tar({"local/abc/notes.txt": b"hi"})), "has no database_tuning_record.json"),
    ],
)
def test_importing_what_is_not_an_export_is_one_line_and_replaces_nothing(tmp_path, make, message):
    archive = tmp_path / "export.tar.gz"
    make(archive)
    result = perfbot("tuning", "import", archive, cache=tmp_path / "cache", cwd=tmp_path)
    assert result.returncode == 1, show(result)
    assert result.stdout == "" and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list((tmp_path / "cache").glob("tuning/*/*"))


def test_importing_a_file_that_is_not_there_is_a_usage_error(tmp_path):
    result = perfbot("tuning", "import", tmp_path / "nope.tar.gz", cache=tmp_path / "cache", cwd=tmp_path)
    assert result.returncode == 2 and "does not exist" in result.stderr, show(result)


def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.slow
def test_show_lists_the_tuned_database_with_its_provenance(tuned):
    result = perfbot("tuning", "show", cache=tuned.cache, cwd=tuned.folder)
    assert result.returncode == 0, show(result)
    assert "tuning databases" in result.stdout
    device, records, tuned_with, trials, last, folder = shown(result.stdout)["local"]
    assert int(records) >= 5 and tuned_with.startswith("TVM 0.") and trials == "2" and last != "?"
    [database] = [p for p in (tuned.cache / "tuning" / "local").iterdir() if p.is_dir()]
    assert folder and str(database).startswith(folder)  # rich may fold a long path onto the next line


@pytest.mark.slow
def test_an_export_imported_on_another_host_shows_the_same_database(tuned, tmp_path):
    out = tmp_path / "fleet" / "tuning.tar.gz"
    out.parent.mkdir()
    exported = perfbot("tuning", "export", out, cache=tuned.cache, cwd=tuned.folder)
    assert exported.returncode == 0, show(exported)
    assert " ".join(exported.stdout.split()) == f"{out}: the databases of local"

    other = tmp_path / "other-host"
    imported = perfbot("tuning", "import", out, cache=other, cwd=tmp_path)
    assert imported.returncode == 0, show(imported)
    first, *listed = imported.stdout.splitlines()
    assert first == f"{out}: imported 1 database into {other / 'tuning'}", show(imported)
    [folder] = [line.strip() for line in listed]
    assert folder.startswith("local/")
    assert (other / "tuning" / folder / "database_tuning_record.json").is_file()
    assert (other / "tuning" / folder / "provenance.json").is_file()

    here = shown(perfbot("tuning", "show", cache=tuned.cache, cwd=tuned.folder).stdout)["local"]
    there = shown(perfbot("tuning", "show", cache=other, cwd=tmp_path).stdout)["local"]
    assert here[:5] == there[:5]  # records, provenance: all but the folder

    again = perfbot("tuning", "import", out, cache=other, cwd=tmp_path)  # replaces, does not add
    assert again.returncode == 0 and again.stdout == imported.stdout, show(again)
    assert [p.name for p in (other / "tuning" / "local").iterdir()] == [folder.split("/")[1]]
