"""The verdict printed at the end of a sweep: per cell, the best lr and what to do next.

A cell is every job with identical settings but lr and seed (see identity.py). Its jobs count
as in `summary --view best` (views.best_configs): a job that `resume=true` skipped stands for
the run it points at, so both give the same numbers. Per cell: the lr with the best mean dev
metric, its dev and test, and warnings:
- the best lr at an edge of the grid, strictly better than every other lr: the next lr to try,
  one grid step further (the ratio to its nearest finished neighbour, at most a decade);
- other lrs that tie with it on dev (all of them: the grid does not tell them apart);
- seeds whose best dev was at step 0 (no gain over zero-shot);
- lrs where no run finished, and the lr from which runs diverged.
After a search (Optuna), the best lr is the search's best trial where it ties for the best,
and the edge that matters is the searched range's, not that of the lrs it happened to draw.
A job whose config could not be read is counted apart, never as a cell of its own.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pandas as pd

from zo_sweep import records
from zo_sweep.summary import identity, schema, views
from zo_sweep.summary.load import load
from zo_sweep.summary.search import SearchOutcome, read_search

# The largest step the edge advice takes beyond the grid: a coarse grid is extended by a decade.
MAX_GRID_STEP = 10.0
# A best lr this close to a bound of a searched range (as a share of its log width) is at it.
NEAR_BOUND = 0.05
# Two mean dev metrics closer than this are equal (accuracies on one dev set tie exactly).
TIE = 1e-9


def sweep_verdict(root: Path) -> str:
    """The verdict for every job under `root`, or '' when no job was meant to train."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unreadable files show up in the tally already
        frame = load(root, use_sources=False, progress=False)
    jobs = frame[frame["status"] != records.DRY_RUN]
    if jobs.empty:
        return ""
    named = jobs[schema.CELL[:3]].notna().all(axis=1)
    readable, unreadable = jobs[named], jobs[~named]
    lines = ["verdict (best lr per cell, chosen on dev):"]
    if not readable.empty:
        search = read_search(root, Path(str(readable["path"].iloc[0])))
        lines += cell_lines(readable, search)
    if not unreadable.empty:
        lines.append(_unreadable_line(unreadable))
    return "\n".join(lines)


def cell_lines(jobs: pd.DataFrame, search: SearchOutcome | None = None) -> list[str]:
    """Per cell, its best lr and the warnings about its grid."""
    configs = views.per_config(jobs)
    winners = views.best_configs(jobs).set_index("cell_id")
    variants = views.variant_keys(jobs)
    lines = []
    for cell_id, cell_jobs in jobs.groupby("cell_id", sort=False):
        tried = configs[configs["cell_id"] == cell_id]
        winner = winners.loc[cell_id] if cell_id in winners.index else None
        winner = _search_winner(tried, winner, search)
        lines.append(
            f"  {_cell_name(cell_jobs.iloc[0], variants)}: {_best_text(winner, cell_jobs)}"
        )
        for warning in cell_warnings(cell_jobs, tried, winner, search):
            lines.append(f"    warning: {warning}")
    return lines


def cell_warnings(
    jobs: pd.DataFrame,
    tried: pd.DataFrame,
    winner: pd.Series | None,
    search: SearchOutcome | None = None,
) -> list[str]:
    """What the runs of one cell suggest. `tried`: its configurations with a finished run."""
    found = []
    if winner is not None:
        found += _lr_warnings(jobs, tried, winner, search)
        found += _step_0_warnings(winner)
        found += _unfinished_warnings(jobs, tried)
    diverged = jobs.loc[jobs["status"] == records.DIVERGED, "lr"].dropna()
    if not diverged.empty:
        found.append(f"diverged at lr >= {lr_text(diverged.min())}")
    return found


def next_lr(grid: list[float], best: float, finished: list[float] | None = None) -> float | None:
    """The lr one grid step beyond `best` when it is the largest or smallest lr tried, else None.

    The step is the ratio to the nearest lr whose runs tell something (`finished`: finished or
    diverged; default: the whole grid), at most MAX_GRID_STEP; without such a neighbour (the
    others failed) there is no step to take.
    """
    grid = sorted(grid)
    finished = sorted(set(grid if finished is None else finished) - {best})
    if not grid or not finished or best not in (grid[0], grid[-1]):
        return None
    if best == grid[-1]:
        return _round(best * min(best / finished[-1], MAX_GRID_STEP))
    return _round(best / min(finished[0] / best, MAX_GRID_STEP))


def lr_text(lr: float) -> str:
    """An lr as short as it stays exact: 1e-06, 0.5, 4.950159553733193e-06 (a drawn one)."""
    short = f"{lr:g}"
    return short if float(short) == lr else repr(float(lr))


