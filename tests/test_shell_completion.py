"""Tab completion, through bash's own machinery: the script `-sc install=bash` prints is
sourced in a real bash, and the function it registers for `python` completes a command line
(COMP_LINE, COMP_WORDS, COMP_CWORD) as bash would hand it over on a Tab."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT

# Sources the install script, then completes each argument as a command line, printing the
# candidates of each after a `--` line.
BASH = r"""
eval "$("$PYTHON" -m zo_sweep $INSTALL_FLAG install=bash)" || exit 3
function=$(complete -p python | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
for COMP_LINE in "$@"; do
    COMP_POINT=${#COMP_LINE}
    read -ra COMP_WORDS <<< "$COMP_LINE"
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    [[ "$COMP_LINE" == *" " ]] && COMP_CWORD=${#COMP_WORDS[@]}
    COMPREPLY=()
    "$function"
    echo --
    printf '%s\n' "${COMPREPLY[@]}"
done
"""
PYTHON = sys.executable
# `zo-sweep`, the installed entry point, as a user's PATH would find it.
SCRIPT = f'#!/usr/bin/env bash\nexec "{PYTHON}" -m zo_sweep "$@"\n'


def _complete(flag: str, *lines: str, path: Path | None = None) -> list[list[str]]:
    env = {**os.environ, "PYTHON": PYTHON, "INSTALL_FLAG": flag}
    if path is not None:
        env["PATH"] = f"{path}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        ["bash", "-c", BASH, "bash", *lines],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    blocks = done.stdout.split("--\n")[1:]
    return [sorted(word for word in block.splitlines() if word) for block in blocks]


@pytest.mark.parametrize("flag", ["-sc", "--shell-completion"])
def test_the_installed_completion_completes_python_m_zo_sweep(flag: str) -> None:
    (options,) = _complete(flag, f"{PYTHON} -m zo_sweep task=co")
    assert options == ["task=copa"]


def test_completion_offers_groups_options_and_keys_to_the_app_too(tmp_path: Path) -> None:
    (tmp_path / "zo-sweep").write_text(SCRIPT)
    (tmp_path / "zo-sweep").chmod(0o755)
    groups, trackers, keys, other = _complete(
        "-sc",
        f"{PYTHON} -m zo_sweep -m lr=1e-3,1e-4 ",
        f"{PYTHON} -m zo_sweep tracker=",
        "zo-sweep -m method=zo num_",
        f"{PYTHON} {tmp_path}/other.py ",
        path=tmp_path,
    )
    assert {"task=", "method=", "tracker=", "lr=", "steps=", "hydra."} <= set(groups)
    assert trackers == [f"tracker={name}" for name in ("mlflow", "none", "tensorboard", "wandb")]
    assert keys == ["num_dev=", "num_eval=", "num_train="]
    assert other == [], "another python command keeps the shell's own completion"


def test_a_bad_completion_request_is_one_line_and_exit_code_2() -> None:
    env = {key: value for key, value in os.environ.items() if key != "COMP_LINE"}
    for request in (["-sc", "bogus=bash"], ["--shell-completion"], ["-sc", "query=bash"]):
        done = subprocess.run(
            [PYTHON, "-m", "zo_sweep", *request],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: -")


def test_uninstall_gives_python_back_its_own_completion() -> None:
    script = (
        "_before() { :; }; complete -F _before python\n"
        'eval "$("$PYTHON" -m zo_sweep -sc install=bash)"; complete -p python\n'
        'eval "$("$PYTHON" -m zo_sweep -sc uninstall=bash)"; complete -p python\n'
        "complete -p zo-sweep || echo none\n"
    )
    done = subprocess.run(
        ["bash", "-c", script], env={**os.environ, "PYTHON": PYTHON},
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.stdout.splitlines() == [
        "complete -o default -o nospace -F _zo_sweep_completion python",
        "complete -F _before python",
        "none",
    ], done.stderr
