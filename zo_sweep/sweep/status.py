"""What a sweep's jobs have done: the tally and unfinished jobs.

The tally counts what the sweep saw: each job's return, which says how the job ended
(zo_sweep.sweep.job_result.JobObjective), the jobs that could not start, and the job
directories, whichever launcher ran the jobs (a SLURM job SLURM ended returns nothing of its
own; a search sweeper keeps the returns to itself). A job's record is its last word; its return
counts it where the record is missing: a job whose folder was removed, could not be written or
never created is still counted.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from zo_sweep import records
from zo_sweep.sweep.job_result import JobObjective

NO_RESULT = "no_result"  # a job that started but left no result.json (killed hard, lost node)
NOT_STARTED = "not started"  # a job of the sweep that had not started when the sweep ended
# Statuses that make the sweep end with a non-zero exit code.
FAILING_STATUSES = (records.FAILED, records.TIMEOUT, records.INTERRUPTED, NO_RESULT, NOT_STARTED)


def job_dirs(root: Path) -> list[Path]:
    """Every job directory under root (the ones holding Hydra's .hydra snapshot)."""
    if not root.is_dir():
        return []
    return sorted(
        snapshot.parent for snapshot in root.rglob(records.HYDRA_DIR) if snapshot.is_dir()
    )


def started_jobs(root: Path) -> list[Path]:
    """Job directories under root whose job started (it claims its folder with command.sh)."""
    if not root.is_dir():
        return []
    return sorted(command.parent for command in root.rglob(records.COMMAND_FILE))


def job_status(job_dir: Path) -> str:
    try:
        result = records.read_result(job_dir)
    except ValueError:
        return NO_RESULT
    return str(result.get("status", NO_RESULT)) if result else NO_RESULT


def tally(root: Path, returned: Mapping[str, str] | None = None) -> Counter[str]:
    """How many jobs ended in each status: as their folders under root say, and, where a
    folder says nothing (no record, or no folder at all), as the job returned (`returned`, by
    absolute folder). A record stands over the return: a launcher may refine it after the job
    returned (SLURM's time limit)."""
    statuses = dict(returned or {})
    for job_dir in job_dirs(root):
        status, key = job_status(job_dir), _absolute(job_dir)
        if status != NO_RESULT or key not in statuses:
            statuses[key] = status
    return Counter(statuses.values())


def note_returns(returns: Iterable[Any], returned: dict[str, str]) -> None:
    """Keep how each job of a launched batch ended, from its return (Hydra's JobReturn)."""
    for job_return in returns:
        # `return_value` raises for a job whose task raised; run_job never does.
        note_return(getattr(job_return, "_return_value", None), returned)


def note_return(value: Any, returned: dict[str, str]) -> None:
    """Keep how one job ended, from what it returned (a JobObjective; anything else says
    nothing, and its folder will)."""
    if isinstance(value, JobObjective):
        returned[_absolute(Path(value.job_dir))] = value.status


def _absolute(path: Path) -> str:
    return os.path.abspath(path)


def count_not_started(counts: Counter[str], planned: int | None) -> Counter[str]:
    """counts plus the jobs the sweep planned that left no folder (it ended before them)."""
    missing = (planned or 0) - sum(counts.values())
    return counts + Counter({NOT_STARTED: missing}) if missing > 0 else counts


def format_tally(counts: Counter[str], root: Path, planned: int | None = None) -> str:
    """`4 jobs: 3 ok, 1 failed (<root>)`; jobs planned but never started count too."""
    counts = count_not_started(counts, planned)
    total = sum(counts.values())
    order = {status: rank for rank, status in enumerate((*records.STATUSES, NO_RESULT))}
    ranked = sorted(counts.items(), key=lambda item: order.get(item[0], len(order)))
    parts = ", ".join(f"{count} {status}" for status, count in ranked)
    return f"{total} job{'s' if total != 1 else ''}: {parts or 'none ran'} ({root})"


def failing_count(counts: Counter[str]) -> int:
    return sum(counts[status] for status in FAILING_STATUSES)


def mark_unfinished_interrupted(root: Path) -> list[Path]:
    """Record as interrupted every job that started (wrote command.sh) and has no result yet."""
    marked = []
    for job_dir in started_jobs(root):
        if not (job_dir / records.RESULT_FILE).exists():
            records.write_json_atomic(
                job_dir / records.RESULT_FILE,
                {
                    "status": records.INTERRUPTED,
                    "error": "the sweep was interrupted while this job ran",
                },
            )
            marked.append(job_dir)
    return marked
