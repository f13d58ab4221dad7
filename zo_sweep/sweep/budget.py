"""The budget of a dry run: wall time and GPU-hours of its jobs, from the jobs that already ran.

A finished job records its seconds per training step, its wall time, its peak memory and the
kind of device it ran on. A job of the same model, method, task and batch size on the same
kind of device takes about the same time per step, so a planned job costs the fixed part of
those comparable runs (loading, evaluations) plus its steps at their pace: medians over the
comparable jobs, reported with their spread. Cells with no such history say so, and so does a
total that has none. Only jobs on a GPU count in GPU-hours; CPU jobs count in wall time. The
recorded peak memory of GPU runs tells how many jobs share one GPU.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zo_sweep import records
from zo_sweep.jobdir.config import RowProblem, config_fields, read_config
from zo_sweep.jobdir.progress import format_eta
from zo_sweep.sweep import status as sweep_status

# What a GPU job needs beyond the memory torch reports: the CUDA context and allocator slack.
CONTEXT_MB = 1024
REFERENCE_GPUS_GB = (80, 40, 24)
GPU = "cuda"
CPU = "cpu"
UNKNOWN_DEVICE = "unknown"
# A job left to choose its device (device=auto) runs where a GPU is, if the history had one.
AUTO_PREFERENCE = (GPU, CPU, UNKNOWN_DEVICE)
HEADER = (
    "budget (pace of finished jobs of the same model, method, task and batch size, "
    "on the same kind of device):"
)

# What sets the time of a training step: (model, method, task, batch size).
Workload = tuple[str, str, str, str]


@dataclass(frozen=True)
class Pace:
    """How the comparable finished jobs ran: medians, and the spread of seconds per step."""

    seconds_per_step: float
    slowest_step: float
    fastest_step: float
    fixed_seconds: float
    jobs: int
    device: str
    gpu_peak_mb: float | None

    def job_seconds(self, steps: int) -> float:
        return self.fixed_seconds + self.seconds_per_step * steps

    def describe(self) -> str:
        """`0.5 s/step, 0.4-0.6 over 2 finished jobs` (one job has no spread)."""
        if self.jobs == 1:
            return f"{self.seconds_per_step:.3g} s/step from 1 finished job"
        return (
            f"{self.seconds_per_step:.3g} s/step, {self.fastest_step:.3g}-{self.slowest_step:.3g} "
            f"over {self.jobs} finished jobs"
        )


@dataclass(frozen=True)
class PlannedJob:
    cell: str
    workload: Workload
    device: str | None  # what its config asks for; None leaves it to the machine (auto)
    steps: int


@dataclass
class Totals:
    jobs: int = 0
    seconds: float = 0.0
    gpu_seconds: float = 0.0
    cpu_seconds: float = 0.0


def budget_lines(
    sweep_dir: Path, output_root: Path, parallel: int = 1, gpu_memory_mb: float | None = None
) -> list[str]:
    """The budget report of the jobs under sweep_dir, from the history under output_root."""
    planned = planned_jobs(sweep_dir)
    paces = history(output_root, exclude=sweep_dir)
    by_cell: dict[str, list[PlannedJob]] = defaultdict(list)
    for job in planned:
        by_cell[job.cell].append(job)
    lines = [HEADER]
    known, unknown = Totals(), []
    used: set[tuple[str, ...]] = set()
    for cell, jobs in sorted(by_cell.items()):
        pace = pace_for(jobs[0], paces)
        if pace is None:
            unknown.append(cell)
            lines.append(f"  {cell}: {len(jobs)} job{'s' if len(jobs) != 1 else ''}, no history")
            continue
        used.add((*jobs[0].workload, pace.device))
        seconds = sum(pace.job_seconds(job.steps) for job in jobs)
        _add(known, len(jobs), seconds, pace.device)
        lines.append(
            f"  {cell}: {len(jobs)} job{'s' if len(jobs) != 1 else ''}, "
            f"{_cost(seconds, pace.device)} ({pace.describe()})"
        )
    lines.append(_total_line(known, parallel, len(planned), unknown))
    lines += _memory_lines(paces, used, gpu_memory_mb)
    return lines


def planned_jobs(sweep_dir: Path) -> list[PlannedJob]:
    jobs = []
    for job_dir in sweep_status.job_dirs(sweep_dir):
        config = _config(job_dir)
        if config is None:
            continue
        fields = config_fields(config)
        cell = f"{fields['model']}/{fields['task']}_{fields['method']}_{fields['data']}"
        steps = int(float(fields.get("steps") or 0))
        jobs.append(PlannedJob(cell, _workload(fields), planned_device(config), steps))
    return jobs


def planned_device(config: dict[str, Any]) -> str | None:
    """The kind of device a job's config asks for: `cpu`, `cuda`, or None (auto)."""
    device = str(config.get("device") or "auto").lower()
    if device.startswith(GPU):
        return GPU
    if device == CPU or config.get("gpus") == []:
        return CPU
    return None


