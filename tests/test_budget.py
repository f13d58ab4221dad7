"""A dry run ends with its budget: time and GPU-hours from the pace of finished jobs."""

from __future__ import annotations

import json
from pathlib import Path

from sweep_cli import run_sweep, write_probe

from zo_sweep.sweep.budget import budget_lines


def _finished_job(
    root: Path, leaf: str, method: str, purpose: str = "history", **result: object
) -> None:
    cell = root / purpose / "2024-05-01_10-00-00" / "smollm2_135m" / f"sst2_{method}_original"
    job = cell / leaf
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "config.yaml").write_text(
        f"purpose: history\nsteps: 20\nmodel: {{name: smollm2_135m}}\ntask: {{name: sst2}}\n"
        f"method: {{name: {method}}}\ndata: {{name: original}}\n"
    )
    (job / "result.json").write_text(json.dumps(result))


def _history(root: Path) -> None:
    """Two MeZO runs on a GPU (0.4 and 0.6 s/step, 20 s outside the steps) and a failed one."""
    for leaf, per_step, peak in (("lr=1", 0.4, 1024.0), ("lr=2", 0.6, 2048.0)):
        _finished_job(
            root, leaf, "zo", status="ok", steps_done=20, seconds_per_step=per_step,
            wall_seconds=20 + 20 * per_step, peak_memory_mb=peak,
            environment={"device_type": "cuda"},
        )  # fmt: skip
    _finished_job(root, "lr=3", "zo", status="failed", steps_done=3, seconds_per_step=90.0)


def test_a_dry_run_prints_its_budget_per_cell_and_in_total(tmp_path: Path) -> None:
    _history(tmp_path)
    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        "-m", "method=zo,fo_lora", "lr=1e-3,1e-4", "steps=100", "dry_run=true",
        f"method.script={probe}", f"output_root={tmp_path}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    budget = done.stdout[done.stdout.index("budget (") :].splitlines()
    # Per MeZO job: 20 s + 100 steps x 0.5 s (the medians); two jobs: 140 s.
    assert budget[1:] == [
        "  smollm2_135m/sst2_fo_lora_original: 2 jobs, no history",
        "  smollm2_135m/sst2_zo_original: 2 jobs, 0:02:20 wall one at a time, 0.04 GPU-hours "
        "(0.5 s/step from 2 finished jobs)",
        "  total: 4 jobs, 0:02:20 wall one at a time, 0.04 GPU-hours; 1 cell without history "
        "not counted",
        "  jobs per GPU, smollm2_135m zo (peak 2.0 GB): 80 GB: 26, 40 GB: 13, 24 GB: 8",
    ]


def test_jobs_per_gpu_use_this_machines_gpu_and_parallel_jobs_shorten_the_wall_time(
    tmp_path: Path,
) -> None:
    _history(tmp_path)
    _finished_job(tmp_path, "lr=9", "zo", purpose="new", status="dry_run")  # 20 steps: 30 s
    sweep = tmp_path / "new" / "2024-05-01_10-00-00"
    lines = budget_lines(sweep, tmp_path, parallel=2, gpu_memory_mb=12 * 1024)
    assert "(0:00:15 with 2 at a time)" in lines[-2]
    assert lines[-1].endswith("(peak 2.0 GB): this GPU: 4")
