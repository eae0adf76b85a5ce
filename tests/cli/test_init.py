"""`monitor init`: the example configuration, from a checkout and from a real wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.config import load_config
from monitor.config.example import example_files

from support import REPO

PACKAGED = "monitor/_example/"
NOT_SOURCE = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")


def repo_example() -> dict[str, bytes]:
    return {str(p): (REPO / p).read_bytes() for p in example_files(REPO)}


def written(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_example_is_the_repository_configuration() -> None:
    files = set(repo_example())
    assert {"sources.toml", "monitor.toml", "alerts/channels.toml"} <= files
    assert "alerts/rules/microsoft.toml" in files and "alerts/digests.toml" in files
    assert not any(name.endswith((".py", ".j2")) for name in files)


def test_init_writes_a_configuration_that_checks(tmp_path: Path, capsys: Any) -> None:
    target = tmp_path / "new" / "config"
    assert main(["init", str(target)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {len(repo_example())} files into {target}")
    assert f"monitor --config {target} check" in out
    assert written(target) == repo_example()
    assert main(["--config", str(target), "check"]) == 0


def test_init_refuses_to_overwrite_unless_forced(tmp_path: Path, capsys: Any) -> None:
    assert main(["init", str(tmp_path)]) == 0
    capsys.readouterr()
    mine = tmp_path / "alerts" / "channels.toml"
    mine.write_text("# my channels\n", encoding="utf-8")
    (tmp_path / "sources.toml").unlink()

    assert main(["init", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and "--force" in captured.err
    assert "alerts/channels.toml" in captured.err
    assert mine.read_text(encoding="utf-8") == "# my channels\n"
    assert not (tmp_path / "sources.toml").exists()  # refused means nothing written

    assert main(["init", "--force", str(tmp_path)]) == 0
    assert written(tmp_path) == repo_example()


def test_init_without_a_directory_writes_into_the_configuration_directory(
    tmp_path: Path, capsys: Any
) -> None:
    assert main(["--config", str(tmp_path), "init"]) == 0
    assert written(tmp_path) == repo_example()


def test_init_into_a_file_is_one_line(tmp_path: Path, capsys: Any) -> None:
    target = tmp_path / "file"
    target.write_text("x", encoding="utf-8")
    assert main(["init", str(target)]) == 1
    assert capsys.readouterr().err == f"monitor init: {target} exists and is not a directory\n"


@pytest.mark.slow
def test_a_wheel_installed_outside_the_repository_inits_and_checks(tmp_path: Path) -> None:
    """Build the real wheel, install it alone in a fresh venv (its dependencies are lent
    by this test run's environment through a path file, so that nothing is downloaded),
    and run the installed `monitor` from a directory outside the checkout.

    The wheel is built from a copy of the checkout: setuptools leaves build/ behind, and
    a stale build/ would ship files that package-data no longer lists."""
    source, dist = tmp_path / "source", tmp_path / "dist"
    shutil.copytree(REPO, source, ignore=not_source)
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    run(*pip, "wheel", str(source), "--no-deps", "-w", str(dist), cwd=source)
    (wheel,) = dist.glob("veille-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = {
            name[len(PACKAGED) :]: archive.read(name)
            for name in archive.namelist()
            if name.startswith(PACKAGED)
        }
    assert packaged == repo_example()

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", str(venv), cwd=tmp_path)
    python = venv / "bin" / "python"
    run(*pip, "--python", str(python), "install", "--no-deps", str(wheel), cwd=tmp_path)
    site = run(str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    Path(site.strip(), "lent-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")

    work = tmp_path / "elsewhere"
    work.mkdir()
    monitor = str(venv / "bin" / "monitor")
    where = run(str(python), "-c", "import monitor; print(monitor.__file__)", cwd=work)
    assert where.startswith(str(venv)), where
    run(monitor, "init", "config", cwd=work)
    assert written(work / "config") == repo_example()
    checked = run(monitor, "--config", "config", "check", cwd=work)
    rules = len(load_config(REPO, {}).rules)
    assert "configuration OK" in checked and f"rules:    {rules} enabled" in checked


def not_source(directory: str, names: list[str]) -> set[str]:
    skipped = set(shutil.ignore_patterns(*NOT_SOURCE)(directory, names))
    # ./data is where a checkout's own runs keep their database (monitor/demo/data is source)
    return skipped | ({"data"} & set(names) if directory == str(REPO) else set())


def run(*argv: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=300, env=_clean_env()
    )
    assert done.returncode == 0, f"{argv}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "PYTHON"))}
