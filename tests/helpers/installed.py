"""zo_sweep installed as a user installs it (a wheel, or `pip install -e`), in a fresh venv.

The venv sees the packages of the interpreter running the tests (its site folders, listed in a
.pth file) but holds its own zo_sweep, built from a clean copy of the checkout. That works
whether the tests run from a venv, a conda env or the system's Python: a venv made with
`--system-site-packages` would see the base interpreter's packages only, not those of the venv
the tests run in. Its zo_sweep comes first, so nothing is read from the checkout.

Building takes seconds, so a venv is built once per test run and shared by the xdist workers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from helpers import REPO_ROOT

KINDS = ("wheel", "editable")
BUILD_LEFTOVERS = (
    ".git", "build", "dist", "*.egg-info", "outputs", "__pycache__", ".*_cache", ".venv",
)  # fmt: skip
SITE_FOLDERS = ("site-packages", "dist-packages")
PIP_TIMEOUT_S = 600
# --ignore-installed: the zo_sweep the venv sees in the running interpreter's folders (an
# editable checkout, of the same version) must not count as installed.
INSTALL_OPTIONS = ("--no-deps", "--ignore-installed")


@dataclass(frozen=True)
class Installed:
    """A venv with zo_sweep installed; `root` is the folder the package's files live in."""

    kind: str
    python: Path
    root: Path

    def environ(self) -> dict[str, str]:
        """The environment of a user's shell: no PYTHONPATH pointing at the checkout."""
        return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

    def run(
        self, *arguments: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """`python ARGUMENTS` with the venv's interpreter, in `cwd`."""
        return subprocess.run(
            [str(self.python), *arguments],
            cwd=cwd,
            env={**self.environ(), **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def shared_folder(base_temp: Path) -> Path:
    """A folder all xdist workers of this run share (a worker's base temp is one level down)."""
    return base_temp.parent if os.environ.get("PYTEST_XDIST_WORKER") else base_temp


def installed_package(kind: str, shared: Path) -> Installed:
    """zo_sweep installed as `kind` in a venv under `shared`, built by the first caller."""
    folder = shared / f"installed_{kind}"
    with FileLock(str(shared / f"installed_{kind}.lock")):
        done = folder / "done"
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            _build(kind, folder)
            done.touch()
    python = folder / "venv" / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import zo_sweep, pathlib; print(pathlib.Path(zo_sweep.__file__).parent)"],
        cwd=folder, env=Installed(kind, python, folder).environ(), capture_output=True, text=True,
        check=True, timeout=120,
    ).stdout.strip()  # fmt: skip
    return Installed(kind, python, Path(where).parent)


def _build(kind: str, folder: Path) -> None:
    source, venv = folder / "source", folder / "venv"
    # A clean copy: a build/ folder left in the checkout could carry stale modules.
    shutil.copytree(REPO_ROOT, source, ignore=shutil.ignore_patterns(*BUILD_LEFTOVERS))
    _fresh_venv(venv)
    if kind == "wheel":
        _pip(
            "wheel", "--no-deps", "--no-build-isolation", "-w", str(folder / "wheels"), str(source)
        )
        (target,) = [str(path) for path in (folder / "wheels").glob("zo_sweep-*.whl")]
        _pip("--python", str(venv / "bin" / "python"), "install", *INSTALL_OPTIONS, target)
    else:
        _pip("--python", str(venv / "bin" / "python"), "install", *INSTALL_OPTIONS,
             "--no-build-isolation", "-e", str(source))  # fmt: skip


def _fresh_venv(venv: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)  # fmt: skip
    (site,) = (venv / "lib").glob("python*/site-packages")
    seen = [path for path in sys.path if Path(path).name in SITE_FOLDERS and Path(path).is_dir()]
    # Plain folders, not site folders: their .pth files (an editable zo_sweep's finder) stay out.
    (site / "tests_see_the_running_interpreter.pth").write_text("\n".join(seen) + "\n")


def _pip(*arguments: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "-q", *arguments],
        capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"pip {' '.join(arguments)} failed:\n{done.stderr[-3000:]}")
