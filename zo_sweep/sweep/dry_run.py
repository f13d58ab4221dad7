"""What a dry run prints: its jobs in a table, one line each, and their memory per device.

    job              model         task  method  data         lr  bs  steps  seed  memory
    lr=0.001,seed=0  smollm2_135m  sst2  zo      original  0.001  16  20000     0  ≥1.6 GB/GPU
    memory plan per device (GPUs of 80 GB: gpu_memory_gb=80), from each model's parameter
    count (activations not counted):
      smollm2_135m zo (fp32 masters): 1.6 GB per GPU (weights 0.50, ...); 8 jobs per 80 GB GPU

The command of each job stays in its command.sh (1,000 characters each: a table of 18 jobs used
to print 27 KB of them). The plan (zo_sweep.train.gpu_fit) is made where it is cheap: from a
model's config.json when torch and transformers are loaded already, else from the parameter
count in its YAML, which leaves activations out (the memory column then says `≥`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from zo_sweep.jobdir.config import RowProblem, config_fields, read_config
from zo_sweep.sweep import status as sweep_status
from zo_sweep.sweep.progress_table import cut, layout, shorten_start
from zo_sweep.train.architecture import Architecture, model_architecture
from zo_sweep.train.gpu_fit import fit_problem, fits, gb, job_shape, plan_line, planning_gpu_bytes
from zo_sweep.train.memory_plan import MemoryPlan, plan_memory
from zo_sweep.train.settings import TrainSettings

SETTINGS_FILE = "train.yaml"
CELL_COLUMNS = ("model", "task", "method", "data")
KEY_SETTINGS = ("lr", "bs", "steps", "seed")
SHORTEST_NAME = 12
# The columns a narrow terminal loses first, where every job has the same value.
SHARED_DROPPED_FIRST = ("data", "task", "model", "bs", "steps", "method", "seed", "lr")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SETTING_NAMES = frozenset(spec.name for spec in fields(TrainSettings))


@dataclass(frozen=True)
class PlannedJob:
    name: str
    cells: dict[str, str]
    plan: MemoryPlan | None
    architecture: Architecture | None = None


def dry_run_report(
    root: Path, gpu_memory_gb: float, width: int | None = None
) -> tuple[list[str], list[str]]:
    """The table of the jobs under root (fitted to width), then each kind of job's plan; and
    the line the real sweep would refuse each kind of job by, once each."""
    job_dirs = sweep_status.job_dirs(root)
    if not job_dirs:
        return [], []
    gpu_bytes, gpu_source = planning_gpu_bytes(gpu_memory_gb)
    # The model, task, method and data have columns: a job's own folder (its varied keys)
    # tells it from the others of its cell.
    jobs = [_planned(job_dir, job_dir.name) for job_dir in job_dirs]
    table = _table(jobs, "job", gpu_bytes, width)
    return table + _plan_lines(jobs, gpu_bytes, gpu_source), _refusals(jobs, gpu_bytes)


def _refusals(jobs: list[PlannedJob], gpu_bytes: float) -> list[str]:
    lines: dict[str, None] = {}
    for job in jobs:
        if job.plan is not None and job.architecture is not None:
            problem = fit_problem(job.cells["model"], job.architecture, job.plan.shape, gpu_bytes)
            if problem is not None:
                lines[problem] = None
    return list(lines)


def _planned(job_dir: Path, name: str) -> PlannedJob:
    try:
        config = read_config(job_dir)
    except RowProblem:
        config = {}
    values = config_fields(config)
    cells = {key: _text(values.get(key)) for key in (*CELL_COLUMNS, *KEY_SETTINGS)}
    settings = _settings(job_dir)
    model = config.get("model") if isinstance(config.get("model"), dict) else {}
    if settings is None:
        return PlannedJob(name, cells, None)
    architecture = _architecture(settings.model, model.get("params"))
    if architecture is None:
        return PlannedJob(name, cells, None)
    try:
        plan = plan_memory(architecture, job_shape(settings, devices=_devices(config, model)))
    except ValueError:  # a method the plan does not know (a script of one's own)
        plan = None
    return PlannedJob(name, cells, plan, architecture)


def _devices(config: dict[str, Any], model: dict[str, Any]) -> int:
    """devices_per_job as the job ran with it: given, or the model's (the config's default
    reads it through an interpolation, left as text in the snapshot)."""
    for value in (config.get("devices_per_job"), model.get("devices_per_job")):
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return 1


def _settings(job_dir: Path) -> TrainSettings | None:
    """The trainer's settings the job wrote (train.yaml), read fast: no OmegaConf, no checks
    (the job checked them before writing)."""
    try:
        with open(job_dir / SETTINGS_FILE, "rb") as handle:
            values = yaml.load(handle, Loader=_YAML_LOADER)
        return TrainSettings(**{k: v for k, v in values.items() if k in _SETTING_NAMES})
    except (OSError, yaml.YAMLError, AttributeError, TypeError):
        return None


def _architecture(model_id: str, params: Any) -> Architecture | None:
    """The exact architecture where torch and transformers are loaded already (building it
    costs their import, seconds); else the size the model's YAML gives; else nothing."""
    if "torch" in sys.modules and "transformers" in sys.modules:
        return model_architecture(model_id, params=params)
    if isinstance(params, int) and params > 0:
        return Architecture.from_params(params, f"params: {params} in the model's config")
    return None


