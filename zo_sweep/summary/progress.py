"""`python -m zo_sweep.summary --view progress [DIR]`: how far each job has come, from its files.

The same picture the sweep's console shows while it runs (zo_sweep.jobdir.progress), for a
sweep running elsewhere (SLURM) or in another terminal: per job its state (running, lost, or
the status it ended with), step/steps, last loss, last dev metric and ETA; and the same count
of jobs done, against each sweep's recorded plan (zo_sweep.jobdir.sweep_plan).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from zo_sweep.jobdir.progress import format_eta, read_job_progress, states_headline
from zo_sweep.jobdir.sweep_plan import planned_total
from zo_sweep.summary import schema

PROGRESS_COLUMNS = [
    "purpose",
    "timestamp",
    *schema.CELL,
    "job",
    "state",
    "step",
    "steps",
    "loss",
    "dev_metric",
    "dev",
    "eta",
]
SORT_KEYS = ["purpose", "timestamp", *schema.CELL, "job"]


def progress(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per job directory in `frame` (rows of imported old results have none)."""
    now = time.time()
    rows = []
    for row in frame.to_dict("records"):
        path = row.get("path")
        if not isinstance(path, str) or not Path(path).is_dir():
            continue
        job = read_job_progress(Path(path), Path(path).name, now=now)
        rows.append(
            {
                **{key: row.get(key) for key in ("purpose", "timestamp", *schema.CELL)},
                "job": job.name,
                # A record the summary found corrupt (unknown status, inf metrics) is that.
                "state": schema.CORRUPT if row.get("status") == schema.CORRUPT else job.state,
                "step": job.step,
                "steps": job.steps,
                "loss": job.loss,
                "dev_metric": job.dev_name,
                "dev": job.dev,
                "eta": format_eta(job.eta_seconds),
            }
        )
    table = pd.DataFrame(rows, columns=PROGRESS_COLUMNS)
    for column in ("step", "steps", "loss", "dev"):
        # Numbers as the other views keep them: float, a blank cell where there is none yet.
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("float64")
    return table.sort_values(SORT_KEYS, na_position="last", kind="stable").reset_index(drop=True)


def headline(table: pd.DataFrame, frame: pd.DataFrame, whole_sweeps: bool = True) -> str:
    """`3/4 jobs done, 1 running`: the jobs in a progress table, out of the jobs their sweeps
    plan (those not started yet too), unless a filter kept only part of each sweep."""
    if not whole_sweeps:
        return states_headline(list(table["state"]))
    return states_headline(list(table["state"]), planned_total(job_dirs(frame)))


def job_dirs(frame: pd.DataFrame) -> list[Path]:
    """The job directories of the rows (rows of imported old results have none)."""
    paths = frame.get("path", [])
    return [Path(path) for path in paths if isinstance(path, str) and Path(path).is_dir()]
