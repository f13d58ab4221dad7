"""What makes two rows the same experiment, and the settings that tell rows apart in a table.

A row's settings are its job's training settings (zo_sweep.jobdir.identity, the identity
`resume` uses too) without its seed: rows with equal settings are one configuration, whose
seeds are averaged; dropping the learning rate as well gives the cell in which the best
learning rate is chosen. Rows without a config (imported old results) take their settings from
their columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from zo_sweep.jobdir import identity
from zo_sweep.jobdir.identity import LR_KEYS, SEED_KEYS, cell_id, config_id, normal

__all__ = ["LR_KEYS", "cell_id", "config_id", "training_settings"]

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


def training_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """A row's settings: its job's training settings without the seed."""
    return identity.training_settings(config, leave_out=SEED_KEYS)


def settings_from_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    """Settings for a row without a config: the cell and hyperparameter columns it has."""
    settings = {}
    for column, key in COLUMN_SETTINGS.items():
        value = row.get(column)
        if value is not None and not (isinstance(value, float) and pd.isna(value)):
            settings[key] = normal(value)
    return settings


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
