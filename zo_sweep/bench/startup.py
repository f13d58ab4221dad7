"""Where a one-step job's wall time goes: the sweep process and its script, python's start,
imports, data and model loading, the step, evaluation, and writing the result."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from zo_sweep import PROJECT_ROOT

JOB_SIZES = {"steps": 1, "train": 16, "dev": 8, "eval": 8}


def _wall(command: list[str], **options) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, **options)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{' '.join(command[:4])} ... failed: {last}")
    return seconds


def _result(directory: Path) -> dict:
    found = sorted(directory.rglob("result.json"))
    if not found:
        raise RuntimeError(f"no result.json under {directory}")
    return json.loads(found[0].read_text())


def measure_startup(path: str, scratch: Path, *, sweep: bool) -> dict[str, float]:
    """Seconds per phase of one job on the task SST-2, the trainer run as the sweep runs it."""
    python = sys.executable
    start = _wall([python, "-c", "pass"])
    imports = _wall([python, "-c", "import zo_sweep.train.pipeline"]) - start
    trainer_dir = scratch / "startup_trainer"
    sizes = [f"--{name}={value}" for name, value in JOB_SIZES.items()]
    process = _wall(
        [
            python,
            "-m",
            "zo_sweep.train",
            "--model",
            path,
            "--task",
            "sst2",
            *sizes,
            "--output-dir",
            str(trainer_dir),
        ]
    )
    result = _result(trainer_dir)
    phases = {
        "python start": start,
        "imports": imports,
        "data and model load": result["load_seconds"],
        "train (1 step)": result["train_seconds"],
        "evaluation": result["run_seconds"] - result["train_seconds"],
        "write and exit": process - start - imports - result["wall_seconds"],
    }
    if sweep:
        sweep_dir = scratch / "startup_sweep"
        overrides = [
            f"model.id={path}",
            "model.name=bench",
            "task=sst2",
            "method=zo",
            "steps=1",
            "num_train=16",
            "num_dev=8",
            "num_eval=8",
            "eval_steps=1",
            f"output_root={sweep_dir}",
        ]
        total = _wall([python, "-m", "zo_sweep", *overrides], cwd=PROJECT_ROOT)
        job = _result(sweep_dir)["wall_seconds"]
        phases["sweep process and script"] = total - (process - result["wall_seconds"] + job)
    phases["total"] = sum(phases.values())
    return phases
