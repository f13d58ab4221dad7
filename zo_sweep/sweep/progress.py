"""Live progress of a running sweep on its console, read from the job directories.

A thread in the sweep process looks at the sweep folder every POLL_SECONDS, whichever launcher
runs the jobs (in this process, joblib workers, SLURM nodes): jobs only need to write their
files (see zo_sweep.jobdir.progress). What it shows:

- on a terminal, a table of the running jobs, one line each, fitted to the terminal's width
  and redrawn in place (rich's Live display), with the count of jobs done above it;
- elsewhere (CI, a log file), the same count and table as plain lines every `every_seconds`;
- a line as soon as a job ends badly (failed, lost, ...); with -v, one for every start and end;
- at the end, the table of every job, as it ended.

Both it and `python -m zo_sweep.summary --view progress` count done jobs against the sweep's
plan, which it records in the sweep's folder (zo_sweep.jobdir.sweep_plan). Each job's start
and end also go to the sweep's log (zo_sweep.sweep.console_log).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from zo_sweep import records
from zo_sweep.closed_pipe import silence_stdout
from zo_sweep.jobdir.progress import LOST, RUNNING, JobProgress, describe, read_job_progress
from zo_sweep.jobdir.progress import states_headline as _states_headline
from zo_sweep.jobdir.sweep_plan import planned_total, record_planned_jobs
from zo_sweep.sweep import status as sweep_status
from zo_sweep.sweep.console_log import sweep_events
from zo_sweep.sweep.progress_table import job_table

POLL_SECONDS = 2.0
PREFIX = "[progress] "
# Where a job gets to that the quiet console does not announce: it is going well.
UNREMARKABLE = (RUNNING, records.OK, records.SKIPPED, records.DRY_RUN)
# The table at the end lists every job of a sweep this size; a larger one, those not ok.
MOST_FINAL_ROWS = 20

_watching: set[ProgressWatcher] = set()


def sweep_progress(
    root: Path, finished: dict[Path, JobProgress] | None = None
) -> list[tuple[Path, JobProgress]]:
    """Every job under the sweep folder with its progress, named by its path below it.

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
        jobs.append((job_dir, job))
    return jobs


def headline(jobs: list[tuple[Path, JobProgress]], root: Path) -> str:
    """`2/4 jobs done, 1 running, 1 lost`, counted against the plan recorded in root."""
    total = planned_total((job_dir for job_dir, _ in jobs), sweep_dirs=[root])
    return _states_headline([job.state for _, job in jobs], total)


