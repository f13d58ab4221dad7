"""What a sweep's jobs have done, read from their directories: the tally and unfinished jobs.

The job directories are the record, whichever launcher ran the jobs (in this process, in
joblib workers, or on SLURM nodes), so the end-of-sweep tally reads them rather than relying
on return values that some launchers keep in other processes.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from zo_sweep import records

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


def tally(root: Path) -> Counter[str]:
    return Counter(job_status(job_dir) for job_dir in job_dirs(root))


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
