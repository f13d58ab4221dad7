"""What makes two jobs the same experiment: their training settings, as read from the config.

A job's settings are every key of its composed config (`.hydra/config.yaml`, flattened to
dotted names) except the keys that say where or how it runs (the resume hash leaves the same
ones out), its seed, and display names. Two jobs with equal settings are one configuration;
the seeds of a configuration are averaged. Dropping the learning rate as well gives the cell
in which the best learning rate is chosen.

The config is hashed as Hydra saved it, interpolations unresolved: `${lr}` is the same text
in every job, and whatever it points at is itself a setting.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from zo_sweep.sweep.resume import PLANNING_KEYS, RUN_CONTROL_KEYS

SEED_KEYS = ("seed", "env.SEED")
LR_KEYS = ("lr", "env.LR")
# Names for tables and figures; they never change what a job computes.
DISPLAY_KEYS = ("model.display", "task.display", "method.display", "data.display")
NOT_SETTINGS = (*RUN_CONTROL_KEYS, *SEED_KEYS, *DISPLAY_KEYS, *PLANNING_KEYS)
# Row columns standing for settings when a row has no config (e.g. imported old results).
COLUMN_SETTINGS = {
    "model": "model.name",
    "task": "task.name",
    "method": "method.name",
    "data": "data.name",
    "data_id": "data_id",  # a named dataset (imported old results name theirs)
    "lr": "lr",
    "bs": "bs",
    "steps": "steps",
    "eps": "eps",
    "rank": "rank",
    "alpha": "alpha",
    "num_train": "num_train",
}
HASH_LENGTH = 12


def training_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The flattened config without run-control keys, seed and display names."""
    flat = dict(_flatten(config))
    return {key: value for key, value in flat.items() if not _excluded(key)}


def settings_from_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    """Settings for a row without a config: the cell and hyperparameter columns it has."""
    settings = {}
    for column, key in COLUMN_SETTINGS.items():
        value = row.get(column)
        if value is not None and not (isinstance(value, float) and pd.isna(value)):
            settings[key] = _normal(value)
    return settings


def settings_hash(settings: Mapping[str, Any], leave_out: Iterable[str] = ()) -> str:
    left_out = set(leave_out)
    kept = {key: value for key, value in settings.items() if key not in left_out}
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def config_id(settings: Mapping[str, Any]) -> str:
    """One configuration: the same settings, whatever the seed."""
    return settings_hash(settings)


def cell_id(settings: Mapping[str, Any]) -> str:
    """One cell of the learning-rate choice: the same settings, whatever the lr and seed."""
    return settings_hash(settings, leave_out=LR_KEYS)


def varying_keys(frame: pd.DataFrame, groups: list[str], shown: Iterable[str] = ()) -> list[str]:
    """Setting keys whose values differ among the rows of a group (a key one row lacks differs).

    Keys that the table already shows as columns (`shown`, as dotted config names) are left out.
    """
    if frame.empty or "settings" not in frame:
        return []
    settings = [s if isinstance(s, dict) else {} for s in frame["settings"]]
    table = pd.DataFrame.from_records(settings, index=frame.index)
    table = table[[key for key in table.columns if key not in set(shown)]]
    if table.empty or not len(table.columns):
        return []
    keys = [frame[column] for column in groups]
    # Unset (NaN) counts as a value of its own.
    distinct = table.groupby(keys, dropna=False, sort=False).nunique(dropna=False).max()
    return sorted(distinct.index[distinct > 1])


def setting_column(frame: pd.DataFrame, key: str) -> pd.Series:
    """One setting of every row, as text ('' where a row lacks it)."""
    return frame["settings"].map(lambda settings: setting_text(settings, key))


def setting_text(settings: Any, key: str) -> str:
    """One setting as text ('' where it is not set)."""
    value = settings.get(key) if isinstance(settings, dict) else None
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list, dict)):
        return json.dumps(value)
    return "" if value is None else str(value)


def _excluded(key: str) -> bool:
    return any(key == skip or key.startswith(skip + ".") for skip in NOT_SETTINGS)


def _flatten(node: Mapping[str, Any], prefix: str = ""):
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")  # an empty mapping sets nothing
        else:
            yield name, _normal(value)


def _normal(value: Any) -> Any:
    """One spelling per value: 16, 16.0 and '1.6e1' are the same number."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, (list, tuple)):
        return tuple(_normal(item) for item in value)  # hashable, for counting distinct values
    return str(value)