def _table(
    jobs: list[PlannedJob], job_title: str, gpu_bytes: float, width: int | None
) -> list[str]:
    keys = [*CELL_COLUMNS, *KEY_SETTINGS]
    titles = [job_title, *keys, "memory"]
    right = [False] * (1 + len(CELL_COLUMNS)) + [True] * len(KEY_SETTINGS) + [False]
    rows = [[job.name, *(job.cells[key] for key in keys), _memory(job, gpu_bytes)] for job in jobs]
    if width is None:
        return layout(titles, rows, right)
    # Too wide for the terminal: what every job shares goes first, then the names' start.
    for key in SHARED_DROPPED_FIRST:
        if max(map(len, layout(titles, rows, right))) <= width:
            break
        column = titles.index(key)
        if len({row[column] for row in rows}) == 1:
            titles, right = _without(titles, column), _without(right, column)
            rows = [_without(row, column) for row in rows]
    excess = max(map(len, layout(titles, rows, right))) - width
    if excess > 0:
        room = max(SHORTEST_NAME, max(len(row[0]) for row in [titles, *rows]) - excess)
        titles = [shorten_start(titles[0], room), *titles[1:]]
        rows = [[shorten_start(row[0], room), *row[1:]] for row in rows]
    return [cut(line, width) for line in layout(titles, rows, right)]


def _without(items: list[Any], index: int) -> list[Any]:
    return items[:index] + items[index + 1 :]


def _memory(job: PlannedJob, gpu_bytes: float) -> str:
    """`1.6 GB/GPU`, `≥1.6 GB/GPU` (activations not counted), `27.9 GB/GPU x8, does not fit`."""
    plan = job.plan
    if plan is None:
        return "?"
    shape = plan.shape
    where = "GPU" if shape.device_type == "cuda" else "process"
    text = f"{'' if plan.complete else '≥'}{gb(plan.per_device)} GB/{where}"
    if shape.devices > 1:
        text += f" x{shape.devices}"
    if shape.device_type == "cuda" and not fits(plan, gpu_bytes):
        text += ", does not fit"
    return text


def _plan_lines(jobs: list[PlannedJob], gpu_bytes: float, gpu_source: str) -> list[str]:
    """Each kind of job's plan once, with what it is made of."""
    plans: dict[str, str] = {}
    for job in jobs:
        if job.plan is not None:
            line = plan_line(job.cells["model"], job.plan, gpu_bytes)
            plans.setdefault(line, line)
    if not plans:
        return []
    complete = all(job.plan is None or job.plan.complete for job in jobs)
    source = "" if complete else ", from each model's parameter count (activations not counted)"
    head = f"memory plan per device (GPUs of {gb(gpu_bytes)} GB: {gpu_source}){source}:"
    return [head, *(f"  {line}" for line in plans)]


def _text(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
