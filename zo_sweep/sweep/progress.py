"""Live progress of a running sweep on its console, read from the job directories.

A thread in the sweep process looks at the sweep folder every POLL_SECONDS, whichever launcher
runs the jobs (in this process, joblib workers, SLURM nodes): jobs only need to write their
files (see zo_sweep.jobdir.progress). It prints one line when a job starts, ends or is lost,
and a picture of the sweep: on a terminal one status line redrawn in place every few seconds;
elsewhere (CI, a log file) plain lines every `every_seconds`.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from zo_sweep.jobdir.progress import (
    RUNNING,
    JobProgress,
    describe,
    read_job_progress,
    states_headline,
)
from zo_sweep.sweep import status as sweep_status

POLL_SECONDS = 2.0
CLEAR_LINE = "\r\x1b[K"


def sweep_progress(
    root: Path, finished: dict[Path, JobProgress] | None = None
) -> list[JobProgress]:
    """The progress of every job under the sweep folder, named by its path below it.

    `finished` keeps the jobs that ended, which never change again, so that a watcher reads
    only the running ones on each look.
    """
    now = time.time()
    jobs = []
    for job_dir in sweep_status.job_dirs(root):
        job = (finished or {}).get(job_dir) or read_job_progress(
            job_dir, _job_name(job_dir, root), now=now
        )
        if finished is not None and job.finished:
            finished[job_dir] = job
        jobs.append(job)
    return jobs


def headline(jobs: list[JobProgress], total: int | None) -> str:
    """`2/4 jobs done, 1 running, 1 lost`: the count of jobs the sweeper will run, when known."""
    return states_headline([job.state for job in jobs], total)


class ProgressWatcher:
    """Prints the progress of the jobs under `root` until `stop()`."""

    def __init__(
        self,
        root: Path,
        total: int | None | Callable[[], int | None],
        every_seconds: float,
        stream: TextIO | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.root, self._total = root, total
        self.stream = stream or sys.stdout
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.every_seconds = min(POLL_SECONDS, every_seconds) if self.interactive else every_seconds
        self._states: dict[str, str] = {}
        self._finished: dict[Path, JobProgress] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="sweep-progress", daemon=True)
        self._status_shown = False

    @property
    def total(self) -> int | None:
        """The jobs the sweep will run (a callable: known once the sweeper has its grid)."""
        return self._total() if callable(self._total) else self._total

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Report what changed since the last look, then end the thread."""
        self._stopped.set()
        self._thread.join(timeout=10)
        self._report_changes(sweep_progress(self.root, self._finished))
        if self._status_shown:
            self._write(CLEAR_LINE)

    def _watch(self) -> None:
        next_picture = time.monotonic() + min(self.every_seconds, POLL_SECONDS)
        while not self._stopped.wait(min(POLL_SECONDS, self.every_seconds)):
            jobs = sweep_progress(self.root, self._finished)
            self._report_changes(jobs)
            if time.monotonic() >= next_picture:
                self._show_picture(jobs)
                next_picture = time.monotonic() + self.every_seconds

    def _report_changes(self, jobs: list[JobProgress]) -> None:
        lines = []
        for job in jobs:
            if self._states.get(job.name) != job.state:
                self._states[job.name] = job.state
                lines.append(f"[progress] {describe(job)}")
        if lines:
            self._write_lines(lines)

    def _show_picture(self, jobs: list[JobProgress]) -> None:
        running = [job for job in jobs if job.state == RUNNING]
        if self.interactive:
            width = shutil.get_terminal_size().columns - 1
            picture = " | ".join([headline(jobs, self.total), *map(_short, running)])
            self._write(f"{CLEAR_LINE}{picture[:width]}\r")
            self._status_shown = True
            return
        lines = [f"[progress] {headline(jobs, self.total)}"]
        lines += [f"[progress]   {describe(job)}" for job in running]
        self._write_lines(lines)

    def _write_lines(self, lines: list[str]) -> None:
        prefix = CLEAR_LINE if self._status_shown else ""
        self._status_shown = False
        self._write(prefix + "".join(f"{line}\n" for line in lines))

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


def _short(job: JobProgress) -> str:
    """A running job in a few characters, for the one-line terminal picture."""
    return describe(job).replace(": running", "").replace(", ", " ")


def _job_name(job_dir: Path, root: Path) -> str:
    try:
        relative = job_dir.relative_to(root)
    except ValueError:
        return str(job_dir)
    return job_dir.name if relative == Path() else str(relative)
