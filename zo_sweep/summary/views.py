"""The tables built from `load()`'s DataFrame: runs, best, compare, failures.

Counting rules (the aggregated views, best and compare):
- Only rows with a usable status count (`schema.USABLE_STATUSES`: ok, legacy).
- A skipped job (resume) stands for the finished job its `skipped_from` names: it counts, with
  that job's metrics, only when that job is not itself among the rows.
- The same configuration (cell, hyperparameters and seed) run again in a later sweep counts
  once: the run with the latest timestamp wins. Seeds are therefore never double counted.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pandas as pd

from zo_sweep import records
from zo_sweep.summary import schema

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
# Column order of the compare view (names not listed follow, sorted): MeZO first, as the
# method under study; `original` data is the baseline of the deltas.
METHOD_ORDER = ["zo", "zo_lora", "fo_full", "fo_lora"]
DATA_ORDER = ["original", "synthetic", "orig_n_syn"]
BASELINE_DATA = "original"
SORT_KEYS = ["purpose", "timestamp", *schema.CELL, "lr", "seed"]


def runs(frame: pd.DataFrame) -> pd.DataFrame:
    """Every job, one row each."""
    return _sorted(frame, SORT_KEYS)[RUNS_COLUMNS].reset_index(drop=True)


def failures(frame: pd.DataFrame) -> pd.DataFrame:
    """Every job that did not finish (see schema.NOT_FAILURES) and the last line of its error."""
    failed = frame[~frame["status"].isin(schema.NOT_FAILURES)]
    return _sorted(failed, SORT_KEYS)[FAILURE_COLUMNS].reset_index(drop=True)


def usable(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that count in aggregates, each configuration once (see the module's rules)."""
    skipped = frame["status"] == records.SKIPPED
    loaded = {os.path.realpath(path) for path in frame["path"].dropna()}
    source_loaded = frame["skipped_from"].map(
        lambda source: isinstance(source, str) and os.path.realpath(source) in loaded
    )
    stands_alone = skipped & ~source_loaded.astype(bool)
    rows = frame[(frame["status"].isin(schema.USABLE_STATUSES) | stands_alone)]
    rows = rows[rows["best_dev"].notna()]
    rows = rows.sort_values("timestamp", na_position="first", kind="stable")
    key = [*schema.CELL, *schema.HPARAMS, "seed"]
    return rows.drop_duplicates(subset=key, keep="last")


def per_config(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean and spread over seeds of every configuration (cell x hyperparameters)."""
    rows = usable(frame)
    grouped = rows.groupby([*schema.CELL, *schema.HPARAMS], dropna=False, sort=True)
    table = grouped.agg(
        metric=("metric", "first"),
        dev_mean=("best_dev", "mean"),
        dev_std=("best_dev", "std"),
        test_mean=("test_at_best", "mean"),
        test_std=("test_at_best", "std"),
        seeds=("best_dev", "size"),
        zero_shot_dev=("zero_shot_dev", "mean"),
    )
    return table.reset_index()


def best(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model x task x method x data: the configuration (lr) with the best mean dev metric.

    Reports its test metric at best dev as mean and std over seeds, the seed count, and how
    many configurations were tried.
    """
    configs = per_config(frame)
    if configs.empty:
        return configs.assign(configs_tried=pd.Series(dtype="int64"))
    tried = configs.groupby(schema.CELL, dropna=False)["dev_mean"].transform("size")
    configs = configs.assign(configs_tried=tried)
    ranked = configs.sort_values(["dev_mean", "seeds"], ascending=False, kind="stable")
    winners = ranked.drop_duplicates(subset=schema.CELL, keep="first")
    return _sorted(winners, schema.CELL).reset_index(drop=True)


def compare(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows model x task; a column per method x data with the test metric of the best lr,
    and per method a column `<method> <data>-original` for each other data kind."""
    winners = best(frame)
    if winners.empty:
        return pd.DataFrame(columns=["model", "task"])
    table = winners.pivot_table(
        index=["model", "task"], columns=["method", "data"], values="test_mean", aggfunc="first"
    )
    columns: dict[str, pd.Series] = {}
    for method in _ordered(table.columns.get_level_values("method").unique(), METHOD_ORDER):
        kinds = _ordered(table[method].columns, DATA_ORDER)
        for kind in kinds:
            columns[f"{method} {kind}"] = table[(method, kind)]
        if BASELINE_DATA in kinds:
            for kind in kinds:
                if kind != BASELINE_DATA:
                    delta = table[(method, kind)] - table[(method, BASELINE_DATA)]
                    columns[f"{method} {kind}-{BASELINE_DATA}"] = delta
    return pd.DataFrame(columns).reset_index()


VIEWS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "runs": runs,
    "best": best,
    "compare": compare,
    "failures": failures,
}


def _ordered(names: pd.Index, order: list[str]) -> list[str]:
    known = [name for name in order if name in names]
    return known + sorted(name for name in names if name not in order)


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys, na_position="last", kind="stable")
