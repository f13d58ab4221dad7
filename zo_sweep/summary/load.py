"""`load(dirs)`: every job under some directories -> one pandas DataFrame, one row per job."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from zo_sweep import records
from zo_sweep.summary import schema
from zo_sweep.summary.job_row import read_job_row
from zo_sweep.summary.sources import row_sources

DEFAULT_DIR = "outputs"
# Reading a job is mostly file I/O on a possibly networked disk; threads overlap the waits.
READ_THREADS = min(8, (os.cpu_count() or 1) * 2)
PROGRESS_MIN_JOBS = 500


class SummaryWarning(UserWarning):
    """A job directory holds a file the summary could not read (the row is still shown)."""


def load(
    dirs: str | Path | Iterable[str | Path] = DEFAULT_DIR,
    *,
    extra_rows: Iterable[Mapping[str, Any]] = (),
    use_sources: bool = True,
    progress: bool | None = None,
) -> pd.DataFrame:
    """One row per job found under `dirs` (columns: `schema.COLUMNS`).

    `extra_rows` are appended as they are (rows in the same schema, e.g. imported results);
    with `use_sources`, every row source (`sources.row_sources()`) is asked about every dir.
    Unreadable files give a SummaryWarning naming the file, and the row has status `corrupt`.
    """
    roots = [Path(dirs)] if isinstance(dirs, (str, Path)) else [Path(d) for d in dirs]
    job_dirs = sorted({job for root in roots for job in find_job_dirs(root)})
    rows = read_rows(job_dirs, progress=progress)
    if use_sources:
        rows += [dict(row) for root in roots for row in _source_rows(root)]
    rows += [dict(row) for row in extra_rows]
    return schema.rows_to_frame(rows)


def find_job_dirs(root: Path) -> Iterator[Path]:
    """Every directory under `root` (itself included) that holds `.hydra/config.yaml`.

    A job directory is not searched further, and hidden directories (`.hydra`, lock folders)
    never are: on an archive this skips most of the tree.
    """
    if _is_job_dir(root):
        yield root
        return
    try:
        entries = list(os.scandir(root))
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        yield from find_job_dirs(Path(entry.path))


def read_rows(job_dirs: list[Path], *, progress: bool | None = None) -> list[dict[str, Any]]:
    """The rows of these job directories, in their order; problems become SummaryWarnings."""
    now = time.time()
    show = len(job_dirs) >= PROGRESS_MIN_JOBS if progress is None else progress
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        results = pool.map(lambda job: read_job_row(job, now=now), job_dirs)
        bar = tqdm(results, total=len(job_dirs), desc="reading jobs", unit="job", disable=not show)
        pairs = list(bar)
    for _, problems in pairs:
        for problem in problems:
            warnings.warn(problem, SummaryWarning, stacklevel=3)
    return [row for row, _ in pairs]


def _is_job_dir(path: Path) -> bool:
    return os.path.isfile(os.path.join(path, records.HYDRA_DIR, "config.yaml"))


def _source_rows(root: Path) -> Iterator[Mapping[str, Any]]:
    for reader in row_sources().values():
        yield from reader(root)
