"""Check a whole sweep from its command line before Hydra starts it: one line per problem.

The configs are composed by Hydra's own loading (`hydra.compose`), with the command line's
`--config-dir`, `--config-name` and `hydra.searchpath`, so a user's own models, tasks and
presets are found exactly as the run will find them. A grid is expanded as Hydra's basic
sweeper does (each sweep's values, then their product). Composing costs about 0.1 s, so it
happens once per combination of config group choices (with the values every job shares), and
is checked once; a job whose own values are hyperparameters nothing else reads only has those
checked against the schema's rules, any other job gets a copy of the composition with its
values applied, checked whole.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.override_parser.types import Override
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from zo_sweep import CONF_DIR
from zo_sweep.errors import ConfigError
from zo_sweep.jobdir.schema import register_schema
from zo_sweep.resolvers import register_resolvers
from zo_sweep.sweep.one_line import one_line_message
from zo_sweep.sweep.overrides import (
    apply_override,
    expand_grid,
    one_line,
    override_key,
    parse_overrides,
    parser,
)
from zo_sweep.sweep.validation import (
    check_settings,
    unknown_key_message,
    validate_job_config,
    validate_job_context,
)
from zo_sweep.train.settings import Hyperparameters, TrainSettings

CONFIG_NAME = "config"
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
HYPERPARAMETERS = frozenset(spec.name for spec in fields(Hyperparameters))
# Hydra's flags after which nothing runs, so there is nothing to check.
NOTHING_RUNS = ("help", "hydra_help", "version", "cfg", "info", "shell_completion")


@dataclass(frozen=True)
class CommandLine:
    """The parts of Hydra's command line that decide what gets composed."""

    overrides: list[str]
    multirun: bool = False
    config_dir: str | None = None
    config_path: str | None = None
    config_name: str = CONFIG_NAME
    runs: bool = True


@dataclass(frozen=True)
class Cell:
    """One composition, checked, shared by the jobs that differ only in hyperparameters."""

    config: DictConfig
    settings: TrainSettings  # without the trainer's rules applied: each job's values get them
    referenced: frozenset[str]  # every name an interpolation of the config mentions


@dataclass
class Composer:
    """Composes job configs through Hydra, each distinct shape once, and checks each job."""

    groups: frozenset[str]  # the config groups (hydra.runtime.choices)
    extra_overrides: list[str] = field(default_factory=list)
    cells: dict[tuple[str, ...], Cell] = field(default_factory=dict)

    def is_shaping(self, text: str) -> bool:
        """A group choice or Hydra's own setting (hydra.searchpath): composed, not applied."""
        key = override_key(text)
        return key in self.groups or key.startswith("hydra.")

    def check_job(self, shape: tuple[str, ...], varying: Sequence[str]) -> None:
        """`shape`: the overrides the composition depends on; `varying`: the job's own values."""
        if shape not in self.cells:
            self.cells[shape] = self._cell(shape)
        cell = self.cells[shape]
        overrides = [parser().parse_override(text) for text in varying]
        if all(_is_plain_hyperparameter(o, cell.referenced) for o in overrides):
            # Nothing else reads these values: the shared checks hold, only the rules remain.
            changes = {o.key_or_group: _typed_hyperparameter(o) for o in overrides}
            check_settings(replace(cell.settings, **changes))
            return
        config = cell.config.copy()
        for override in overrides:
            apply_override(config, override)
        validate_job_config(config)

    def _cell(self, shape: tuple[str, ...]) -> Cell:
        groups = [text for text in shape if self.is_shaping(text)]
        config = compose_or_explain([*groups, *self.extra_overrides])
        for text in shape:
            if text not in groups:
                apply_override(config, parser().parse_override(text))
        settings = validate_job_context(config)
        return Cell(config, settings, _interpolated_names(config))


