"""The Dockerfile, its build context (.dockerignore), the pinned dependencies it installs
(constraints.txt) and the README's `docker run`, checked without a Docker daemon."""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from monitor.cli import build_parser

from support import REPO

CONTEXT_LIMIT = 5_000_000  # bytes; the context was 540 MB with a venv and a database in it


# -- the Dockerfile --------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def dockerfile() -> list[Instruction]:
    """The Dockerfile's instructions, comments dropped and continued lines joined."""
    instructions: list[Instruction] = []
    pending = ""
    for line in (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append(Instruction(keyword.upper(), " ".join(arguments.split())))
        pending = ""
    assert not pending, "the Dockerfile ends on a continued line"
    return instructions


def index_of(instructions: list[Instruction], keyword: str, pattern: str) -> int:
    found = [
        i
        for i, ins in enumerate(instructions)
        if ins.keyword == keyword and re.search(pattern, ins.arguments)
    ]
    assert len(found) == 1, f"expected one {keyword} matching {pattern!r}, found {len(found)}"
    return found[0]


def copy_sources(instructions: list[Instruction]) -> list[str]:
    """What the COPY instructions take from the build context."""
    return [
        source
        for ins in instructions
        if ins.keyword == "COPY"
        for source in shlex.split(ins.arguments)[:-1]
        if not source.startswith("--")
    ]


def test_the_base_image_is_a_fixed_python_and_debian_release() -> None:
    (base,) = [ins.arguments for ins in dockerfile() if ins.keyword == "FROM"]
    # python:3.11-slim or :latest would follow every new release into the image.
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+(@sha256:[0-9a-f]{64})?", base), base


def test_dependencies_are_a_layer_installed_before_the_code_is_copied() -> None:
    instructions = dockerfile()
    copy_constraints = index_of(instructions, "COPY", r"^constraints\.txt ")
    install_pins = index_of(instructions, "RUN", r"pip install .*-r constraints\.txt")
    copy_code = index_of(instructions, "COPY", r"^monitor ")
    install_veille = index_of(instructions, "RUN", r"pip install .*--no-deps \.")
    assert copy_constraints < install_pins < copy_code < install_veille
    # Nothing that changes with the code may come before the dependency layer.
    assert copy_sources(instructions[:install_pins]) == ["constraints.txt"]
    assert "pip check" in instructions[install_veille].arguments


def test_tini_is_pid_1_and_runs_the_service() -> None:
    instructions = dockerfile()
    install_tini = index_of(instructions, "RUN", r"apt-get install .*\btini\b")
    entrypoint = index_of(instructions, "ENTRYPOINT", r".")
    assert install_tini < entrypoint
    assert json.loads(instructions[entrypoint].arguments) == ["/usr/bin/tini", "--", "monitor"]
    (cmd,) = [json.loads(ins.arguments) for ins in instructions if ins.keyword == "CMD"]
    assert cmd == ["run"]
    users = [ins.arguments for ins in instructions if ins.keyword == "USER"]
    assert users == ["veille"], "the service must not run as root"


def test_the_commands_the_image_runs_exist() -> None:
    """`monitor run` (ENTRYPOINT + CMD) and the health check parse as the CLI would."""
    instructions = dockerfile()
    (cmd,) = [json.loads(ins.arguments) for ins in instructions if ins.keyword == "CMD"]
    (health,) = [ins.arguments for ins in instructions if ins.keyword == "HEALTHCHECK"]
    probe = json.loads(health[health.index("CMD") + len("CMD") :])
    assert probe[0] == "monitor"
    for argv in (cmd, probe[1:]):
        assert getattr(build_parser().parse_args(argv), "handler", None), argv


# -- the build context -----------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    keep: bool  # a "!pattern": let back in
    text: str


def ignore_patterns(text: str) -> list[Pattern]:
    patterns = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        body = os.path.normpath(line[1:].strip() if keep else line).lstrip("/")
        patterns.append(Pattern(re.compile(_pattern_regex(body)), keep, body))
    return patterns


def _pattern_regex(pattern: str) -> str:
    """Docker's pattern syntax: `*` and `?` stop at '/', `**` crosses directories."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return out


def ignored(path: str, patterns: list[Pattern]) -> bool:
    """As `docker build` decides: the last pattern matching the path or one of its parent
    folders wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for pattern in patterns:
        if any(pattern.regex.fullmatch(c) for c in candidates):
            verdict = not pattern.keep
    return verdict


def build_context(root: Path, patterns: list[Pattern]) -> Iterator[tuple[str, int]]:
    """The files `docker build` would send, with their sizes. A folder that is ignored is
    not entered unless a "!pattern" could let something inside it back in."""
    for folder, dirs, files in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        dirs[:] = [
            d for d in dirs if not ignored(prefix + d, patterns) or _reopened(prefix + d, patterns)
        ]
        for name in files:
            path = prefix + name
            if not ignored(path, patterns):
                yield path, (Path(folder) / name).lstat().st_size


def _reopened(folder: str, patterns: list[Pattern]) -> bool:
    return any(p.keep and (p.text.startswith(folder + "/") or "**" in p.text) for p in patterns)


@pytest.fixture(scope="module")
def patterns() -> list[Pattern]:
    return ignore_patterns((REPO / ".dockerignore").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        "venv/lib/python3.11/site-packages/aiohttp/__init__.py",
        ".git/HEAD",
        "data/veille.sqlite3",
        "veille.sqlite",
        "alerts/old.sqlite",
        "monitor/__pycache__/cli.cpython-311.pyc",
        "tests/data/rules/eval.toml",
        ".pytest_cache/v/cache/lastfailed",
        "veille.egg-info/PKG-INFO",
        "bench/bench_match.py",
        "dist/veille-0.1.0-py3-none-any.whl",
    ],
)
def test_dockerignore_leaves_out(patterns: list[Pattern], path: str) -> None:
    assert ignored(path, patterns)


