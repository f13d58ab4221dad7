"""The verdict printed at the end of a sweep: per cell, the best lr and what to do next.

A cell is every job with identical settings but lr and seed (see identity.py). For each, the
verdict gives the lr with the best mean dev metric, its dev and test, and warns when the grid
should change: the best lr at an edge of the grid (with the next lr to try, one grid step
further), a best dev that never beat zero-shot, and the lr from which runs diverged.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from zo_sweep import records
from zo_sweep.summary import identity, schema, views
from zo_sweep.summary.load import load

# Jobs that did not train do not define the grid.
NOT_TRAINED = (records.DRY_RUN, records.SKIPPED)


def sweep_verdict(root: Path) -> str:
    """The verdict for every job under `root`, or '' when no job trained."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreadable files show up in the tally already
        frame = load(root, use_sources=False, progress=False)
    trained = frame[~frame["status"].isin(NOT_TRAINED)]
    if trained.empty:
        return ""
    winners = views.best_configs(trained).set_index("cell_id")
    variants = views.variant_keys(trained)
    lines = ["verdict (best lr per cell, chosen on dev):"]
    for cell_id, jobs in trained.groupby("cell_id", sort=False):
        first = jobs.iloc[0]
        lines.append(f"  {_cell_name(first, variants)}: {_best_text(winners, cell_id)}")
        winner = winners.loc[cell_id] if cell_id in winners.index else None
        for warning in cell_warnings(jobs, winner):
            lines.append(f"    warning: {warning}")
    return "\n".join(lines)


def cell_warnings(jobs: pd.DataFrame, winner: pd.Series | None) -> list[str]:
    """What the grid of one cell suggests: extend it, or look again at the runs."""
    found = []
    grid = sorted(jobs["lr"].dropna().unique())
    if winner is not None:
        edge = next_lr(grid, float(winner["lr"]))
        if edge is not None:
            found.append(f"best lr at the edge of the grid: extend it to {edge:g}")
        if winner["seeds_at_step_0"]:
            seeds = f"{int(winner['seeds_at_step_0'])}/{int(winner['seeds'])} seeds"
            found.append(f"no gain over zero-shot ({seeds} best at step 0)")
    else:
        found.append("no run of this cell finished")
    diverged = jobs.loc[jobs["status"] == records.DIVERGED, "lr"].dropna()
    if not diverged.empty:
        found.append(f"diverged at lr >= {diverged.min():g}")
    return found


def next_lr(grid: list[float], best: float) -> float | None:
    """The lr one grid step beyond `best` when it is the grid's largest or smallest, else None."""
    if len(grid) < 2:
        return None
    if best == grid[-1]:
        return _round(best * grid[-1] / grid[-2])
    if best == grid[0]:
        return _round(best * grid[0] / grid[1])
    return None


def _round(lr: float) -> float:
    return float(f"{lr:.3g}")


def _best_text(winners: pd.DataFrame, cell_id: str) -> str:
    if cell_id not in winners.index:
        return "no finished run"
    best = winners.loc[cell_id]
    seeds = int(best["seeds"])
    return (
        f"lr {best['lr']:g}: dev {_number(best['dev_mean'])}, test {_number(best['test_mean'])} "
        f"({seeds} seed{'s' if seeds != 1 else ''}, zero-shot dev {_number(best['zero_shot_dev'])})"
    )


def _number(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.3f}"


def _cell_name(job: pd.Series, variants: list[str]) -> str:
    parts = schema.cell_label(job)
    for key in variants:
        value = identity.setting_text(job["settings"], key)
        parts += [f"{key}={value}"] if value else []
    return " ".join(parts)
