"""Hydra's override grammar, used as Hydra uses it: parsing, expanding a grid, applying one.

Public Hydra APIs only: the override parser and its sweep iterators. A grid is the product of
every override's values, as Hydra's basic sweeper makes it (its `hydra.sweeper.params` first).
"""

from __future__ import annotations

import itertools
from functools import cache
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from zo_sweep.errors import ConfigError
from zo_sweep.sweep.one_line import one_line_message


@cache
def parser() -> OverridesParser:
    return OverridesParser.create()


@cache
def override_key(text: str) -> str:
    return parser().parse_override(text).key_or_group


def parse_overrides(overrides: list[str]) -> list[Override]:
    try:
        return parser().parse_overrides(overrides)
    except HydraException as err:
        raise ConfigError(one_line(err)) from None


def expand_grid(base: DictConfig, parsed: list[Override], multirun: bool) -> list[list[str]] | None:
    """Every job's overrides as Hydra's basic sweeper makes them; None if not a grid."""
    if not multirun:
        return None
    sweeper = str(OmegaConf.select(base, "hydra.sweeper._target_", default=""))
    if not sweeper.endswith("BasicSweeper"):
        return None
    params = OmegaConf.select(base, "hydra.sweeper.params") or {}
    from_params = parse_overrides([f"{key}={value}" for key, value in params.items()])
    choices = []
    for override in [*from_params, *parsed]:
        key = override.get_key_element()
        if override.is_sweep_override():
            choices.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        elif override.input_line is not None:
            choices.append([override.input_line])
    return [list(job) for job in itertools.product(*choices)]


def apply_override(config: DictConfig, override: Override) -> None:
    """One `key=value` (or `+key=value`, `++key=value`, `~key`) on a composed config."""
    key = override.key_or_group
    try:
        if override.is_delete():
            parent, _, leaf = key.rpartition(".")
            with open_dict(config):
                node = OmegaConf.select(config, parent) if parent else config
                node.pop(leaf)
        else:
            force = override.is_add() or override.is_force_add()
            OmegaConf.update(config, key, override.value(), merge=True, force_add=force)
    except OmegaConfBaseException as err:
        raise ConfigError(one_line(err, key)) from None


def one_line(err: BaseException, key: Any = None) -> str:
    """One line for an error: `lr: Value 'abc' ... to Float` for a value the schema refuses,
    else what zo_sweep.sweep.one_line says of Hydra's own errors."""
    cause = err.__cause__ if isinstance(err.__cause__, OmegaConfBaseException) else err
    if not isinstance(cause, OmegaConfBaseException):
        return one_line_message(err) or _first_line(str(err)) or type(err).__name__
    full_key = getattr(cause, "full_key", None) or key
    first = _first_line(str(getattr(cause, "msg", None) or cause)) or type(err).__name__
    return f"{full_key}: {first}" if full_key else first


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""