def _lr_warnings(
    jobs: pd.DataFrame, tried: pd.DataFrame, winner: pd.Series, search: SearchOutcome | None
) -> list[str]:
    best = float(winner["lr"])
    ties = tried[_ties(tried["dev_mean"], winner["dev_mean"]) & (tried["lr"] != best)]
    if len(tried) > 1 and len(ties) == len(tried) - 1:
        return [
            f"all {len(tried)} lrs tie on dev ({_number(winner['dev_mean'])}): "
            "the grid does not tell them apart"
        ]
    if not ties.empty:
        tied = ", ".join(lr_text(lr) for lr in sorted(ties["lr"]))
        return [f"lr {tied} tie{'s' if len(ties) == 1 else ''} with it on dev"]
    if search is not None:
        return _bound_warnings(best, search.ranges.get("lr"))
    grid = sorted(jobs["lr"].dropna().unique())
    # A diverged lr says as much about the scale as a finished one; a failed one says nothing.
    diverged = jobs.loc[jobs["status"] == records.DIVERGED, "lr"].dropna()
    edge = next_lr(grid, best, finished=[*tried["lr"], *diverged])
    return [f"best lr at the edge of the grid: extend it to {lr_text(edge)}"] if edge else []


def _bound_warnings(best: float, bounds: tuple[float, float] | None) -> list[str]:
    """A search's best lr at a bound of its range: the range, not the draws, should widen."""
    if bounds is None or not 0 < bounds[0] < bounds[1]:
        return []
    low, high = bounds
    margin = (high / low) ** NEAR_BOUND
    sides = [("lower", low, best <= low * margin), ("upper", high, best >= high / margin)]
    for side, bound, near in sides:
        if near:
            return [
                f"best lr near the {side} bound of the searched range ({lr_text(bound)}): "
                "widen hydra.sweeper.params.lr"
            ]
    return []


def _step_0_warnings(winner: pd.Series) -> list[str]:
    at_step_0, seeds = int(winner["seeds_at_step_0"]), int(winner["seeds"])
    if not at_step_0:
        return []
    if at_step_0 == seeds:
        return [f"no gain over zero-shot ({at_step_0}/{seeds} seeds best at step 0)"]
    return [f"no gain over zero-shot in {at_step_0}/{seeds} seeds (best at step 0)"]


def _unfinished_warnings(jobs: pd.DataFrame, tried: pd.DataFrame) -> list[str]:
    """The lrs of the grid without any finished run (diverged ones have a line of their own)."""
    finished = set(tried["lr"])
    missing = []
    for lr, at_lr in jobs.groupby("lr", sort=True):
        statuses = at_lr.loc[at_lr["status"] != records.DIVERGED, "status"].fillna("unknown")
        if lr in finished or statuses.empty:
            continue
        counts = ", ".join(f"{count} {status}" for status, count in statuses.value_counts().items())
        missing.append(f"{lr_text(lr)} ({counts})")
    return [f"no finished run at lr {'; '.join(missing)}"] if missing else []


def _search_winner(
    tried: pd.DataFrame, winner: pd.Series | None, search: SearchOutcome | None
) -> pd.Series | None:
    """The search's best trial where it ties for the cell's best (the search names it)."""
    if search is None or winner is None:
        return winner
    for _, config in tried.iterrows():
        if _matches(config["settings"], search.best_params) and _ties(
            config["dev_mean"], winner["dev_mean"]
        ):
            return config
    return winner


def _matches(settings: dict, params: dict) -> bool:
    """Whether a configuration's settings hold the searched parameters' values."""

    def same(value: object, wanted: object) -> bool:
        try:
            return float(value) == float(wanted)
        except (TypeError, ValueError):
            return str(value) == str(wanted)

    return all(name in settings and same(settings[name], v) for name, v in params.items())


def _ties(values: pd.Series | float, best: float) -> pd.Series | bool:
    if isinstance(values, pd.Series):
        return (values - best).abs() <= TIE
    return math.isclose(values, best, rel_tol=0, abs_tol=TIE)


def _round(lr: float) -> float:
    return float(f"{lr:.3g}")


def _best_text(best: pd.Series | None, jobs: pd.DataFrame) -> str:
    if best is None:
        statuses = jobs["status"].fillna("unknown").value_counts()
        return f"no finished run ({', '.join(f'{n} {s}' for s, n in statuses.items())})"
    seeds = int(best["seeds"])
    return (
        f"lr {lr_text(best['lr'])}: dev {_number(best['dev_mean'])}, "
        f"test {_number(best['test_mean'])} ({seeds} seed{'s' if seeds != 1 else ''}, "
        f"zero-shot dev {_number(best['zero_shot_dev'])})"
    )


def _unreadable_line(jobs: pd.DataFrame) -> str:
    """Jobs whose config could not be read: no cell to put them in, so they are named apart."""
    count = len(jobs)
    first = jobs["error"].dropna()
    reason = first.iloc[0] if len(first) else str(jobs["path"].iloc[0])
    more = " and others: python -m zo_sweep.summary --view failures" if count > 1 else ""
    return f"  not counted: {count} job{'s' if count != 1 else ''} without a readable config ({reason}{more})"


def _number(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.3f}"


def _cell_name(job: pd.Series, variants: list[str]) -> str:
    parts = schema.cell_label(job)
    for key in variants:
        value = identity.setting_text(job["settings"], key)
        parts += [f"{key}={value}"] if value else []
    return " ".join(parts)