def parse_command_line(arguments: Sequence[str]) -> CommandLine:
    """Hydra's own flags (see `--hydra-help`), read the way Hydra reads them."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("overrides", nargs="*")
    parser.add_argument("--multirun", "-m", action="store_true")
    parser.add_argument("--config-dir", "-cd")
    parser.add_argument("--config-path", "-cp")
    parser.add_argument("--config-name", "-cn", default=CONFIG_NAME)
    for flag in NOTHING_RUNS:
        parser.add_argument("--" + flag.replace("_", "-"), nargs="?", const=True, default=None)
    parser.add_argument("-h", dest="help", action="store_true")
    parser.add_argument("-c", dest="cfg", nargs="?", const=True, default=None)
    parser.add_argument("-i", dest="info", nargs="?", const=True, default=None)
    known, _ = parser.parse_known_args(list(arguments))
    return CommandLine(
        overrides=list(known.overrides),
        multirun=known.multirun,
        config_dir=known.config_dir,
        config_path=known.config_path,
        config_name=known.config_name,
        runs=not any(getattr(known, flag) for flag in NOTHING_RUNS),
    )


def check_command_line(arguments: Sequence[str]) -> int:
    """Check every job the command line would run; ConfigError on the first problem.

    Returns the number of jobs checked (one for a single run or a search sweeper's sweep).
    """
    command = parse_command_line(arguments)
    if not command.runs:
        return 0
    parsed = parse_overrides(command.overrides)
    with hydra_config_dir(command):
        extra = search_path_overrides(command, parsed)
        swept = [o for o in parsed if command.multirun and o.is_sweep_override()]
        fixed = [o.input_line for o in parsed if o not in swept and o.input_line is not None]
        base = compose_or_explain([*fixed, *extra], return_hydra_config=True)
        grid = expand_grid(base, parsed, command.multirun)
        if grid is None:
            validate_job_config(_without_hydra(base))
            return 1
        groups = frozenset(OmegaConf.to_container(base.hydra.runtime.choices))
        composer = Composer(groups, extra_overrides=extra)
        constant = set.intersection(*(set(job) for job in grid))
        for job in grid:
            # Group choices, Hydra's own settings (hydra.searchpath) and the values every job
            # shares shape the composition; each job's own values are checked against it.
            shape = tuple(item for item in job if composer.is_shaping(item) or item in constant)
            try:
                composer.check_job(shape, [item for item in job if item not in shape])
            except ConfigError as err:
                raise ConfigError(f"{_job_name(job, grid)}{err}") from None
        return len(grid)


@contextmanager
def hydra_config_dir(command: CommandLine) -> Iterator[None]:
    register_resolvers()
    register_schema()
    primary = Path(command.config_path).resolve() if command.config_path else CONF_DIR
    with initialize_config_dir(str(primary), version_base="1.3"):
        yield


def compose_or_explain(overrides: list[str], return_hydra_config: bool = False) -> DictConfig:
    """hydra.compose, with its multi-line errors turned into one line."""
    try:
        return compose(CONFIG_NAME, overrides=overrides, return_hydra_config=return_hydra_config)
    except (HydraException, OmegaConfBaseException) as err:
        cause = err.__cause__
        unknown = isinstance(cause, ConfigAttributeError | ConfigKeyError) and cause.full_key
        if unknown and "." not in str(cause.full_key):
            # A top-level key: the hint is the key meant, not a + that adds one nothing reads.
            raise ConfigError(unknown_key_message(str(cause.full_key))) from None
        if unknown:  # a key inside a node: Hydra's hint to add it with + is the right one
            raise ConfigError(one_line_message(err) or one_line(err)) from None
        raise ConfigError(one_line(err)) from None
    except (yaml.YAMLError, OSError) as err:  # a user's preset that does not read
        raise ConfigError(one_line_message(err) or str(err)) from None


def search_path_overrides(command: CommandLine, parsed: list[Override]) -> list[str]:
    """`--config-dir DIR` as Hydra treats it: one more place to look, after conf/ itself."""
    if command.config_dir is None:
        return []
    folder = Path(command.config_dir).expanduser().resolve()
    if not folder.is_dir():
        raise ConfigError(f"--config-dir: no such folder '{command.config_dir}'")
    given = [o for o in parsed if o.key_or_group == "hydra.searchpath"]
    paths = [*(given[-1].value() if given else []), f"file://{folder}"]
    return ["hydra.searchpath=[" + ",".join(f"'{path}'" for path in paths) + "]"]


def _is_plain_hyperparameter(override: Override, referenced: frozenset[str]) -> bool:
    plain = not (override.is_add() or override.is_force_add() or override.is_delete())
    key = override.key_or_group
    value = override.value()
    interpolated = isinstance(value, str) and "${" in value
    return plain and key in HYPERPARAMETERS and key not in referenced and not interpolated


@cache
def _hyperparameter_node() -> DictConfig:
    return OmegaConf.structured(Hyperparameters)


def _typed_hyperparameter(override: Override) -> Any:
    """The value as the schema types it (`lr=abc` is refused as Hydra would refuse it)."""
    node, key = _hyperparameter_node(), override.key_or_group
    try:
        node[key] = override.value()
    except OmegaConfBaseException as err:
        raise ConfigError(one_line(err, key)) from None
    return node[key]


def _interpolated_names(config: DictConfig) -> frozenset[str]:
    """Every identifier inside an interpolation (over-approximates what they read)."""
    names: set[str] = set()
    stack: list[Any] = [OmegaConf.to_container(config, resolve=False)]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and "${" in item:
            names.update(IDENTIFIER.findall(item))
    return frozenset(names)


def _job_name(job: list[str], grid: list[list[str]]) -> str:
    varying = [item for item in job if any(item not in other for other in grid)]
    return f"job {' '.join(varying)}: " if varying else ""


def _without_hydra(config: DictConfig) -> DictConfig:
    config = config.copy()
    with open_dict(config):
        config.pop("hydra", None)
    return config
