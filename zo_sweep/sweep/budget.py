"""The budget of a dry run: wall time and GPU-hours of its jobs, from the jobs that already ran.

A finished job records its seconds per training step, its wall time and its peak memory. A job
of the same model and method takes about the same time per step, so a planned job costs the
fixed part of those runs (loading, evaluations) plus its steps at their pace (medians over the
finished jobs). Cells with no such history say so. The recorded peak memory of GPU runs tells
how many jobs share one GPU.
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


@dataclass(frozen=True)
class Pace:
    """How the finished jobs of one model and method ran."""

    seconds_per_step: float
    fixed_seconds: float
    jobs: int
    gpu_peak_mb: float | None

    def job_seconds(self, steps: int) -> float:
        return self.fixed_seconds + self.seconds_per_step * steps


@dataclass(frozen=True)
class PlannedJob:
    cell: str
    model: str
    method: str
    steps: int


def budget_lines(
    sweep_dir: Path, output_root: Path, parallel: int = 1, gpu_memory_mb: float | None = None
) -> list[str]:
    """The budget report of the jobs under sweep_dir, from the history under output_root."""
    planned = planned_jobs(sweep_dir)
    paces = history(output_root, exclude=sweep_dir)
    by_cell: dict[str, list[PlannedJob]] = defaultdict(list)
    for job in planned:
        by_cell[job.cell].append(job)
    lines = ["budget (pace of finished jobs of the same model and method):"]
    total, unknown = 0.0, []
    for cell, jobs in sorted(by_cell.items()):
        pace = paces.get((jobs[0].model, jobs[0].method))
        if pace is None:
            unknown.append(cell)
            lines.append(f"  {cell}: {len(jobs)} jobs, no history")
            continue
        seconds = sum(pace.job_seconds(job.steps) for job in jobs)
        total += seconds
        lines.append(
            f"  {cell}: {len(jobs)} jobs, {format_eta(seconds)} wall one at a time, "
            f"{seconds / 3600:.2f} GPU-hours ({pace.seconds_per_step:.3g} s/step from "
            f"{pace.jobs} finished jobs)"
        )
    lines.append(_total_line(total, parallel, len(planned), unknown))
    lines += _memory_lines(paces, {(job.model, job.method) for job in planned}, gpu_memory_mb)
    return lines


def planned_jobs(sweep_dir: Path) -> list[PlannedJob]:
    jobs = []
    for job_dir in sweep_status.job_dirs(sweep_dir):
        fields = _fields(job_dir)
        if fields is None:
            continue
        cell = f"{fields['model']}/{fields['task']}_{fields['method']}_{fields['data']}"
        steps = int(float(fields.get("steps") or 0))
        jobs.append(PlannedJob(cell, str(fields["model"]), str(fields["method"]), steps))
    return jobs


def history(output_root: Path, exclude: Path) -> dict[tuple[str, str], Pace]:
    """The pace of every (model, method) with finished jobs under output_root."""
    runs: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    excluded = exclude.resolve()
    for job_dir in sweep_status.job_dirs(output_root):
        if job_dir.resolve().is_relative_to(excluded):
            continue
        result = _finished_result(job_dir)
        fields = _fields(job_dir) if result is not None else None
        if fields is not None:
            runs[(str(fields["model"]), str(fields["method"]))].append(result)
    return {key: _pace(results) for key, results in runs.items()}


def local_gpu_memory_mb() -> float | None:
    """Total memory of this machine's first GPU, or None without one."""
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_properties(0).total_memory / 2**20
    except (ImportError, RuntimeError):
        pass
    return None


def _finished_result(job_dir: Path) -> dict[str, Any] | None:
    try:
        result = records.read_result(job_dir)
    except ValueError:
        return None
    usable = result and result.get("status") == records.OK
    pace = usable and isinstance(result.get("seconds_per_step"), int | float)
    return result if pace and result.get("steps_done") else None


def _fields(job_dir: Path) -> dict[str, Any] | None:
    try:
        fields = config_fields(read_config(job_dir))
    except RowProblem:
        return None
    return fields if all(fields.get(key) for key in ("model", "method")) else None


def _pace(results: list[dict[str, Any]]) -> Pace:
    per_step = statistics.median(float(r["seconds_per_step"]) for r in results)
    fixed = statistics.median(
        max(0.0, float(r.get("wall_seconds") or 0) - float(r["seconds_per_step"]) * r["steps_done"])
        for r in results
    )
    gpu_peaks = [
        float(r["peak_memory_mb"])
        for r in results
        if (r.get("environment") or {}).get("device_type") == "cuda" and r.get("peak_memory_mb")
    ]
    return Pace(per_step, fixed, len(results), max(gpu_peaks) if gpu_peaks else None)


def _total_line(total: float, parallel: int, jobs: int, unknown: list[str]) -> str:
    line = f"  total: {jobs} jobs, {format_eta(total)} wall one at a time"
    if parallel > 1:
        line += f" ({format_eta(total / parallel)} with {parallel} at a time)"
    line += f", {total / 3600:.2f} GPU-hours"
    if unknown:
        line += (
            f"; {len(unknown)} cell{'s' if len(unknown) > 1 else ''} without history not counted"
        )
    return line


def _memory_lines(
    paces: dict[tuple[str, str], Pace],
    planned: Iterable[tuple[str, str]],
    gpu_memory_mb: float | None,
) -> list[str]:
    lines = []
    for model, method in sorted(planned):
        pace = paces.get((model, method))
        if pace is None or pace.gpu_peak_mb is None:
            continue
        need = pace.gpu_peak_mb + CONTEXT_MB
        sizes = (
            [("this GPU", gpu_memory_mb)]
            if gpu_memory_mb
            else [(f"{gb} GB", gb * 1024.0) for gb in REFERENCE_GPUS_GB]
        )
        fits = ", ".join(f"{name}: {int(memory // need)}" for name, memory in sizes)
        lines.append(
            f"  jobs per GPU, {model} {method} (peak {pace.gpu_peak_mb / 1024:.1f} GB): {fits}"
        )
    return lines
