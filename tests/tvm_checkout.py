"""A git repository of real TVM code: the installed apache-tvm release laid out as TVM's source tree.

`python/tvm/` holds the release's own Python sources, `src/runtime/` and
`include/` the C++ runtime sources and headers its wheel ships, so the wheel
can honestly be registered as the native build of this tree's native key
(bot/engine/builds/native.py checks exactly those files). `CMakeLists.txt`
is a stand-in (the wheel does not ship TVM's build files): nothing in these
tests runs TVM's C++ build. Changes to the Python sources are real TVM
changes: the TVM under test really computes differently.

Used by tests/test_regression_pr.py and benchmarks/ (the PR-to-comment and
detection benchmarks).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

#: What of the wheel's tvm/ package is not TVM's python/tvm in a source tree.
NOT_PYTHON = {"lib", "lib64", "3rdparty", "include", "src", "web", "cmake", "licenses", "__pycache__"}

#: Where the TFLite frontend lives in the tree.
FRONTEND = "python/tvm/relax/frontend/tflite/tflite_frontend.py"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "TVM contributor",
    "GIT_AUTHOR_EMAIL": "dev@tvm.example",
    "GIT_COMMITTER_NAME": "TVM contributor",
    "GIT_COMMITTER_EMAIL": "dev@tvm.example",
}


def installed_tvm() -> Path:
    """The installed apache-tvm package folder (found without importing TVM)."""
    import importlib.util

    spec = importlib.util.find_spec("tvm")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("apache-tvm is not installed in this interpreter")
    return Path(next(iter(spec.submodule_search_locations)))


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env={**os.environ, **GIT_ENV}, check=True
    )
    return out.stdout.strip()


def make_checkout(folder: Path, package: Path | None = None) -> str:
    """Lay out the release as a TVM tree in `folder`, commit it on `main`; returns the commit."""
    package = package or installed_tvm()
    folder.mkdir(parents=True, exist_ok=True)
    python = folder / "python" / "tvm"
    shutil.copytree(
        package, python, ignore=lambda d, names: [n for n in names if (Path(d) == package and n in NOT_PYTHON)
                                                  or n == "__pycache__" or n.endswith(".pyc")],
    )  # fmt: skip
    shutil.copytree(package / "include", folder / "include")
    shutil.copytree(package / "src", folder / "src")
    (folder / "CMakeLists.txt").write_text(
        "# Stand-in: this tree's native sources are those of the apache-tvm wheel it was laid out from.\n"
        "cmake_minimum_required(VERSION 3.24)\nproject(tvm C CXX)\n"
    )
    (folder / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["scikit-build-core>=0.11"]\nbuild-backend = "scikit_build_core.build"\n\n'
        '[project]\nname = "apache-tvm"\ndynamic = ["version"]\n\n[tool.scikit-build]\nbuild-dir = "build"\n'
        'wheel.packages = ["python/tvm"]\n'
    )
    (folder / ".gitignore").write_text("build/\n__pycache__/\n")
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder)], check=True)
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "apache-tvm release sources")
    return git(folder, "rev-parse", "HEAD")


def commit_change(folder: Path, branch: str, message: str, edit) -> str:
    """A branch off main with one commit made by `edit(folder)`; returns the commit."""
    git(folder, "checkout", "-q", "-B", branch, "main")
    edit(folder)
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", message)
    sha = git(folder, "rev-parse", "HEAD")
    git(folder, "checkout", "-q", "main")
    return sha


def replace_in(folder: Path, path: str, old: str, new: str) -> None:
    """Edit a file of the tree, failing loudly if the code it expects is not there (a newer TVM)."""
    file = folder / path
    text = file.read_text()
    if text.count(old) != 1:
        raise AssertionError(f"{path}: expected exactly one {old!r} to change ({text.count(old)} found)")
    file.write_text(text.replace(old, new))


# Real TVM changes, as a contributor's PR would make them -----------------------------------------------

#: The TFLite frontend adds a quantized conv2d's bias here (convert_conv).
BIAS_ADD = (
    "            out = relax.op.add(out, bias_expr)\n\n        # Handle fused activation.\n"
    "        if output_tensor.qnn_params:\n            # Quantize the float output using the output tensor's qnn params."
)


def drop_pointwise_bias(folder: Path) -> None:
    """A bug: 1x1 convolutions lose their bias (wrong results on exactly the 1x1 workloads)."""
    replace_in(
        folder,
        FRONTEND,
        BIAS_ADD,
        BIAS_ADD.replace(
            "            out = relax.op.add(out, bias_expr)\n",
            "            if (kernel_h, kernel_w) != (1, 1):  # pointwise convs: bias folded elsewhere (it is not)\n"
            "                out = relax.op.add(out, bias_expr)\n",
        ),
    )


def recompute_part(fraction: float, kernel: tuple[int, int] = (1, 7)):
    """Extra work, correct answer: a conv with this kernel also convolves a corner of its input once more
    (the rows x columns whose area is nearest `fraction` of the image) and adds that times zero, so about
    `fraction` more convolution work and the same output. An area, not whole rows: on the smoke suite's
    17x17 input a row is 5.9%, too coarse for a 5% or a 10% change."""

    def edit(folder: Path) -> None:
        replace_in(
            folder,
            FRONTEND,
            "            # Float convolution\n            out = relax.op.nn.conv2d(in_f32, w_f32, **params)\n",
            "            # Float convolution\n            out = relax.op.nn.conv2d(in_f32, w_f32, **params)\n"
            f"            if (kernel_h, kernel_w) == {tuple(kernel)!r}:\n"
            f"                area = {fraction!r} * input_h * input_w\n"
            "                rows, cols = min(\n"
            "                    ((r, min(input_w, max(1, round(area / r)))) for r in range(1, input_h + 1)),\n"
            "                    key=lambda rc: abs(rc[0] * rc[1] - area),\n"
            "                )\n"
            "                part = relax.op.strided_slice(in_f32, axes=[1, 2], begin=[0, 0], end=[rows, cols])\n"
            "                extra = relax.op.nn.conv2d(part, w_f32, **params)\n"
            "                extra = relax.op.sum(extra, axis=[1, 2], keepdims=True)\n"
            "                out = relax.op.add(out, relax.op.multiply(extra, relax.const(0.0, 'float32')))\n",
        )

    return edit


def touch_docs(folder: Path) -> None:
    """A change nothing measured runs: a docstring in the contrib package."""
    path = folder / "python" / "tvm" / "contrib" / "__init__.py"
    path.write_text(path.read_text() + '\n"""Contributed code (this line changes no measured path)."""\n')


# A tree with C++ that perfbot builds: the release's tvm-ffi as 3rdparty/tvm-ffi -------------------------

#: What the apache-tvm-ffi wheel ships of its C++ sources, and where they go in a tvm-ffi source tree.
FFI_SOURCES = {"CMakeLists.txt": "CMakeLists.txt", "src": "src", "include": "include", "3rdparty": "3rdparty",
               "share/cmake/tvm_ffi/Utils": "cmake/Utils", "share/cmake/tvm_ffi/tvm_ffi-config.cmake":
               "cmake/tvm_ffi-config.cmake"}  # fmt: skip
#: Of the wheel's tvm_ffi/, what is not the Python package in a source tree.
FFI_NOT_PYTHON = {"lib", "src", "include", "3rdparty", "share", "CMakeLists.txt", "__pycache__"}
FFI_FUNCTION = "3rdparty/tvm-ffi/src/ffi/function.cc"


def installed_ffi() -> Path:
    import importlib.util

    return Path(next(iter(importlib.util.find_spec("tvm_ffi").submodule_search_locations)))


def make_cpp_checkout(folder: Path) -> str:
    """`make_checkout`, plus the installed apache-tvm-ffi's sources as 3rdparty/tvm-ffi: C++ perfbot builds.

    The wheel ships tvm-ffi's CMakeLists.txt, sources, headers, build helpers and Cython core; laid out
    as tvm-ffi's repository (with a pyproject.toml for scikit-build-core, as tvm-ffi's own, its version
    the installed one's), perfbot builds it for real into the commit's apache-tvm-ffi wheel. TVM's own
    libraries stay the release wheel's: this tree's CMakeLists.txt copies them into the build (the
    tree's src/ is the wheel's, so they are its build), the documented subset that keeps CI under 30
    minutes: TVM's full C++ build is hours on 2 cores. A change under 3rdparty/tvm-ffi changes the
    commit's native key and its runtime key, as a submodule bump of apache/tvm does.
    """
    import importlib.metadata

    make_checkout(folder)
    ffi, target = installed_ffi(), folder / "3rdparty" / "tvm-ffi"
    for source, where in FFI_SOURCES.items():
        (target / where).parent.mkdir(parents=True, exist_ok=True)
        copy = shutil.copytree if (ffi / source).is_dir() else shutil.copy2
        copy(ffi / source, target / where)
    shutil.copytree(ffi, target / "python" / "tvm_ffi", ignore=lambda d, names: [
        n for n in names if (Path(d) == ffi and n in FFI_NOT_PYTHON) or n == "__pycache__" or n.endswith(".so")])  # fmt: skip
    (target / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["scikit-build-core>=0.10.0", "cython>=3.1"]\n'
        'build-backend = "scikit_build_core.build"\n\n'
        f'[project]\nname = "apache-tvm-ffi"\nversion = "{importlib.metadata.version("apache-tvm-ffi")}"\n\n'
        '[tool.scikit-build]\ncmake.build-type = "Release"\n'
        'cmake.args = ["-DTVM_FFI_BUILD_TESTS=OFF", "-DTVM_FFI_BUILD_PYTHON_MODULE=ON"]\n'
        'wheel.packages = ["python/tvm_ffi"]\nwheel.install-dir = "tvm_ffi"\n'
    )
    (folder / "CMakeLists.txt").write_text(
        "# Stand-in for TVM's build: its libraries are those of the apache-tvm wheel this tree was laid out\n"
        "# from (its src/ is the wheel's); tvm-ffi is built from 3rdparty/tvm-ffi by perfbot.\n"
        "cmake_minimum_required(VERSION 3.24)\nproject(tvm C CXX)\n"
        f'file(GLOB WHEEL_LIBS "{installed_tvm() / "lib"}/libtvm*.so")\n'
        "file(COPY ${WHEEL_LIBS} DESTINATION ${CMAKE_BINARY_DIR}/lib)\n"
    )
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "tvm-ffi sources as 3rdparty/tvm-ffi, built by perfbot")
    return git(folder, "rev-parse", "HEAD")


def reword_ffi_error(folder: Path) -> None:
    """A real C++ change of the runtime's FFI that costs nothing measured: an error message, reworded."""
    replace_in(folder, FFI_FUNCTION, '<< "Global Function `" << name << "` is already registered";',
               '<< "Global Function `" << name << "` was registered before";')  # fmt: skip
