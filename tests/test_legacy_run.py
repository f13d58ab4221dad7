"""An old per-experiment script runs end to end, and its logs import as summary rows."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from helpers.legacy import REPO_ROOT

from zo_sweep.legacy.summary_rows import read_rows

SCRIPT = REPO_ROOT / "legacy_scripts" / "Llama-3.2-1B" / "1_0_mezo_orig_copa.sh"


def test_old_script_runs_on_the_tiny_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MODEL": str(tiny_model_dir),
        "STEPS": "2",
        "TRAIN": "8",
        "DEV": "8",
        "EVAL": "8",
        "RESULTS": str(tmp_path / "results"),
        "OUTPUT_ROOT": str(tmp_path / "outputs"),
    }
    done = subprocess.run(
        ["bash", str(SCRIPT)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    logs = tmp_path / "results" / "Llama-3.2-1B" / "Copa" / "zo" / "original"
    errors = {path.name: path.read_text()[-500:] for path in logs.glob("*.err")}
    rows = read_rows(tmp_path / "results")
    assert sorted(row["lr"] for row in rows) == [1e-7, 2e-7, 5e-7, 1e-6], errors
    assert {row["status"] for row in rows} == {"legacy"}, errors
    assert all(0 <= row["best_dev"] <= 1 and 0 <= row["test_at_best"] <= 1 for row in rows)
    results = sorted((tmp_path / "outputs" / "train").rglob("result.json"))
    assert len(results) == 4  # one folder per learning rate, next to nothing in the repository
