"""Check a composed job config before anything runs, and say what is wrong in one line.

Types were checked by Hydra as it composed (the schema in zo_sweep.jobdir.schema); the trainer's
ranges and choices come from its schema's field rules (zo_sweep.train.settings). Here follow
what only the sweep reads (job control), keys that no part reads, the task as composed, and
the checks that need the file system: existing data folders and an existing script.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from zo_sweep import RESOURCE_ROOT
from zo_sweep.errors import ConfigError
from zo_sweep.jobdir.schema import GPU_CHOICE_AUTO, top_level_keys
from zo_sweep.sweep.folders import check_folder_names
from zo_sweep.sweep.gpu_slots import detect_gpus, scheduler_placed
from zo_sweep.sweep.handoff import SWEEP_KEYS, job_settings
from zo_sweep.sweep.job_memory import Placement, check_memory
from zo_sweep.sweep.one_line import one_line_message, unknown_key_message
from zo_sweep.train.settings import TrainSettings, check, env_fields

# Launchers that run jobs on other machines (SLURM's nodes): the GPUs there are not ours to see.
REMOTE_LAUNCHER = "Slurm"

__all__ = [
    "ConfigError",
    "check_settings",
    "resolve_script",
    "validate_job_config",
    "validate_job_context",
]


def validate_job_config(cfg: DictConfig, job_dir: Path | None = None) -> TrainSettings:
    """The trainer's settings of a job config (writing to job_dir), built and checked;
    ConfigError (one line) if the config cannot make a sensible run, or cannot fit the GPUs it
    would get."""
    settings = validate_job_context(cfg, job_dir)
    check_settings(settings)
    check_memory(Placement.of(cfg), settings)
    return settings


def validate_job_context(cfg: DictConfig, job_dir: Path | None = None) -> TrainSettings:
    """Every check but the trainer's own rules; returns the (unchecked) trainer settings.

    Jobs of a grid that differ only in hyperparameters share this part (zo_sweep.sweep.grid_check).
    """
    _check_known_keys(cfg)
    check_folder_names(cfg)
    _check_job_control(cfg)
    _check_extra_env(cfg)
    settings = _resolved_settings(cfg, job_dir)
    _check_task(settings)
    _check_data_folders(settings)
    _check_method_args(OmegaConf.select(cfg, "method.args", default=None))
    cwd = OmegaConf.select(cfg, "method.cwd", default=None)
    if cwd and not Path(str(cwd)).expanduser().is_dir():
        raise ConfigError(f"method.cwd: no such folder '{cwd}'")
    script = OmegaConf.select(cfg, "method.script", default=None)
    if script is not None:
        resolve_script(str(script), Path(str(cwd)).expanduser() if cwd else None)
    return settings


def _resolved_settings(cfg: DictConfig, job_dir: Path | None) -> TrainSettings:
    """The trainer's settings, resolving the config; a resolver's error is one line."""
    try:
        return job_settings(cfg, job_dir, checked=False)
    except OmegaConfBaseException as err:
        raise ConfigError(one_line_message(err) or str(err)) from None


def check_settings(settings: TrainSettings) -> None:
    """The trainer's rules (zo_sweep.train.settings), named as the sweep config spells them."""
    check(settings, SWEEP_KEYS)


