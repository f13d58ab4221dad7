"""Check a composed job config before anything runs, and say what is wrong in one line.

The schema below holds the type and the allowed range of every number a job reads; OmegaConf
converts and type-checks the values against it, the range checks follow from the field
metadata. Then come the checks that need the file system: a known task, an existing data
folder, an existing script.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hydra.errors import CompactHydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from zo_sweep import PROJECT_ROOT

CONFIG_GROUPS = ("model", "task", "method", "data", "experiment", "tracker")
COMPARISONS = {">": operator.gt, ">=": operator.ge}


class ConfigError(CompactHydraException):
    """A user-facing configuration problem. Hydra prints these as their message alone."""


def _bound(rule: str, limit: float) -> Any:
    return field(default=None, metadata={"rule": rule, "limit": limit})


@dataclass
class JobSchema:
    """Types and ranges of the numbers a job reads (None: the key is absent or null)."""

    lr: float | None = _bound(">", 0)
    bs: int | None = _bound(">=", 1)
    steps: int | None = _bound(">=", 0)
    seed: int | None = _bound(">=", 0)
    eps: float | None = _bound(">", 0)
    rank: int | None = _bound(">=", 1)
    alpha: float | None = _bound(">", 0)
    num_train: int | None = _bound(">=", 1)
    num_dev: int | None = _bound(">=", 1)
    num_eval: int | None = _bound(">=", 1)
    eval_steps: int | None = _bound(">=", 1)
    jobs_per_gpu: int | None = _bound(">=", 1)
    job_timeout_min: float | None = _bound(">", 0)


def validate_job_config(cfg: DictConfig) -> None:
    """Raise ConfigError (one line) if the job config cannot make a sensible run."""
    checked = _typed_values(cfg)
    _check_ranges(checked)
    _check_task(cfg)
    _check_data_folders(cfg)
    cwd = OmegaConf.select(cfg, "method.cwd", default=None)
    if cwd and not Path(str(cwd)).expanduser().is_dir():
        raise ConfigError(f"method.cwd: no such folder '{cwd}'")
    resolve_script(str(cfg.method.script), Path(str(cwd)).expanduser() if cwd else None)


def resolve_script(script: str, cwd: Path | None = None) -> Path:
    """A script path: as given if absolute, else under `cwd` (method.cwd) if set, else under
    the current folder, else the project's."""
    path = Path(script).expanduser()
    folders = [cwd] if cwd else []
    candidates = [path] if path.is_absolute() else [f / path for f in (*folders, Path.cwd())]
    if not path.is_absolute():
        candidates.append(PROJECT_ROOT / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    raise ConfigError(f"method.script: no such script '{script}'")


def _typed_values(cfg: DictConfig) -> JobSchema:
    values = {f.name: cfg.get(f.name) for f in fields(JobSchema) if cfg.get(f.name) is not None}
    try:
        typed = OmegaConf.merge(OmegaConf.structured(JobSchema), values)
    except OmegaConfBaseException as err:
        raise ConfigError(f"{err.full_key}: {_first_line(err.msg)}") from None
    return OmegaConf.to_object(typed)  # type: ignore[return-value]


def _check_ranges(values: JobSchema) -> None:
    for spec in fields(JobSchema):
        value = getattr(values, spec.name)
        rule, limit = spec.metadata["rule"], spec.metadata["limit"]
        if value is not None and not COMPARISONS[rule](value, limit):
            raise ConfigError(f"{spec.name}={value}: must be {rule} {limit}")


def _check_task(cfg: DictConfig) -> None:
    from zo_sweep.data.tasks import DataError, load_task_spec

    try:
        load_task_spec(str(cfg.task.name))
    except DataError as err:
        raise ConfigError(f"task.name: {err}") from None


def _check_data_folders(cfg: DictConfig) -> None:
    """The files the job's splits come from exist (found as the trainer finds them)."""
    from zo_sweep.data import DataError, locate_splits

    env = cfg.get("env") or {}
    if env.get("TASK") is None:
        return
    try:
        locate_splits(
            str(env.TASK),
            task_name=env.get("TASK_NAME"),
            synthetic_dir=env.get("SYN_TASK"),
            eval_root=env.get("EVAL_ROOT"),
            eval_split=env.get("EVAL_SPLIT"),
        )
    except DataError as err:
        raise ConfigError(str(err)) from None


def check_group_choices(choices: dict[str, list[str]], conf_dir: Path) -> None:
    """Every chosen option of a config group (task=copa,cb) must be a file in conf/<group>/."""
    for group, options in choices.items():
        folder = conf_dir / group
        # A leading underscore marks a part other options include, not an option itself.
        known = sorted(
            str(p.relative_to(folder).with_suffix(""))
            for p in folder.rglob("*.yaml")
            if not p.name.startswith("_")
        )
        for option in options:
            if option not in known and option != "null":
                raise ConfigError(f"unknown {group} '{option}' (known: {', '.join(known)})")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
