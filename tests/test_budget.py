"""A dry run ends with its budget: time and GPU-hours from the pace of comparable finished jobs."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.sweep import run_sweep, write_probe

from zo_sweep.sweep.budget import budget_lines


def _finished_job(
    root: Path,
    leaf: str,
    method: str,
    purpose: str = "history",
    bs: int = 16,
    device: str | None = "cuda",
    **result: object,
) -> None:
    cell = root / purpose / "2024-05-01_10-00-00" / "smollm2_135m" / f"sst2_{method}_original"
    job = cell / leaf
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "config.yaml").write_text(
        f"purpose: {purpose}\nsteps: 20\nbs: {bs}\nmodel: {{name: smollm2_135m}}\n"
        f"task: {{name: sst2}}\nmethod: {{name: {method}}}\ndata: {{name: original}}\n"
    )
    if device is not None:
        result = {**result, "environment": {"device_type": device}}
    (job / "result.json").write_text(json.dumps(result))


def _history(root: Path) -> None:
    """Two MeZO runs on a GPU (0.4 and 0.6 s/step, 20 s outside the steps) and a failed one."""
    for leaf, per_step, peak in (("lr=1", 0.4, 1024.0), ("lr=2", 0.6, 2048.0)):
        _finished_job(
            root, leaf, "zo", status="ok", steps_done=20, seconds_per_step=per_step,
            wall_seconds=20 + 20 * per_step, peak_memory_mb=peak,
        )  # fmt: skip
    _finished_job(root, "lr=3", "zo", status="failed", steps_done=3, seconds_per_step=90.0)


def test_a_dry_run_prints_its_budget_per_cell_and_in_total(tmp_path: Path) -> None:
    _history(tmp_path)
    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        "-m", "method=zo,fo_lora", "lr=1e-3,1e-4", "steps=100", "bs=16", "dry_run=true",
        f"method.script={probe}", f"output_root={tmp_path}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    budget = done.stdout[done.stdout.index("budget (") :].splitlines()
    # Per MeZO job: 20 s + 100 steps x 0.5 s (the medians); two jobs: 140 s.
    assert budget[1:] == [
        "  smollm2_135m/sst2_fo_lora_original: 2 jobs, no history",
        "  smollm2_135m/sst2_zo_original: 2 jobs, 0:02:20 wall one at a time, 0.04 GPU-hours "
        "(0.5 s/step, 0.4-0.6 over 2 finished jobs)",
        "  total: 4 jobs (the 2 with history), 0:02:20 wall one at a time, 0.04 GPU-hours; "
        "2 jobs in 1 cell without history not counted",
        "  jobs per GPU, smollm2_135m zo sst2 bs 16 (peak 2.0 GB): 80 GB: 26, 40 GB: 13, 24 GB: 8",
    ]


def _planned(root: Path, extra_config: str = "") -> Path:
    """A dry run's sweep folder with one planned MeZO job of 100 steps."""
    _finished_job(root, "planned", "zo", purpose="new", status="dry_run")
    config = next((root / "new").rglob("config.yaml"))
    config.write_text(config.read_text().replace("steps: 20", "steps: 100") + extra_config)
    return root / "new" / "2024-05-01_10-00-00"


def test_no_history_is_no_estimate_not_zero_time(tmp_path: Path) -> None:
    budget = budget_lines(_planned(tmp_path), tmp_path)
    assert budget[1:] == [
        "  smollm2_135m/sst2_zo_original: 1 job, no history",
        "  total: 1 job, no estimate: no finished comparable job to take a pace from",
    ]


def test_cpu_jobs_count_in_wall_time_not_gpu_hours(tmp_path: Path) -> None:
    for leaf, per_step in (("lr=1", 1.0), ("lr=2", 2.0), ("lr=3", 30.0)):
        _finished_job(
            tmp_path, leaf, "zo", device="cpu", status="ok", steps_done=20,
            seconds_per_step=per_step, wall_seconds=20 * per_step, peak_memory_mb=900.0,
        )  # fmt: skip
    budget = budget_lines(_planned(tmp_path, "gpus: []\n"), tmp_path)
    # The median of 1, 2 and 30 s/step is 2: one slow outlier does not set the pace.
    assert budget[1:] == [
        "  smollm2_135m/sst2_zo_original: 1 job, 0:03:20 wall one at a time on CPU "
        "(2 s/step, 1-30 over 3 finished jobs)",
        "  total: 1 job, 0:03:20 wall one at a time on CPU",
    ]


def test_only_comparable_jobs_set_the_pace(tmp_path: Path) -> None:
    """Another batch size, or a CPU run for a job that asks for a GPU, is no history."""
    _finished_job(
        tmp_path, "bs=64", "zo", bs=64, status="ok", steps_done=20, seconds_per_step=5.0,
        wall_seconds=100.0,
    )  # fmt: skip
    _finished_job(
        tmp_path, "cpu", "zo", device="cpu", status="ok", steps_done=20, seconds_per_step=9.0,
        wall_seconds=180.0,
    )  # fmt: skip
    planned = _planned(tmp_path, "device: cuda\n")
    assert (
        budget_lines(planned, tmp_path)[1] == "  smollm2_135m/sst2_zo_original: 1 job, no history"
    )
    config = next(planned.rglob("config.yaml"))
    config.write_text(config.read_text().replace("device: cuda", "device: auto"))
    # Left to the machine, the job takes the pace of the CPU runs it has: 9 s x 100 steps.
    assert budget_lines(planned, tmp_path)[1] == (
        "  smollm2_135m/sst2_zo_original: 1 job, 0:15:00 wall one at a time on CPU "
        "(9 s/step from 1 finished job)"
    )


def test_jobs_per_gpu_use_this_machines_gpu_and_parallel_jobs_shorten_the_wall_time(
    tmp_path: Path,
) -> None:
    _history(tmp_path)
    _finished_job(tmp_path, "lr=9", "zo", purpose="new", status="dry_run")  # 20 steps: 30 s
    sweep = tmp_path / "new" / "2024-05-01_10-00-00"
    lines = budget_lines(sweep, tmp_path, parallel=2, gpu_memory_mb=12 * 1024)
    assert "(0:00:15 with 2 at a time)" in lines[-2]
    assert lines[-1].endswith("(peak 2.0 GB): this GPU: 4")
