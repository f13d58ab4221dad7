"""The job config's schema: the trainer's settings plus what only the sweep reads.

Stored in Hydra's ConfigStore and named first in conf/config.yaml's defaults list, so Hydra
checks every value's type as it composes (`lr=abc` never reaches a job). The trainer's part is
zo_sweep.train.settings: its hyperparameters are this config's top-level keys, its run inputs
the `inputs:` node that conf/config.yaml fills from the chosen groups. Every key has a role
(zo_sweep.train.settings.ROLES), which says whether it makes a job the experiment it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from hydra.core.config_store import ConfigStore

from zo_sweep.train.settings import (
    INPUT,
    LOGGING,
    RUN_CONTROL,
    TRAINING,
    Hyperparameters,
    RunInputs,
    role_of,
)

SCHEMA_NAME = "zo_sweep_schema"
GPU_CHOICE_AUTO = "auto"


def role_field(default: Any, role: str) -> Any:
    """A key of the job config with its role (a mutable default is given as a factory)."""
    if callable(default):
        return field(default_factory=default, metadata={"role": role})
    return field(default=default, metadata={"role": role})


@dataclass
class SweepConfig(Hyperparameters):
    """Every top-level key of a composed job config (anything else is refused)."""

    # What this batch of runs is for: the first level of the output path.
    purpose: str = role_field("default", RUN_CONTROL)
    description: str = role_field("", RUN_CONTROL)  # a sentence on the study; shown by the summary
    output_root: str = role_field("outputs", RUN_CONTROL)
    dry_run: bool = role_field(
        False, RUN_CONTROL
    )  # write the job directory and command.sh, run nothing
    resume: bool = role_field(
        False, RUN_CONTROL
    )  # skip a job whose identical config already finished
    job_timeout_min: float | None = role_field(None, RUN_CONTROL)  # end a hung job after this long
    gpus: Any = role_field(
        GPU_CHOICE_AUTO, RUN_CONTROL
    )  # auto, a list of GPU ids, or [] for the CPU
    # One-device jobs that may share one GPU at a time, or auto: as many as fit.
    jobs_per_gpu: Any = role_field(1, RUN_CONTROL)
    # GPUs of one job, whole (its ranks, sharded); a model's option may say more.
    devices_per_job: int = role_field(1, RUN_CONTROL)
    gpu_memory_gb: float = role_field(80, RUN_CONTROL)  # GPU size to plan for where none is
    gpu_lock_dir: str | None = role_field(None, RUN_CONTROL)  # the GPU slots' locks; null: temp dir
    progress_every_s: float = role_field(30, RUN_CONTROL)  # live progress off a terminal; 0: off
    extra_env: dict[str, Any] = role_field(dict, TRAINING)  # more variables for the job's process
    inputs: RunInputs = role_field(RunInputs, INPUT)
    # The config groups' nodes.
    model: Any = role_field(None, INPUT)
    task: Any = role_field(None, INPUT)
    method: Any = role_field(None, INPUT)
    data: Any = role_field(None, INPUT)
    tracker: Any = role_field(None, LOGGING)


def top_level_keys() -> tuple[str, ...]:
    return tuple(spec.name for spec in fields(SweepConfig))


def keys_with_role(*roles: str) -> tuple[str, ...]:
    """The job config's keys (dotted, `inputs.` ones too) that have one of these roles."""
    top = [spec.name for spec in fields(SweepConfig) if role_of(spec) in roles]
    inputs = [f"inputs.{spec.name}" for spec in fields(RunInputs) if role_of(spec) in roles]
    return (*top, *inputs)


def register_schema() -> None:
    """Make the schema available to conf/config.yaml's defaults list (idempotent)."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=SweepConfig)
