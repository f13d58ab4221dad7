"""A job's memory plan from its config: whether it fits the GPUs it would get, and how many
one-device jobs share a GPU (`jobs_per_gpu=auto`).

The plan itself is the trainer's (zo_sweep.train.gpu_fit); here the sweep says where a job would
run: its model's architecture (config.json on this machine, else the model's `params`), its
devices per job, and the size of a GPU (this machine's, else `gpu_memory_gb`). A job that runs
on the CPU (`device=cpu`, `gpus=[]`) is not planned against a GPU, and neither is a script of
your own (`method.script`): what it holds is its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from omegaconf import DictConfig, ListConfig, OmegaConf

from zo_sweep.errors import ConfigError
from zo_sweep.sweep.gpu_slots import AUTO
from zo_sweep.train import gpu_fit
from zo_sweep.train.architecture import Architecture, model_architecture
from zo_sweep.train.gpu_fit import fit_problem, job_shape, jobs_per_gpu_that_fit
from zo_sweep.train.memory_plan import JobShape, plan_memory
from zo_sweep.train.settings import TrainSettings


@dataclass(frozen=True)
class Placement:
    """What a job's config says about where it runs, beside its trainer settings."""

    name: str  # the model's short name, for the refusal's line
    params: int | None  # the model YAML's size, where no config.json is at hand
    devices: int
    gpu_memory_gb: float
    on_cpu: bool  # `gpus: []` hides every GPU from the job
    own_trainer: bool  # not a script of your own
    dry_run: bool  # a plan only: the dry run shows a job that would not fit, and exits 2

    @classmethod
    def of(cls, cfg: DictConfig) -> Placement:
        params = OmegaConf.select(cfg, "model.params", default=None)
        return cls(
            name=str(OmegaConf.select(cfg, "model.name", default="model")),
            params=int(params) if params else None,
            devices=int(cfg.get("devices_per_job") or 1),
            gpu_memory_gb=float(cfg.get("gpu_memory_gb") or 80),
            on_cpu=isinstance(cfg.get("gpus"), ListConfig | list) and not cfg.get("gpus"),
            own_trainer=OmegaConf.select(cfg, "method.script", default=None) is None,
            dry_run=bool(cfg.get("dry_run")),
        )


def job_plan(placement: Placement, settings: TrainSettings) -> tuple[Architecture, JobShape] | None:
    """The job's architecture and shape, or None where nothing is known of the model's size."""
    architecture = model_architecture(settings.model, params=placement.params)
    if architecture is None:
        return None
    shape = job_shape(settings, devices=placement.devices)  # MeZO's precision: its zo_weights
    return architecture, shape


def memory_problem(placement: Placement, settings: TrainSettings) -> str | None:
    """One line if the job cannot fit the GPUs it would get (and what would), else None."""
    if placement.on_cpu or settings.device == "cpu" or not placement.own_trainer:
        return None
    planned = job_plan(placement, settings)
    if planned is None:
        return None
    architecture, shape = planned
    return fit_problem(placement.name, architecture, shape, planning_gpu_bytes(placement))


def check_memory(placement: Placement, settings: TrainSettings) -> None:
    """ConfigError (the plan's one line) for a job that cannot fit its GPUs; a dry run goes on
    to show every job's plan, and refuses at its end (zo_sweep.sweep.dry_run)."""
    problem = memory_problem(placement, settings)
    if problem is not None and not placement.dry_run:
        raise ConfigError(problem)


def jobs_per_gpu(cfg: DictConfig, settings: TrainSettings) -> int:
    """`jobs_per_gpu` as a number: as given, or for `auto` as many of this job as its plan fits
    on one GPU (1 where nothing is known of the model, or the job spans several)."""
    setting = cfg.get("jobs_per_gpu")
    if setting != AUTO:
        return int(setting or 1)
    placement = Placement.of(cfg)
    planned = job_plan(placement, settings)
    if planned is None or placement.devices > 1:
        return 1
    architecture, shape = planned
    plan = plan_memory(architecture, shape)
    return max(1, jobs_per_gpu_that_fit(plan, planning_gpu_bytes(placement)))


def planning_gpu_bytes(placement: Placement) -> float:
    return _gpu_bytes(placement.gpu_memory_gb)


@cache
def _gpu_bytes(gpu_memory_gb: float) -> float:
    # nvidia-smi once per process, not once per job.
    return gpu_fit.planning_gpu_bytes(gpu_memory_gb)[0]