class ProgressWatcher:
    """Shows the progress of the jobs under `root` until `stop()`.

    `total` is the jobs the sweep plans (a callable: known once the sweeper has its grid);
    `sweep` says root is a sweep's folder, where the plan is recorded. With `show` false it
    only records: the plan, and each job's start and end in the sweep's log.
    """

    def __init__(
        self,
        root: Path,
        total: int | None | Callable[[], int | None],
        every_seconds: float,
        stream: TextIO | None = None,
        *,
        interactive: bool | None = None,
        verbose: bool = False,
        show: bool = True,
        sweep: bool = True,
    ) -> None:
        self.root, self._total, self.sweep = root, total, sweep
        self.stream = stream or sys.stdout
        self.verbose, self.show = verbose, show
        self.interactive = _is_terminal(self.stream) if interactive is None else interactive
        self.every_seconds = every_seconds if every_seconds > 0 else POLL_SECONDS
        self._states: dict[str, str] = {}
        self._finished: dict[Path, JobProgress] = {}
        self._recorded_total: int | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="sweep-progress", daemon=True)
        self._live: Live | None = None
        self._events = sweep_events()

    @property
    def total(self) -> int | None:
        return self._total() if callable(self._total) else self._total

    def start(self) -> None:
        # Details (-v) come as lines, which a display redrawn in place would tear apart.
        if self.show and self.interactive and not self.verbose:
            self._live = _live_display(self.stream)
            self._live.start()
        _watching.add(self)
        self._thread.start()

    def stop(self, final_table: bool = True) -> None:
        """Report what changed since the last look, end the thread, then show every job."""
        _watching.discard(self)
        self._stopped.set()
        self._thread.join(timeout=10)
        jobs = sweep_progress(self.root, self._finished)
        self._look(jobs, picture=False)
        width = self._live.console.width if self._live is not None else None
        if self._live is not None:
            self._live.stop()  # transient: the running jobs' table goes
            self._live = None
        if final_table and self.show and jobs:
            self._write_lines(self._final_table(jobs, width))

    def _watch(self) -> None:
        next_picture = time.monotonic() + self.every_seconds
        while not self._stopped.wait(POLL_SECONDS):
            due = self._live is not None or time.monotonic() >= next_picture
            self._look(sweep_progress(self.root, self._finished), picture=due)
            if due:
                next_picture = time.monotonic() + self.every_seconds

    def _look(self, jobs: list[tuple[Path, JobProgress]], picture: bool) -> None:
        self._record_plan()
        self._report_changes([job for _, job in jobs])
        if picture and self.show:
            self._show_picture(jobs)

    def _record_plan(self) -> None:
        total = self.total
        if self.sweep and total is not None and total != self._recorded_total:
            with contextlib.suppress(OSError):  # a full disk: the count is the folders'
                record_planned_jobs(self.root, total)
                self._recorded_total = total

    def _report_changes(self, jobs: list[JobProgress]) -> None:
        lines = []
        for job in jobs:
            if self._states.get(job.name) == job.state:
                continue
            self._states[job.name] = job.state
            self._events.log(
                logging.INFO if job.state in UNREMARKABLE else logging.WARNING, describe(job)
            )
            if self.verbose or job.state not in UNREMARKABLE:
                lines.append(PREFIX + describe(job))
        if lines and self.show:
            self._write_lines(lines)

    def _show_picture(self, jobs: list[tuple[Path, JobProgress]]) -> None:
        if not jobs and self._recorded_total is None:
            return  # the sweeper has not planned yet: nothing to count
        active = [job for _, job in jobs if job.state in (RUNNING, LOST)]
        count = headline(jobs, self.root)
        if self._live is not None:
            console = self._live.console
            rows = job_table(active, console.width - 1)[: max(2, console.height - 2)]
            self._live.update(Text("\n".join([count, *rows])), refresh=True)
            return
        self._write_lines([PREFIX + line for line in [count, *job_table(active)]])

    def _final_table(self, jobs: list[tuple[Path, JobProgress]], width: int | None) -> list[str]:
        shown = [job for _, job in jobs]
        if len(shown) > MOST_FINAL_ROWS:
            shown = [job for job in shown if job.state != records.OK][:MOST_FINAL_ROWS]
        lines = job_table(shown, width and width - 1, eta=False)
        if len(shown) < len(jobs):
            more = len(jobs) - len(shown)
            lines.append(f"... and {more} more: python -m zo_sweep.summary {self.root}")
        return lines

    def _write_lines(self, lines: list[str]) -> None:
        if self._live is not None:
            for line in lines:  # above the live table
                self._live.console.print(Text(line), soft_wrap=True)
            return
        try:
            self.stream.write("".join(f"{line}\n" for line in lines))
            self.stream.flush()
        except BrokenPipeError:
            # The console's reader went away (`| head`): the sweep goes on, quietly.
            silence_stdout()
            self.show = False


@contextlib.contextmanager
def live_progress_closed() -> Iterator[None]:
    """Whatever ends the sweep (Ctrl-C, an error), no live display is left on the terminal."""
    try:
        yield
    finally:
        for watcher in list(_watching):
            watcher.stop(final_table=False)


def _live_display(stream: TextIO) -> Live:
    console = Console(file=stream, highlight=False, markup=False, emoji=False)
    # Lines printed while it shows (the sweep's own messages) go above it.
    redirect = stream is sys.stdout
    return Live(
        console=console,
        auto_refresh=False,
        transient=True,
        redirect_stdout=redirect,
        redirect_stderr=redirect,
    )


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty() and not Console(file=stream).is_dumb_terminal
    except (AttributeError, ValueError):
        return False


def _job_name(job_dir: Path, root: Path) -> str:
    try:
        relative = job_dir.relative_to(root)
    except ValueError:
        return str(job_dir)
    return job_dir.name if relative == Path() else str(relative)
