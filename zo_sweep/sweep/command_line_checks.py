"""What the command line asks as a whole, checked before anything runs: each key given once, a
preset's sweep run with -m, a sweep that has jobs, a launcher that can start them.

Hydra takes the last of two values of one key and the first value of a sweep it was not asked
to run, without a word; each of these is a one-line ConfigError instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf

from zo_sweep.errors import ConfigError

# The groups whose options are whole studies with a sweep of their own (hydra.sweeper.params).
PRESET_GROUPS = ("experiment", "search")


def check_each_key_once(config: DictConfig) -> None:
    """`method=zo method=fo_lora` or `-m lr=0.01 lr=0.02,0.03`: Hydra keeps only the last."""
    given = [
        *(OmegaConf.select(config, "hydra.overrides.task", default=None) or []),
        *(OmegaConf.select(config, "hydra.overrides.hydra", default=None) or []),
    ]
    by_key: dict[str, list[Override]] = defaultdict(list)
    for override in _parsed(str(line) for line in given):
        by_key[override.key_or_group].append(override)
    for key, overrides in by_key.items():
        if len(overrides) > 1:
            lines = ", ".join(str(o.input_line) for o in overrides)
            raise ConfigError(
                f"{key} is given {len(overrides)} times ({lines}): {_once(overrides)}"
            )


def _once(overrides: Sequence[Override]) -> str:
    """How to give the key once; for a sweep, with every value it was given."""
    if not any(o.is_sweep_override() for o in overrides):
        return "give it once"
    values: list[str] = []
    for override in overrides:
        if override.is_interval_sweep():
            return "give it once"
        if override.is_sweep_override():
            values.extend(override.sweep_string_iterator())
        else:
            values.append(override.get_value_element_as_str())
    key = overrides[0].get_key_element()
    return f"give it once, with all its values: {key}={','.join(values)}"


def check_no_sweep_in_a_single_run(config: DictConfig) -> None:
    """A preset's sweep (`experiment=copa_baselines`) runs only with -m; without, one job would
    run on the preset's base values and its grid would be dropped."""
    params = OmegaConf.select(config, "hydra.sweeper.params", default=None)
    if not params:
        return
    choices = OmegaConf.select(config, "hydra.runtime.choices", default=None) or {}
    presets = [f"{group}={choices[group]}" for group in PRESET_GROUPS if choices.get(group)]
    origin = " and ".join(presets) or "the config"
    raise ConfigError(
        f"{origin} sweeps {', '.join(map(str, params))} (hydra.sweeper.params): "
        "add -m to run the sweep"
    )


def check_launcher(config: DictConfig) -> None:
    """What the sweeper and the launcher refuse only with a traceback, once the sweep runs:
    joblib's n_jobs=0 at the first batch, a batch of no job as Hydra splits the grid."""
    n_jobs = OmegaConf.select(config, "hydra.launcher.n_jobs", default=None)
    if n_jobs == 0:
        raise ConfigError(
            "hydra.launcher.n_jobs=0: use the number of jobs at once (>= 1, or -1: one per core)"
        )
    batch = OmegaConf.select(config, "hydra.sweeper.max_batch_size", default=None)
    if isinstance(batch, int) and batch < 1:
        raise ConfigError(
            f"hydra.sweeper.max_batch_size={batch}: use a number of jobs >= 1, or null (all)"
        )


def check_sweep_has_jobs(overrides: Sequence[Override], jobs: int) -> None:
    """`-m seed=range(0,0)` would start a sweep of no job at all."""
    if jobs:
        return
    empty = [
        str(o.input_line)
        for o in overrides
        if o.is_sweep_override() and not o.is_interval_sweep() and not _has_values(o)
    ]
    what = f"{', '.join(empty)} gives no value" if empty else "the grid is empty"
    raise ConfigError(f"{what}: the sweep would run no job")


def _has_values(override: Override) -> bool:
    return any(True for _ in override.sweep_string_iterator())


def _parsed(lines: Iterable[str]) -> list[Override]:
    try:
        return OverridesParser.create().parse_overrides(list(lines))
    except HydraException:
        return []  # Hydra parsed them already; a line it reads its own way is its to check
