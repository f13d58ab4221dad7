"""What a job hands its trainer: train.yaml, or for a script of one's own the environment.

The composed config's top-level hyperparameters, its `inputs:` and its `task` and `data` nodes
become one TrainSettings (zo_sweep.train.settings), typed and checked once. The job writes it
to train.yaml in its directory, which the project's trainer reads; a script of one's own gets
it as the old scripts' variables (MODEL, TASK, LR, ...), with TRAIN_CONFIG naming the file.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from zo_sweep.jobdir.schema import SweepConfig
from zo_sweep.sweep.job_files import yaml_text
from zo_sweep.train.settings import (
    SETTINGS_ENV,
    SETTINGS_FILE,
    Hyperparameters,
    RunInputs,
    TrainSettings,
    check,
    env_fields,
    typed_settings,
)

# How each setting is spelled in the sweep config, for error messages.
SWEEP_KEYS = {
    **{spec.name: spec.name for spec in fields(Hyperparameters)},
    **{spec.name: f"inputs.{spec.name}" for spec in fields(RunInputs)},
}


def job_settings(
    cfg: DictConfig, job_dir: Path | None = None, checked: bool = True
) -> TrainSettings:
    """The trainer's settings of one composed job config; ConfigError (one line) if wrong.

    `checked=False` leaves the trainer's rules out (types are still enforced).
    """
    values: dict[str, Any] = {spec.name: cfg.get(spec.name) for spec in fields(Hyperparameters)}
    values.update(_plain(cfg.get("inputs")) or {})
    values["task"], values["data"] = _plain(cfg.get("task")), _plain(cfg.get("data"))
    values["output_dir"] = str(job_dir.resolve()) if job_dir is not None else ""
    if OmegaConf.get_type(cfg) is SweepConfig:
        # Hydra typed every value against the schema as it composed: only the rules remain.
        settings = TrainSettings(**values)
        if checked:
            check(settings, SWEEP_KEYS)
        return settings
    return typed_settings(values, SWEEP_KEYS)


def write_settings(job_dir: Path, settings: TrainSettings) -> Path:
    """train.yaml: the settings the trainer reads (`python -m zo_sweep.train --config`)."""
    path = job_dir / SETTINGS_FILE
    path.write_text(yaml_text(asdict(settings)))
    return path


def settings_environment(settings: TrainSettings, job_dir: Path) -> dict[str, str]:
    """The old interface's variables for these settings (nulls left out), and TRAIN_CONFIG."""
    values = asdict(settings)
    variables = {env: values[name] for name, env in env_fields().items()}
    variables[SETTINGS_ENV] = str((job_dir / SETTINGS_FILE).resolve())
    return {key: env_value(value) for key, value in variables.items() if value is not None}


def env_value(value: Any) -> str:
    """How a config value reads as an environment variable (lists as comma-separated words)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list | tuple):
        return ",".join(env_value(item) for item in value)
    return str(value)


def _plain(node: Any) -> Any:
    """A config node as plain Python values, interpolations resolved."""
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)
    return node