def history(output_root: Path, exclude: Path) -> dict[tuple[str, ...], Pace]:
    """The pace of every workload and kind of device with finished jobs under output_root."""
    runs: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    excluded = exclude.resolve()
    for job_dir in sweep_status.job_dirs(output_root):
        if job_dir.resolve().is_relative_to(excluded):
            continue
        result = _finished_result(job_dir)
        config = _config(job_dir) if result is not None else None
        if config is not None:
            device = str((result.get("environment") or {}).get("device_type") or UNKNOWN_DEVICE)
            runs[(*_workload(config_fields(config)), device)].append(result)
    return {key: _pace(results, device=key[-1]) for key, results in runs.items()}


def pace_for(job: PlannedJob, paces: dict[tuple[str, ...], Pace]) -> Pace | None:
    """The pace of the comparable jobs, on the device the job asks for (auto: a GPU first)."""
    devices = (job.device,) if job.device else AUTO_PREFERENCE
    for device in devices:
        if (pace := paces.get((*job.workload, device))) is not None:
            return pace
    return None


def local_gpu_memory_mb() -> float | None:
    """Total memory of this machine's first GPU, or None without one."""
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_properties(0).total_memory / 2**20
    except (ImportError, RuntimeError):
        pass
    return None


def _workload(fields: dict[str, Any]) -> Workload:
    bs = fields.get("bs")
    bs_text = f"{float(bs):g}" if isinstance(bs, int | float) else str(bs)
    return (str(fields["model"]), str(fields["method"]), str(fields.get("task")), bs_text)


def _finished_result(job_dir: Path) -> dict[str, Any] | None:
    try:
        result = records.read_result(job_dir)
    except ValueError:
        return None
    usable = result and result.get("status") == records.OK
    pace = usable and isinstance(result.get("seconds_per_step"), int | float)
    return result if pace and result.get("steps_done") else None


def _config(job_dir: Path) -> dict[str, Any] | None:
    try:
        config = read_config(job_dir)
    except RowProblem:
        return None
    fields = config_fields(config)
    return config if all(fields.get(key) for key in ("model", "method")) else None


def _pace(results: list[dict[str, Any]], device: str) -> Pace:
    per_step = [float(r["seconds_per_step"]) for r in results]
    fixed = statistics.median(
        max(0.0, float(r.get("wall_seconds") or 0) - float(r["seconds_per_step"]) * r["steps_done"])
        for r in results
    )
    gpu_peaks = [
        float(r["peak_memory_mb"]) for r in results if device == GPU and r.get("peak_memory_mb")
    ]
    return Pace(
        seconds_per_step=statistics.median(per_step),
        slowest_step=max(per_step),
        fastest_step=min(per_step),
        fixed_seconds=fixed,
        jobs=len(results),
        device=device,
        gpu_peak_mb=max(gpu_peaks) if gpu_peaks else None,
    )


def _add(totals: Totals, jobs: int, seconds: float, device: str) -> None:
    totals.jobs += jobs
    totals.seconds += seconds
    if device == GPU:
        totals.gpu_seconds += seconds
    elif device == CPU:
        totals.cpu_seconds += seconds


def _cost(seconds: float, device: str) -> str:
    """`0:02:20 wall one at a time, 0.04 GPU-hours`; CPU time is no GPU time."""
    wall = f"{format_eta(seconds)} wall one at a time"
    if device == GPU:
        return f"{wall}, {seconds / 3600:.2f} GPU-hours"
    return f"{wall} on {'CPU' if device == CPU else 'an unknown device'}"


def _total_line(known: Totals, parallel: int, jobs: int, unknown: list[str]) -> str:
    planned = f"{jobs} job{'s' if jobs != 1 else ''}"
    if not known.jobs:
        return f"  total: {planned}, no estimate: no finished comparable job to take a pace from"
    counted = "" if known.jobs == jobs else f" (the {known.jobs} with history)"
    line = f"  total: {planned}{counted}, {format_eta(known.seconds)} wall one at a time"
    if parallel > 1:
        line += f" ({format_eta(known.seconds / parallel)} with {parallel} at a time)"
    if known.gpu_seconds:
        line += f", {known.gpu_seconds / 3600:.2f} GPU-hours"
    if known.cpu_seconds == known.seconds:
        line += " on CPU"
    elif known.cpu_seconds:
        line += f", {format_eta(known.cpu_seconds)} of it on CPU"
    if unknown:
        cells = f"{len(unknown)} cell{'s' if len(unknown) > 1 else ''}"
        left = jobs - known.jobs
        line += f"; {left} job{'s' if left != 1 else ''} in {cells} without history not counted"
    return line


def _memory_lines(
    paces: dict[tuple[str, ...], Pace],
    used: Iterable[tuple[str, ...]],
    gpu_memory_mb: float | None,
) -> list[str]:
    lines = []
    for key in sorted(used):
        pace = paces[key]
        if pace.gpu_peak_mb is None:
            continue
        model, method, task, bs = key[:4]
        need = pace.gpu_peak_mb + CONTEXT_MB
        sizes = (
            [("this GPU", gpu_memory_mb)]
            if gpu_memory_mb
            else [(f"{gb} GB", gb * 1024.0) for gb in REFERENCE_GPUS_GB]
        )
        fits = ", ".join(f"{name}: {int(memory // need)}" for name, memory in sizes)
        lines.append(
            f"  jobs per GPU, {model} {method} {task} bs {bs} "
            f"(peak {pace.gpu_peak_mb / 1024:.1f} GB): {fits}"
        )
    return lines
