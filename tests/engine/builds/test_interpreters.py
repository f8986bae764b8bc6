"""The environments native builds share: made once per recipe, and what they hold pinned for another host."""

from __future__ import annotations

import io
import subprocess
import zipfile

import pytest

from bot.engine.builds import interpreters
from bot.errors import BuildFailed


def tiny_wheel(folder, name="perfbot_probe_pkg", version="1.0") -> object:
    """A pure-Python wheel made by hand (standing in for the FFI wheel a build makes)."""
    path = folder / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{name}/__init__.py", "VALUE = 42\n")
        wheel.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n"
        )
        wheel.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


def test_an_environment_is_made_once_and_its_pins_leave_out_what_the_wheels_installed(tmp_path):
    wheel = tiny_wheel(tmp_path)
    said = []
    first = interpreters.interpreter(tmp_path / "cache", [], [wheel], io.StringIO(), said.append)
    out = subprocess.run([str(first.python), "-c", "import perfbot_probe_pkg; print(perfbot_probe_pkg.VALUE)"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    assert out.stdout.strip() == "42"
    assert first.frozen == []  # `perfbot-probe-pkg @ file:///...` is the wheel's: another host installs the file
    again = interpreters.interpreter(tmp_path / "cache", [], [wheel], io.StringIO(), said.append)
    assert again == first and any("serves this build" in line for line in said)
    other = interpreters.interpreter(tmp_path / "cache", [], [tiny_wheel(tmp_path, version="2.0")], io.StringIO(),
                                     said.append)  # fmt: skip
    assert other.key != first.key and other.python != first.python


def test_requirement_names_are_read_whatever_their_form():
    forms = ["apache-tvm-ffi @ file:///x/apache_tvm_ffi-0.1-cp311.whl", "numpy==2.4.6", "tflite>=2.18", "ml_dtypes"]
    assert [interpreters._name(f) for f in forms] == ["apache-tvm-ffi", "numpy", "tflite", "ml-dtypes"]


@pytest.mark.parametrize(
    "pyproject",
    [
        None,
        '[project]\nname = "apache-tvm-ffi"\n',
        "[build-system\nrequires = 1",
        '[build-system]\nrequires = "cython"',
    ],
    ids=["no pyproject.toml", "no [build-system]", "not TOML", "requires not a list"],
)
def test_an_ffi_tree_without_build_requirements_is_a_build_failure_naming_its_pyproject(tmp_path, pyproject):
    source = tmp_path / "tvm" / "3rdparty" / "tvm-ffi"
    source.mkdir(parents=True)
    if pyproject is not None:
        (source / "pyproject.toml").write_text(pyproject)
    with pytest.raises(BuildFailed, match=r"tvm-ffi/pyproject.toml: no \[build-system\] requires"):
        interpreters.build_interpreter(source, tmp_path / "cache", io.StringIO(), lambda line: None)
    assert not (tmp_path / "cache").exists()  # nothing made for it
