"""Each job's config as Hydra composes it, with the defaults tree composed once per shape.

Hydra composes a job's config from the files its defaults list names (the config groups' YAML
and the schema), then applies the job's values (`lr=1e-6`). The jobs of a sweep mostly differ
in values only, so composing the tree for each of them repeats the same work: a 200-job grid
composed it 400 times (the sweeper's check, then the launcher) before this loader.

JobConfigs stands in for Hydra's config loader wherever the sweep hands one on (the sweeper's
check and the launcher). It asks Hydra to compose each distinct shape (the job's group choices
and Hydra settings) once, and gives each job a copy with its values applied by Hydra's own
function, in Hydra's order, with the records Hydra keeps (the task overrides, the job's
override_dirname). Anything else it hands to Hydra's loader.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname
from hydra.core.config_loader import ConfigLoader
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from omegaconf import DictConfig, OmegaConf, open_dict, read_write


@dataclass(frozen=True)
class JobOverrides:
    """One job's overrides, split into what shapes its composition and the values on top."""

    parsed: list[Override]
    shape: tuple[str, ...]  # group choices, Hydra's own settings, additions and deletions
    values: list[Override]  # plain `key=value` of a config value, applied after composing


class JobConfigs(ConfigLoader):
    """Hydra's config loader, composing each shape of job once (see the module's text)."""

    def __init__(self, loader: ConfigLoader) -> None:
        self.loader = loader
        self._parser = OverridesParser.create()
        self._shapes: dict[tuple[str, ...], DictConfig] = {}
        self.compositions = 0  # how often Hydra composed a job's defaults tree

    def __getstate__(self) -> dict[str, Any]:
        # Launchers pickle themselves for their workers: the compositions stay here.
        return {**self.__dict__, "_shapes": {}, "_parser": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._parser = OverridesParser.create()

    def split(self, master_config: DictConfig, overrides: Sequence[str]) -> JobOverrides:
        """Which of a job's overrides decide its composition, and which are values on top."""
        parsed = self._parser.parse_overrides(list(overrides))
        groups = set(master_config.hydra.runtime.choices)
        values = [o for o in parsed if _is_value(o, groups)]
        shape = tuple(str(o.input_line) for o in parsed if o not in values)
        if _touches_any(values, [o for o in parsed if o not in values]):
            # A value on a key the shape sets too: only Hydra's own order is sure to be right.
            return JobOverrides(parsed, tuple(str(o.input_line) for o in parsed), [])
        return JobOverrides(parsed, shape, values)

    def load_sweep_config(
        self, master_config: DictConfig, sweep_overrides: list[str]
    ) -> DictConfig:
        job = self.split(master_config, sweep_overrides)
        key = (*map(str, master_config.hydra.overrides.hydra), "|", *job.shape)
        if key not in self._shapes:
            self._shapes[key] = self.loader.load_sweep_config(master_config, list(job.shape))
            self.compositions += 1
        config = copy.deepcopy(self._shapes[key])
        if job.values:
            ConfigLoaderImpl._apply_overrides_to_config(job.values, config)
        _record_overrides(config, job.parsed)
        OmegaConf.copy_cache(from_config=master_config, to_config=config)
        return config

    # Everything else is Hydra's loader's own.
    def load_configuration(self, *args: Any, **kwargs: Any) -> DictConfig:
        return self.loader.load_configuration(*args, **kwargs)

    def get_search_path(self) -> Any:
        return self.loader.get_search_path()

    def get_sources(self) -> Any:
        return self.loader.get_sources()

    def list_groups(self, parent_name: str) -> Any:
        return self.loader.list_groups(parent_name)

    def get_group_options(self, *args: Any, **kwargs: Any) -> Any:
        return self.loader.get_group_options(*args, **kwargs)

    def compute_defaults_list(self, *args: Any, **kwargs: Any) -> Any:
        return self.loader.compute_defaults_list(*args, **kwargs)


def _is_value(override: Override, groups: set[str]) -> bool:
    """A plain `key=value` on a config value (not a group, not Hydra's, not +, ++ or ~)."""
    plain = not (override.is_add() or override.is_force_add() or override.is_delete())
    return (
        plain
        and not override.is_hydra_override()
        and not override.is_sweep_override()
        and override.package is None
        and override.key_or_group not in groups
    )


def _touches_any(values: list[Override], others: list[Override]) -> bool:
    keys = [o.key_or_group for o in others]
    return any(
        v.key_or_group == k
        or v.key_or_group.startswith(f"{k}.")
        or k.startswith(f"{v.key_or_group}.")
        for v in values
        for k in keys
    )


def _record_overrides(config: DictConfig, parsed: list[Override]) -> None:
    """What Hydra records of a job's overrides: the task overrides, in the job's order, and
    the folder name made of them."""
    task = [o for o in parsed if not o.is_hydra_override()]
    dirname = config.hydra.job.config.override_dirname
    with read_write(config.hydra), open_dict(config.hydra):
        config.hydra.overrides.task = [str(o.input_line) for o in task]
        config.hydra.job.override_dirname = get_overrides_dirname(
            overrides=task,
            kv_sep=dirname.kv_sep,
            item_sep=dirname.item_sep,
            exclude_keys=dirname.exclude_keys,
        )
