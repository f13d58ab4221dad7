"""The sweep config's schema: the trainer's settings plus what only the sweep reads.

Stored in Hydra's ConfigStore and named first in conf/config.yaml's defaults list, so Hydra
checks every value's type as it composes (`lr=abc` never reaches a job). The trainer's part is
zo_sweep.train.settings: its hyperparameters are this config's top-level keys, its run inputs
the `inputs:` node that conf/config.yaml fills from the chosen groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from hydra.core.config_store import ConfigStore

from zo_sweep.train.settings import Hyperparameters, RunInputs

SCHEMA_NAME = "zo_sweep_schema"
GPU_CHOICE_AUTO = "auto"


@dataclass
class SweepConfig(Hyperparameters):
    """Every top-level key of a composed job config (anything else is refused)."""

    purpose: str = "default"  # first level of the output path: what this batch of runs is for
    description: str = ""  # a sentence on what the study is for; shown by the summary
    output_root: str = "outputs"
    dry_run: bool = False  # compose, write the job directory and command.sh, run nothing
    resume: bool = False  # skip a job whose identical config already finished under this purpose
    job_timeout_min: float | None = None  # end a hung job after this many minutes
    gpus: Any = GPU_CHOICE_AUTO  # auto, a list of GPU ids, or [] for the CPU
    jobs_per_gpu: int = 1  # jobs that may share one GPU at a time
    gpu_lock_dir: str | None = None  # lock files of the GPU slots; null: the system's temp dir
    progress_every_s: float = 30  # live progress when stdout is no terminal; 0: off
    extra_env: dict[str, Any] = field(default_factory=dict)  # more variables for the script
    inputs: RunInputs = field(default_factory=RunInputs)
    # The config groups' nodes.
    model: Any = None
    task: Any = None
    method: Any = None
    data: Any = None
    tracker: Any = None


def top_level_keys() -> tuple[str, ...]:
    return tuple(spec.name for spec in fields(SweepConfig))


def register_schema() -> None:
    """Make the schema available to conf/config.yaml's defaults list (idempotent)."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=SweepConfig)