def resolve_script(script: str, cwd: Path | None = None) -> Path:
    """A script path: as given if absolute, else under `cwd` (method.cwd) if set, else under
    the current folder, else zo_sweep's."""
    path = Path(script).expanduser()
    folders = [cwd] if cwd else []
    candidates = [path] if path.is_absolute() else [f / path for f in (*folders, Path.cwd())]
    if not path.is_absolute():
        candidates.append(RESOURCE_ROOT / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigError(f"method.script: no such script '{script}'")


def _check_known_keys(cfg: DictConfig) -> None:
    """A key no part reads (`+learning_rate=1e-6`) would silently change nothing."""
    for key in cfg:
        if key not in (*top_level_keys(), "hydra"):
            raise ConfigError(unknown_key_message(str(key)))


def _check_job_control(cfg: DictConfig) -> None:
    timeout = cfg.get("job_timeout_min")
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise ConfigError(f"job_timeout_min={timeout}: must be a positive number of minutes")
    _check_jobs_per_gpu(cfg.get("jobs_per_gpu"))
    devices = cfg.get("devices_per_job")
    if devices is not None and devices < 1:
        raise ConfigError(f"devices_per_job={devices}: must be >= 1")
    memory = cfg.get("gpu_memory_gb")
    if memory is not None and not (math.isfinite(memory) and memory > 0):
        raise ConfigError(f"gpu_memory_gb={memory}: must be a positive number of GB")
    _check_gpus(cfg.get("gpus"))
    _check_devices_available(cfg.get("gpus"), devices)
    _check_gpus_exist(cfg)


def _check_jobs_per_gpu(jobs: Any) -> None:
    if jobs is None or jobs == GPU_CHOICE_AUTO:
        return
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ConfigError(f"jobs_per_gpu={jobs}: use a number >= 1, or auto (as many as fit)")


def _check_devices_available(gpus: Any, devices: int | None) -> None:
    """A job of more GPUs than the sweep is given would wait for ever."""
    if not devices or devices == 1 or not isinstance(gpus, ListConfig | list) or not gpus:
        return
    if devices > len(gpus):
        raise ConfigError(
            f"devices_per_job={devices} but gpus={list(gpus)} gives the sweep only {len(gpus)}"
        )


def _check_gpus(gpus: Any) -> None:
    if gpus is None or gpus == GPU_CHOICE_AUTO:
        return
    if isinstance(gpus, ListConfig | list) and all(
        isinstance(gpu, int) and not isinstance(gpu, bool) and gpu >= 0 for gpu in gpus
    ):
        return
    raise ConfigError(f"gpus={gpus}: use auto, a list of GPU ids such as [0,1], or [] for the CPU")


def _check_gpus_exist(cfg: DictConfig) -> None:
    """A GPU the machine lacks would quietly drop out of the pool (`gpus=[0,99]` runs on 0).

    Checked where the sweep starts its jobs on this machine: a cluster's launcher places them
    on nodes of their own, and a job SLURM placed has its GPUs already.
    """
    gpus = cfg.get("gpus")
    launcher = str(OmegaConf.select(cfg, "hydra.launcher._target_", default="") or "")
    if not isinstance(gpus, ListConfig | list) or not launcher or REMOTE_LAUNCHER in launcher:
        return
    if scheduler_placed():
        return
    present = machine_gpus()
    if not all(gpu.isdigit() for gpu in present):
        return  # GPUs named by UUID (CUDA_VISIBLE_DEVICES=GPU-...): ids cannot be matched
    missing = [gpu for gpu in gpus if str(gpu) not in present]
    if missing:
        has = f"GPU {', '.join(present)}" if present else "no GPU"
        named = ", ".join(str(gpu) for gpu in missing)
        raise ConfigError(f"gpus={_listed(gpus)}: this machine has no GPU {named} (it has {has})")


def machine_gpus() -> list[str]:
    """The GPU ids jobs on this machine may use: those of the pool's own detection, else one
    per NVIDIA device file (a container without nvidia-smi)."""
    found = detect_gpus()
    if found or "CUDA_VISIBLE_DEVICES" in os.environ:
        return found
    devices = [path.name for path in Path("/dev").glob("nvidia*")]
    count = sum(1 for name in devices if re.fullmatch(r"nvidia\d+", name))
    return [str(index) for index in range(count)]


def _listed(values: Any) -> str:
    return f"[{','.join(str(value) for value in values)}]"


def _check_method_args(args: Any) -> None:
    """The script's arguments are a list of words: a string would go letter by letter."""
    if args is None:
        return
    if not isinstance(args, ListConfig | list):
        raise ConfigError(f"method.args={args!r}: use a list, such as 'method.args=[--fp16,False]'")
    for arg in args:
        if isinstance(arg, DictConfig | ListConfig | dict | list):
            raise ConfigError(
                f"method.args: {OmegaConf.to_container(arg) if OmegaConf.is_config(arg) else arg} "
                "is not one word; use a flat list, such as 'method.args=[--fp16,False]'"
            )


def _check_extra_env(cfg: DictConfig) -> None:
    """A trainer setting set through extra_env would disagree with train.yaml."""
    by_env = {env: name for name, env in env_fields().items()}
    for key in cfg.get("extra_env") or {}:
        if key in by_env:
            raise ConfigError(
                f"extra_env.{key}: {key} is a trainer setting; set it as "
                f"{_sweep_key(by_env[key])}=... instead"
            )


def _sweep_key(name: str) -> str:
    return SWEEP_KEYS.get(name, name)


def _check_task(settings: TrainSettings) -> None:
    from zo_sweep.data.tasks import DataError, task_spec_from_mapping

    try:
        task_spec_from_mapping(settings.task, "task")
    except DataError as err:
        raise ConfigError(str(err)) from None


def _check_data_folders(settings: TrainSettings) -> None:
    """The files the job's splits come from exist (found as the trainer finds them)."""
    from zo_sweep.data import DataError, locate_splits
    from zo_sweep.data.tasks import task_spec_from_mapping

    try:
        locate_splits(
            settings.task_dir,
            task_name=settings.task_name or None,
            synthetic_dir=settings.syn_task,
            eval_root=settings.eval_root,
            eval_split=settings.eval_split,
            spec=task_spec_from_mapping(settings.task, "task") if settings.task else None,
        )
    except DataError as err:
        raise ConfigError(str(err)) from None