@pytest.mark.parametrize(
    "path",
    [
        "constraints.txt",
        "pyproject.toml",
        "monitor/cli/__init__.py",
        "monitor/notify/templates/alert.html.j2",
        "alembic/versions/0001_initial_schema.py",
        "alerts/rules/lists.toml",
        "sources.toml",
    ],
)
def test_dockerignore_keeps(patterns: list[Pattern], path: str) -> None:
    assert not ignored(path, patterns)


def test_the_matcher_follows_dockers_rules() -> None:
    """The emulation the size check relies on: last match wins, a folder's pattern
    covers its files, `*` stops at '/', `**` does not."""
    patterns = ignore_patterns("*.log\n!keep.log\nbuild\n**/cache\n/docs/*.md\n")
    assert ignored("a.log", patterns) and not ignored("keep.log", patterns)
    assert not ignored("sub/a.log", patterns)
    assert ignored("build/x/y.txt", patterns)
    assert ignored("cache/x", patterns) and ignored("a/b/cache/x", patterns)
    assert ignored("docs/rules.md", patterns) and not ignored("docs/sub/rules.md", patterns)


def test_the_context_is_small_and_holds_what_the_dockerfile_copies(
    patterns: list[Pattern],
) -> None:
    context = dict(build_context(REPO, patterns))
    total = sum(context.values())
    biggest = sorted(context.items(), key=lambda item: -item[1])[:5]
    assert total < CONTEXT_LIMIT, f"{total} bytes, the largest: {biggest}"
    for source in copy_sources(dockerfile()):
        assert source in context or any(p.startswith(source + "/") for p in context), source
    assert not [p for p in context if p.endswith((".sqlite", ".sqlite3", ".pyc"))]


# -- the pinned dependencies -----------------------------------------------------------------


