"""The tables built from `load()`'s DataFrame: runs, best, compare, failures.

Counting rules (the aggregated views, best and compare):
- Only rows with a usable status count (`schema.USABLE_STATUSES`: ok, legacy).
- A skipped job (resume) stands for the finished job its `skipped_from` names: it counts, with
  that job's metrics, only when that job is not itself among the rows.
- The same configuration (identical training settings, see identity.py) and seed run again
  in a later sweep counts once: the latest run wins. Nothing else is ever merged.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pandas as pd

from zo_sweep import records
from zo_sweep.summary import identity, schema
from zo_sweep.summary.compare import compare_table

RUNS_COLUMNS = [
    "purpose",
    "timestamp",
    *schema.CELL,
    "lr",
    "rank",
    "bs",
    "steps",
    "seed",
    "status",
    "metric",
    "zero_shot_dev",
    "best_dev",
    "best_step",
    "test_at_best",
    "steps_done",
    "wall_seconds",
    "peak_memory_mb",
    "description",
    "path",
]
FAILURE_COLUMNS = [
    "purpose",
    "timestamp",
    *schema.CELL,
    "lr",
    "seed",
    "status",
    "error",
    "path",
]
# A configuration's row carries these from its first job (they are equal within it).
CONFIG_COLUMNS = ["cell_id", *schema.CELL, *schema.HPARAMS, "metric", "settings"]
BEST_COLUMNS = [
    *schema.HPARAMS,
    "metric",
    "dev_mean",
    "dev_std",
    "test_mean",
    "test_std",
    "seeds",
    "zero_shot_dev",
    "configs_tried",
    "flag",
]
# Only a rerun of the very same configuration and seed may be left out (the latest counts).
RERUN_KEY = ["config_id", "seed"]
SORT_KEYS = ["purpose", "timestamp", *schema.CELL, "lr", "seed"]


def runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Every job, one row each, with the settings that vary among jobs of one cell."""
    table = _sorted(frame, SORT_KEYS)
    shown = [identity.COLUMN_SETTINGS[c] for c in RUNS_COLUMNS if c in identity.COLUMN_SETTINGS]
    variants = identity.varying_keys(table, schema.CELL, shown=shown)
    for key in variants:
        table[key] = identity.setting_column(table, key)
    at = RUNS_COLUMNS.index("status")
    columns = [*RUNS_COLUMNS[:at], *variants, *RUNS_COLUMNS[at:]]
    return table[columns].reset_index(drop=True)


def failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Every job that did not finish (see schema.NOT_FAILURES) and the last line of its error."""
    failed = frame[~frame["status"].isin(schema.NOT_FAILURES)]
    return _sorted(failed, SORT_KEYS)[FAILURE_COLUMNS].reset_index(drop=True)


def usable(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that count in aggregates, each configuration and seed once (module rules)."""
    return _finished(frame).drop_duplicates(subset=RERUN_KEY, keep="last")


def dropped_reruns(frame: pd.DataFrame) -> int:
    """How many finished runs `usable` leaves out as reruns of a configuration and seed."""
    return int(_finished(frame).duplicated(subset=RERUN_KEY, keep="last").sum())


def per_config(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread over seeds of every configuration (identical settings but the seed)."""
    rows = usable(frame)
    rows = rows.assign(at_step_0=rows["best_step"] == 0)
    table = rows.groupby("config_id", sort=False).agg(
        **{column: (column, "first") for column in CONFIG_COLUMNS},
        dev_mean=("best_dev", "mean"),
        dev_std=("best_dev", "std"),
        test_mean=("test_at_best", "mean"),
        test_std=("test_at_best", "std"),
        seeds=("best_dev", "size"),
        seeds_at_step_0=("at_step_0", "sum"),
        zero_shot_dev=("zero_shot_dev", "mean"),
        paths=("path", list),
    )
    return _sorted(table.reset_index(), [*schema.CELL, "lr"]).reset_index(drop=True)


def best_configs(frame: pd.DataFrame) -> pd.DataFrame:
    """per_config's rows of the best lr of each cell (identical settings but lr and seed)."""
    configs = per_config(frame)
    tried = configs.groupby("cell_id")["dev_mean"].transform("size")
    flags = [_step_0_flag(config) for _, config in configs.iterrows()]
    configs = configs.assign(configs_tried=tried, flag=flags)
    ranked = configs.sort_values(["dev_mean", "seeds"], ascending=False, kind="stable")
    return ranked.drop_duplicates(subset="cell_id", keep="first")


def best(frame: pd.DataFrame) -> pd.DataFrame:
    """Per cell (identical settings but lr and seed): the lr with the best mean dev metric.

    Reports its test metric at best dev as mean and std over seeds, the seed count, how many
    lrs were tried, the settings that tell cells of one model x task x method x data apart,
    and a flag where the best dev step was 0 (training never beat zero-shot).
    """
    winners = best_configs(frame)
    variants = variant_keys(usable(frame))
    for key in variants:
        winners[key] = identity.setting_column(winners, key)
    columns = [*schema.CELL, *variants, *BEST_COLUMNS]
    if winners.empty:
        return pd.DataFrame(columns=columns)
    return _sorted(winners, [*schema.CELL, *variants])[columns].reset_index(drop=True)


def compare(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows model x task (x variant settings), a column per method x data: the test metric of
    the best lr over seeds, and per method the synthetic-minus-original delta with its paired
    bootstrap interval (see compare.py)."""
    return compare_table(best_configs(frame), variant_keys(usable(frame)))


def variant_keys(rows: pd.DataFrame) -> list[str]:
    """Settings besides lr that differ within a model x task x method x data: extra cells."""
    shown = [*identity.COLUMN_SETTINGS.values(), *identity.LR_KEYS]
    return identity.varying_keys(rows, schema.CELL, shown=shown)


VIEWS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "runs": runs,
    "best": best,
    "compare": compare,
    "failures": failures,
}


def _finished(frame: pd.DataFrame) -> pd.DataFrame:
    """Finished rows (a skipped one stands for its source when that is not loaded), oldest first."""
    skipped = frame["status"] == records.SKIPPED
    stands_alone = skipped
    if skipped.any():  # resolving every path is slow on a large archive: only when needed
        loaded = {os.path.realpath(path) for path in frame["path"].dropna()}
        source_loaded = frame["skipped_from"].map(
            lambda source: isinstance(source, str) and os.path.realpath(source) in loaded
        )
        stands_alone = skipped & ~source_loaded.astype(bool)
    rows = frame[(frame["status"].isin(schema.USABLE_STATUSES) | stands_alone)]
    rows = rows[rows["best_dev"].notna()]
    return rows.sort_values("timestamp", na_position="first", kind="stable")


def _step_0_flag(config: pd.Series) -> str:
    at_step_0, seeds = int(config["seeds_at_step_0"]), int(config["seeds"])
    if not at_step_0:
        return ""
    if at_step_0 == seeds:
        return f"never beat zero-shot ({at_step_0}/{seeds} seeds)"
    return f"best at step 0 in {at_step_0}/{seeds} seeds"


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, na_position="last", kind="stable")
