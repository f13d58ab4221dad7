"""The compare view: model x task rows, a column per method x data, and the data deltas.

Each method x data cell holds the test metric at the best dev step of the best lr, as a
`Measure` over seeds (the best of a row marked); each `<method> <kind>-original` column
holds a `Delta` with a paired bootstrap interval over the shared test examples, read from
the jobs' predictions.jsonl (no interval where a job has none).
"""

from __future__ import annotations

import pandas as pd

from zo_sweep import records
from zo_sweep.summary import bootstrap, identity, schema
from zo_sweep.summary.cells import Delta, Measure

# Column order (names not listed follow, sorted): MeZO first, as the method under study;
# `original` data is the baseline of the deltas.
METHOD_ORDER = ["zo", "zo_lora", "fo_full", "fo_lora"]
DATA_ORDER = ["original", "synthetic", "orig_n_syn"]
BASELINE_DATA = "original"
# The interval is over per-example correctness, so it exists for accuracy only.
PAIRED_METRIC = "accuracy"


def compare_table(
    winners: pd.DataFrame, variants: list[str], resamples: int = bootstrap.RESAMPLES
) -> pd.DataFrame:
    """`winners`: one row per cell, the best lr's configuration (views.best_configs)."""
    index = ["model", "task", *variants]
    if winners.empty:
        return pd.DataFrame(columns=[*index, "metric"])
    winners = winners.copy()
    for key in variants:
        winners[key] = identity.setting_column(winners, key)
    # Two synthetic datasets are two columns: a column names the dataset, not only its kind.
    winners["dataset"] = [
        schema.data_label(data, data_id)
        for data, data_id in zip(
            winners["data"], winners.get("data_id", winners["data"]), strict=True
        )
    ]
    rows = []
    for key, group in winners.groupby(index, sort=True, dropna=False):
        row = dict(zip(index, key, strict=True))
        row["metric"] = _metric_name(group)
        row.update(_row_cells(group.set_index(["method", "dataset"]), resamples))
        rows.append(row)
    table = pd.DataFrame(rows)
    keys = [*index, "metric"]
    return table[keys + _column_order(table.columns.drop(keys))]


def _metric_name(configs: pd.DataFrame) -> str:
    """What the row's cells measure: the test metric of its task (`test accuracy`)."""
    names = configs["metric"].dropna().unique()
    return f"test {' / '.join(sorted(map(str, names)))}" if len(names) else "test metric"


def _row_cells(configs: pd.DataFrame, resamples: int) -> dict[str, object]:
    cells: dict[str, object] = {}
    # Configurations that differ only in a setting not made a row of its own (a LoRA rank):
    # the one with the best dev metric stands for the cell, as the best lr does.
    configs = configs.sort_values("dev_mean", kind="stable", na_position="first")
    configs = configs[~configs.index.duplicated(keep="last")]
    measures = {
        where: _measure(config)
        for where, config in configs.iterrows()
        if pd.notna(config["test_mean"])  # a script that reports no test metric
    }
    if not measures:
        return cells
    top = max(measure.mean for measure in measures.values())
    for (method, kind), measure in measures.items():
        cells[f"{method} {kind}"] = Measure(**{**measure.__dict__, "best": measure.mean == top})
    baselines = {
        method: (method, kind)
        for method, kind in sorted(measures, key=lambda where: where[1] != BASELINE_DATA)[::-1]
        if configs.loc[(method, kind), "data"] == BASELINE_DATA
    }
    for method, kind in measures:
        baseline = baselines.get(method)
        if baseline is not None and baseline != (method, kind):
            delta = _delta(configs.loc[baseline], configs.loc[(method, kind)], resamples)
            cells[f"{method} {kind}-{BASELINE_DATA}"] = delta
    return cells


def _measure(config: pd.Series) -> Measure:
    std = config["test_std"]
    return Measure(
        mean=float(config["test_mean"]),
        std=None if pd.isna(std) else float(std),
        seeds=int(config["seeds"]),
        seeds_at_step_0=int(config["seeds_at_step_0"]),
    )


def _delta(baseline: pd.Series, other: pd.Series, resamples: int) -> Delta:
    """other - baseline in test metric; with an interval where every job left predictions."""
    plain = Delta(float(other["test_mean"]) - float(baseline["test_mean"]))
    if not baseline["metric"] == other["metric"] == PAIRED_METRIC:
        return plain
    sides = [
        [records.read_predictions(path) for path in side["paths"]] for side in (baseline, other)
    ]
    if any(run is None for side in sides for run in side):
        return plain
    ids = bootstrap.shared_ids([run for side in sides for run in side])
    if not ids:
        return plain
    value, low, high = bootstrap.paired_interval(
        *(bootstrap.per_example_accuracy(side, ids) for side in sides), resamples=resamples
    )
    return Delta(value, low, high)


def _column_order(columns: pd.Index) -> list[str]:
    def rank(column: str) -> tuple:
        method, _, kind = column.partition(" ")
        is_delta = kind.endswith(f"-{BASELINE_DATA}")
        kind = kind.removesuffix(f"-{BASELINE_DATA}")
        return (*_place(method, METHOD_ORDER), is_delta, *_place(kind, DATA_ORDER))

    return sorted(columns, key=rank)


def _place(name: str, order: list[str]) -> tuple[int, str]:
    return (order.index(name), "") if name in order else (len(order), name)
