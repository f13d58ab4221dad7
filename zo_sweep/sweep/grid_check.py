"""Every job of a grid checked before the first one starts; a problem is one line naming its job.

The grid sweeper (hydra_plugins/zo_sweep_sweeper) holds every job's overrides once Hydra has
expanded the grid. Each shape of config is composed once (zo_sweep.sweep.job_configs) and
checked whole once, with the values its jobs share; a job whose own values are hyperparameters
that nothing else in the config reads only has those typed as Hydra types them and checked
against the schema's rules. Any other job gets its own config, checked whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from functools import cache
from typing import Any

from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from zo_sweep.errors import ConfigError, DataError
from zo_sweep.sweep.command_line_checks import check_sweep_has_jobs
from zo_sweep.sweep.job_configs import JobConfigs
from zo_sweep.sweep.job_memory import Placement, check_memory
from zo_sweep.sweep.one_line import one_line_message
from zo_sweep.sweep.outcome import OUTCOME
from zo_sweep.sweep.validation import check_settings, validate_job_config, validate_job_context
from zo_sweep.train.settings import Hyperparameters, TrainSettings

HYPERPARAMETERS = frozenset(spec.name for spec in fields(Hyperparameters))
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class Context:
    """One composition checked whole: the settings its plain-hyperparameter jobs start from."""

    settings: TrainSettings  # without the trainer's rules applied: each job's values get them
    referenced: frozenset[str]  # every name an interpolation of the config mentions
    placement: Placement  # where its jobs run: their memory plan's devices and GPU


def check_grid(
    configs: JobConfigs,
    master: DictConfig,
    batches: Sequence[Sequence[Sequence[str]]],
    overrides: Sequence[Override] = (),
) -> None:
    """Check the jobs of every batch of a sweep (the grid of `overrides`), and note how many
    there are; a grid of no job is refused too."""
    jobs = [job for batch in batches for job in batch]
    check_sweep_has_jobs(overrides, len(jobs))
    check_jobs(configs, master, jobs)
    OUTCOME.planned_jobs = len(jobs)


def check_jobs(configs: JobConfigs, master: DictConfig, jobs: Sequence[Sequence[str]]) -> None:
    """Check every job; ConfigError (`job lr=0 seed=0: lr=0.0: must be > 0`) on the first problem."""
    contexts: dict[tuple[str, ...], Context] = {}
    shared = set.intersection(*(set(job) for job in jobs)) if jobs else set()
    for job in jobs:
        try:
            _check_job(configs, master, job, shared, contexts)
        except (ConfigError, DataError) as err:
            raise ConfigError(f"{_job_name(job, jobs)}{err}") from None
        except (HydraException, OmegaConfBaseException) as err:
            message = one_line_message(err) or str(err)
            raise ConfigError(f"{_job_name(job, jobs)}{message}") from None


def _check_job(
    configs: JobConfigs,
    master: DictConfig,
    job: Sequence[str],
    shared: set[str],
    contexts: dict[tuple[str, ...], Context],
) -> None:
    split = configs.split(master, job)
    own = [o for o in split.values if o.input_line not in shared]
    key = (*split.shape, "|", *(str(o.input_line) for o in split.values if o not in own))
    context = contexts.get(key)
    if context is not None and all(_is_plain_hyperparameter(o, context.referenced) for o in own):
        # Nothing else reads these values: the shared checks hold, only the rules remain.
        changes = {o.key_or_group: _typed_hyperparameter(o) for o in own}
        settings = replace(context.settings, **changes)
        check_settings(settings)
        check_memory(context.placement, settings)
        return
    config = configs.load_sweep_config(master, list(job))
    if context is None:
        contexts[key] = Context(
            validate_job_context(config), _interpolated_names(config), Placement.of(config)
        )
    validate_job_config(config)


def _is_plain_hyperparameter(override: Override, referenced: frozenset[str]) -> bool:
    value = override.value()
    interpolated = isinstance(value, str) and "${" in value
    key = override.key_or_group
    return key in HYPERPARAMETERS and key not in referenced and not interpolated


@cache
def _hyperparameter_node() -> DictConfig:
    return OmegaConf.structured(Hyperparameters)


def _typed_hyperparameter(override: Override) -> Any:
    """The value as the schema types it (`lr=abc` is refused as Hydra would refuse it)."""
    node, key = _hyperparameter_node(), override.key_or_group
    try:
        node[key] = override.value()
    except OmegaConfBaseException as err:
        raise ConfigError(one_line_message(err) or str(err)) from None
    return node[key]


def _interpolated_names(config: DictConfig) -> frozenset[str]:
    """Every identifier inside an interpolation (over-approximates what they read)."""
    names: set[str] = set()
    plain = OmegaConf.to_container(config, resolve=False)
    assert isinstance(plain, dict)
    stack: list[Any] = [{key: value for key, value in plain.items() if key != "hydra"}]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and "${" in item:
            names.update(IDENTIFIER.findall(item))
    return frozenset(names)


def _job_name(job: Sequence[str], jobs: Sequence[Sequence[str]]) -> str:
    varying = [item for item in job if any(item not in other for other in jobs)]
    return f"job {' '.join(varying)}: " if varying else ""
