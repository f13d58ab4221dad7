"""The summary's row schema: the columns every row source fills, and rows -> DataFrame.

A row is a plain dict with (a subset of) the keys in COLUMNS; a missing key reads as empty.
Any part that produces rows (job directories, imported old results) goes through
`rows_to_frame`, so every DataFrame the summary handles has the same columns and dtypes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from zo_sweep import records

# Statuses the summary adds to the job runner's (records.STATUSES).
RUNNING = "running"  # no result.json yet, and the job wrote something recently
MISSING = "missing"  # no result.json and no recent activity: killed, or never started
LOST = "lost"  # no result.json and the process that ran the job is gone from this host
CORRUPT = "corrupt"  # result.json or .hydra/config.yaml could not be read
LEGACY = "legacy"  # imported from an old results folder (zo_sweep.legacy)

# Rows whose metrics count in the aggregated views (best, compare, dev-vs-lr plot).
USABLE_STATUSES = (records.OK, LEGACY)
# Rows the failures view leaves out: finished runs, resumed runs that stand for a finished
# one, and dry runs that were never meant to train.
NOT_FAILURES = (records.OK, LEGACY, records.SKIPPED, records.DRY_RUN)

# What identifies one experiment cell, and the hyperparameters swept inside it. `data_id` names
# the dataset (e.g. synthetic/prompt_engineering/copa_mezo_v1): two datasets are two cells.
CELL = ["model", "task", "method", "data", "data_id"]
HPARAMS = ["lr", "bs", "steps", "eps", "rank", "alpha", "num_train"]

TEXT_COLUMNS = [
    "purpose",
    "description",
    "model",
    "task",
    "method",
    "data",
    "data_id",
    "eval_split",
    "status",
    "metric",
    "error",
    "skipped_from",
    "config_hash",
    "path",
]
NUMBER_COLUMNS = [
    "lr",
    "bs",
    "steps",
    "seed",
    "rank",
    "alpha",
    "eps",
    "num_train",
    "zero_shot_dev",
    "final_dev",
    "best_dev",
    "best_step",
    "test_at_best",
    "steps_done",
    "wall_seconds",
    "peak_memory_mb",
]
TIME_COLUMNS = ["timestamp"]

# What a run reports about itself in result.json, in column order.
RESULT_COLUMNS = [
    "metric",
    "zero_shot_dev",
    "best_dev",
    "best_step",
    "final_dev",
    "test_at_best",
    "eval_split",
    "steps_done",
    "wall_seconds",
    "peak_memory_mb",
]

# The column order of `load()`'s DataFrame.
COLUMNS = [
    "purpose",
    "timestamp",
    *CELL,  # data_id: the data kind, or a named dataset (copa_mezo_v1, rejection_sampling)
    *HPARAMS[:4],
    "seed",
    *HPARAMS[4:],
    "status",
    *RESULT_COLUMNS,
    "error",
    "skipped_from",
    "config_hash",
    "description",
    "path",
]

TIMESTAMP_FORMAT = "%Y-%m-%d_%H-%M-%S"


def rows_to_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A DataFrame with COLUMNS (in order, typed) plus any extra keys the rows carry."""
    frame = pd.DataFrame.from_records(list(rows))
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    extras = [column for column in frame.columns if column not in COLUMNS]
    frame = frame[COLUMNS + extras]
    for column in NUMBER_COLUMNS:
        # Values may arrive as text ("1e-6" is a string to YAML 1.1); unreadable ones become NaN.
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in TIME_COLUMNS:
        frame[column] = _to_datetime(frame[column])
    # A row that names no dataset of its own used its data kind's.
    frame["data_id"] = frame["data_id"].where(frame["data_id"].notna(), frame["data"])
    for column in TEXT_COLUMNS:
        values = frame[column]
        frame[column] = values.where(values.isna(), values.astype(str))
    return frame.reset_index(drop=True)


def _to_datetime(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    as_text = values.map(lambda value: None if value is None else str(value))
    parsed = pd.to_datetime(as_text, format=TIMESTAMP_FORMAT, errors="coerce")
    # Rows from other sources may carry ISO dates instead of Hydra's path format.
    fallback = pd.to_datetime(as_text.where(parsed.isna()), errors="coerce", format="ISO8601")
    return parsed.fillna(fallback)
