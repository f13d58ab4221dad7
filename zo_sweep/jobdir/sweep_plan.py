"""How many jobs a sweep plans, kept in its folder, so that every reader counts the same.

A job's folder appears only when the job starts, so the folders alone say `0/2 jobs done` of a
sweep that will run four. The sweep's console writes the count the sweeper holds into
`sweep.json` in the sweep's folder as soon as it knows it, and both the console and
`python -m zo_sweep.summary --view progress` count against it (`planned_total`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from zo_sweep import records

# A job's folder lies this many levels below its sweep's at most (<model>/<cell>/<varied keys>).
MOST_LEVELS_BELOW = 4


def record_planned_jobs(sweep_dir: Path, planned: int) -> None:
    records.write_json_atomic(sweep_dir / records.SWEEP_PLAN_FILE, {"planned_jobs": planned})


def planned_jobs(sweep_dir: Path) -> int | None:
    """The jobs the sweep in sweep_dir plans, if it said."""
    try:
        planned = json.loads((sweep_dir / records.SWEEP_PLAN_FILE).read_text())["planned_jobs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return planned if isinstance(planned, int) and not isinstance(planned, bool) else None


def sweep_dir_of(job_dir: Path) -> Path | None:
    """The folder of the sweep that job_dir belongs to: the nearest one above with a plan."""
    for parent in list(job_dir.parents)[:MOST_LEVELS_BELOW]:
        if (parent / records.SWEEP_PLAN_FILE).is_file():
            return parent
    return None


def planned_total(job_dirs: Iterable[Path], sweep_dirs: Iterable[Path] = ()) -> int:
    """How many jobs there will be in all: each sweep's plan (or the folders it has, if more:
    a search that ran on), and each job of no known sweep once. `sweep_dirs` are sweeps that
    count even before any of their jobs has a folder."""
    seen: dict[Path | None, int] = {sweep_dir: 0 for sweep_dir in sweep_dirs}
    for job_dir in job_dirs:
        sweep_dir = sweep_dir_of(job_dir)
        seen[sweep_dir] = seen.get(sweep_dir, 0) + 1
    return sum(
        count if sweep_dir is None else max(count, planned_jobs(sweep_dir) or 0)
        for sweep_dir, count in seen.items()
    )