def pins() -> dict[str, str]:
    """constraints.txt as {canonical name: version}; every line an exact pin."""
    found: dict[str, str] = {}
    for number, line in enumerate(
        (REPO / "constraints.txt").read_text(encoding="utf-8").splitlines(), 1
    ):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;=]+)", line)
        assert match, f"constraints.txt:{number}: not an exact pin: {line!r}"
        name = canonicalize_name(match.group(1))
        assert name not in found, f"constraints.txt:{number}: {name} pinned twice"
        found[name] = match.group(2)
    return found


def runtime_requirements() -> list[Requirement]:
    with (REPO / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    return [Requirement(text) for text in project["dependencies"]]


def unpinned(requirements: list[Requirement], pinned: dict[str, str], by: str) -> list[str]:
    """The requirements (of `by`) that constraints.txt leaves out or pins out of range."""
    problems = []
    for requirement in requirements:
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{by} needs {requirement}, which is not pinned")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{by} needs {requirement}, pinned {version}")
    return problems


def test_every_runtime_dependency_is_pinned_within_its_range() -> None:
    assert unpinned(runtime_requirements(), pins(), "pyproject.toml") == []


def test_the_pins_are_exactly_what_the_runtime_needs() -> None:
    """What `pip check` does in the image, read from this venv's metadata: walking the
    requirements from pyproject.toml (extras included) reaches every pin and nothing
    else (no test tool), each within its range. Only meaningful when this venv runs the
    pinned versions."""
    pinned = pins()
    installed = {n: _installed_version(n) for n in pinned}
    drift = {n: (v, installed[n]) for n, v in pinned.items() if installed[n] != v}
    if drift:
        pytest.skip(f"this venv does not run the pinned versions (pin, installed): {drift}")
    problems = unpinned(runtime_requirements(), pinned, "pyproject.toml")
    extras: dict[str, set[str]] = {}  # every distribution reached, with the extras asked
    todo = list(runtime_requirements())
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name in extras and requirement.extras <= extras[name]:
            continue
        extras[name] = extras.get(name, set()) | requirement.extras
        if name in pinned:  # an unpinned one is reported above or by its parent
            needs = _requires(name, extras[name])
            problems += unpinned(needs, pinned, name)
            todo += needs
    assert problems == []
    assert set(extras) == set(pinned), "pins that nothing at run time needs"


def _installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _requires(name: str, extras: set[str]) -> list[Requirement]:
    """A distribution's requirements that apply on this Python (the image's) with `extras`."""
    environment = default_environment()
    chosen = []
    for text in metadata.requires(name) or []:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None or any(
            marker.evaluate({**environment, "extra": extra}) for extra in {"", *extras}
        ):
            chosen.append(requirement)
    return chosen


# -- the README's docker run -----------------------------------------------------------------


def docker_run() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```sh\n(.*?)```", readme, re.S) if "docker run" in b]
    assert len(blocks) == 1, "the README shows one docker run"
    command = blocks[0].replace("\\\n", " ")
    (line,) = [line for line in command.splitlines() if "docker run" in line]
    return shlex.split(line)


def test_the_readme_mounts_the_whole_configuration_read_only_and_data_in_a_volume() -> None:
    words = docker_run()
    mounts = [words[i + 1] for i, w in enumerate(words) if w in ("-v", "--volume")]
    config = [m for m in mounts if m.split(":")[1:2] == ["/config"]]
    assert len(config) == 1 and config[0].endswith(":ro"), mounts
    assert not Path(config[0].split(":")[0]).suffix, "mount the directory, not one file"
    data = [m for m in mounts if m.split(":")[1:2] == ["/data"]]
    assert len(data) == 1 and "/" not in data[0].split(":")[0], "data in a named volume"
    assert len(mounts) == 2, "the configuration directory holds everything else"


def test_the_readme_passes_secrets_from_the_environment_not_the_command_line() -> None:
    words = docker_run()
    values = [words[i + 1] for i, w in enumerate(words) if w in ("-e", "--env")]
    assert values, "secrets are passed as environment variables"
    assert [v for v in values if "=" in v] == [], "a value on the command line leaks to ps"
