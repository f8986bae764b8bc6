"""The one way an env spec becomes the TVM under test: `python:PATH`, `pip:REQUIREMENTS` or `source:CHECKOUT@SHA`.

Above both makers of environments: envs.py (python:, pip:) and the build
cache (builds/, source:), which import neither this module nor each other.
`perfbot run`/`tune` (`--env`, `--base-env`), the job worker (`--env`,
`--checkout`) and `perfbot build --native-from` all come through here.
"""

from __future__ import annotations

from pathlib import Path

from bot.console import Say
from bot.engine import builds, envs
from bot.engine.builds.native import NativeBuild
from bot.engine.environment import Environment
from bot.engine.runner import Subject
from bot.errors import EnvironmentBroken, UnknownName

KINDS = ("python", "pip", "source")


def provision(spec: str | None, cache_dir: Path | None, say: Say | None = None, rebuild: bool = False) -> Environment:
    """The environment of a spec (None: the interpreter perfbot runs in), made if needed.

    EnvironmentBroken or BuildFailed when it cannot be made, UnknownName for a
    spec that names no kind perfbot knows, each in one line. `rebuild` throws
    away what the cache has for it first.
    """
    spec = spec or envs.default()
    kind, _, rest = spec.partition(":")
    rest = rest.strip()
    if kind == "python" and rest:
        return envs.python(rest, cache_dir)
    if kind in ("pip", "source") and rest and cache_dir is None:
        raise EnvironmentBroken(f"{spec}: no cache folder to build it in (set PERFBOT_CACHE)")
    if kind == "pip" and rest:
        return envs.pip(rest, Path(cache_dir), say, rebuild)
    if kind == "source" and "@" in rest:
        checkout, _, ref = rest.rpartition("@")
        return builds.environment(Path(checkout).expanduser(), ref, Path(cache_dir), say, rebuild=rebuild)
    raise UnknownName(f"environment {spec!r}: expected python:PATH, pip:REQUIREMENT or source:CHECKOUT@SHA")


def subject(spec: str | None, cache_dir: Path | None, say: Say | None = None, **fields) -> Subject:
    """What a run is of: the spec's environment, with where it came from (kind, repo, sha, pr, job...)."""
    return of(provision(spec, cache_dir, say), **fields)


def of(env: Environment, **fields) -> Subject:
    """The Subject of an environment already made (a bisect probe's, a commit's from the build cache)."""
    return Subject(python=env.python, env=env.key, variables=env.variables, build=env.build, **fields)


def unbuilt(**fields) -> Subject:
    """What a run is of when the commit's TVM could not be made: recorded as a build_error, never run."""
    return of(Environment(f"unbuilt:{fields.get('sha')}", Path("/nonexistent")), **fields)


def native_from(
    commit: builds.Commit, spec: str, cache_dir: Path, say: Say | None = None, *, force: bool = False
) -> NativeBuild:
    """`perfbot build --native-from SPEC`: a released TVM's libraries as the commit's native build.

    SPEC is `pip:apache-tvm==X`, a bare requirement (taken as pip:) or `python:PATH`.
    """
    if not spec.startswith(("pip:", "python:")):
        spec = f"pip:{spec}"  # a bare requirement, as `--native-from apache-tvm==0.27.0.post1`
    release = provision(spec, cache_dir, say)
    return builds.native.register_wheel(commit, release, cache_dir, say, force=force)
