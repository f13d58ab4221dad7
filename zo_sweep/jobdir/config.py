"""A job's composed config, read fast: `.hydra/config.yaml` and the fields a row takes from it.

Reads with PyYAML's C loader (OmegaConf is ~50x slower, and a summary of an archive reads
thousands of configs); only a field given as an interpolation is resolved by OmegaConf.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from zo_sweep import records
from zo_sweep.resolvers import register_resolvers

CONFIG_FILE = Path(records.HYDRA_DIR) / "config.yaml"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Where each row field lives in the composed job config (dotted path).
CONFIG_FIELDS = {
    "purpose": "purpose",
    "description": "description",
    "model": "model.name",
    "task": "task.name",
    "method": "method.name",
    "data": "data.name",
    "data_id": "data.id",
    "lr": "lr",
    "bs": "bs",
    "steps": "steps",
    "seed": "seed",
    "eps": "eps",
    "rank": "rank",
    "alpha": "alpha",
    "num_train": "num_train",
}


class RowProblem(Exception):
    """A file of the job could not be read; the message names the file."""


def read_config(job_dir: Path) -> dict[str, Any]:
    path = job_dir / CONFIG_FILE
    try:
        with open(path, "rb") as handle:
            config = yaml.load(handle, Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise RowProblem(f"{path}: corrupt config file ({reason})") from err
    if not isinstance(config, dict):
        raise RowProblem(f"{path}: corrupt config file (not a mapping)")
    return config


def config_fields(config: dict[str, Any]) -> dict[str, Any]:
    """The row fields held in a composed job config (interpolations resolved where needed)."""
    fields = {name: _select(config, dotted) for name, dotted in CONFIG_FIELDS.items()}
    if any(_is_interpolation(value) for value in fields.values()):
        fields.update(_resolve_interpolations(config, fields))
    return fields


def _select(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for key in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _is_interpolation(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _resolve_interpolations(config: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The rare slow path: let OmegaConf resolve the fields that are interpolations."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    register_resolvers()  # e.g. data.id is `${data_id:...}`
    conf = OmegaConf.create(config)
    resolved = {}
    for name, value in fields.items():
        if not _is_interpolation(value):
            continue
        try:
            resolved[name] = OmegaConf.select(conf, CONFIG_FIELDS[name])
        except OmegaConfBaseException:
            resolved[name] = None  # e.g. a custom resolver this process does not register
    return resolved
