"""A view's table as its reader sees it: display names and, on request, percentages.

The views (views.py, compare.py) keep ids, which a notebook filters on and `--method zo`
matches. The command line shows the paper's tables (best, compare) with the names the figures
use (`display:` keys of conf/, see names.py): MeZO, LoRA, SmolLM2-135M, SST-2. With
`--percent`, every metric column of every view is in percent and its header says so.
"""

from __future__ import annotations

import pandas as pd

from zo_sweep.summary.cells import Delta, Measure
from zo_sweep.summary.compare import BASELINE_DATA
from zo_sweep.summary.names import display_name

# The tables a paper takes as they are; the others name jobs by the ids a user types.
NAMED_VIEWS = ("best", "compare")
# Columns holding an option of a config group, by group.
GROUP_COLUMNS = ("model", "task", "method", "data")
# Columns holding a metric (a fraction: accuracy, F1) in some view.
METRIC_COLUMNS = (
    "zero_shot_dev",
    "final_dev",
    "best_dev",
    "test_at_best",
    "dev_mean",
    "dev_std",
    "test_mean",
    "test_std",
    "dev",
)
PERCENT_SUFFIX = " (%)"


def for_reading(table: pd.DataFrame, view: str, percent: bool = False) -> pd.DataFrame:
    """The table to render: display names in the paper's views, metrics in percent if asked."""
    shown = table.copy()
    if view in NAMED_VIEWS:
        shown = with_display_names(shown)
    if percent:
        shown = in_percent(shown)
    return shown


def with_display_names(table: pd.DataFrame) -> pd.DataFrame:
    """Group options by their display names, in cells and in compare's `<method> <data>` headers."""
    for group in GROUP_COLUMNS:
        if group in table.columns:
            table[group] = table[group].map(lambda name, g=group: _display(g, name))
    table.columns = [
        _method_data_header(column) if _is_method_data(table[column]) else column
        for column in table.columns
    ]
    return table


def in_percent(table: pd.DataFrame) -> pd.DataFrame:
    """Metric columns times 100, their headers marked (Measure and Delta cells render their
    own percentages); compare's metric names say it too."""
    renamed = {}
    for column in table.columns:
        if column in METRIC_COLUMNS and pd.api.types.is_numeric_dtype(table[column]):
            table[column] = table[column] * 100
            renamed[column] = f"{column}{PERCENT_SUFFIX}"
    if "metric" in table.columns and any(_is_method_data(table[c]) for c in table.columns):
        table["metric"] = table["metric"].map(
            lambda name: f"{name}{PERCENT_SUFFIX}" if isinstance(name, str) else name
        )
    return table.rename(columns=renamed)


def _display(group: str, name: object) -> object:
    return display_name(group, name) if isinstance(name, str) else name


def _is_method_data(values: pd.Series) -> bool:
    return any(isinstance(value, (Measure, Delta)) for value in values)


def _method_data_header(column: str) -> str:
    """`zo original` -> `MeZO original`; `fo_lora synthetic-original` -> `LoRA synthetic - original`."""
    method, _, kind = str(column).partition(" ")
    suffix = f"-{BASELINE_DATA}"
    if kind.endswith(suffix):
        kind = kind.removesuffix(suffix)
        return f"{display_name('method', method)} {_data(kind)} - {_data(BASELINE_DATA)}"
    return f"{display_name('method', method)} {_data(kind)}"


def _data(label: str) -> str:
    # A named dataset (its data id, a path) has no option of its own: it keeps its name.
    return display_name("data", label) if "/" not in label else label
