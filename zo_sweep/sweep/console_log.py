"""Quiet by default, details on request: what Hydra's and the jobs' log lines show on the console.

conf/hydra/hydra_logging/zo_sweep.yaml (the sweep's process) and job_logging/zo_sweep.yaml (each
job) give the console handler a `DetailsOnRequest` filter: warnings and errors always show, the
INFO lines (Hydra's `Launching jobs`, each job's `started` and `ok`) only with `-v` or
`hydra.verbose`. The details stay in the log files: each job's `zo_sweep.log` (Hydra's file
handler) and the sweep's own `sweep.log` in its folder (`SweepLog`: Hydra's launch lines and
each job's start and end, which the console's watcher logs).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from zo_sweep import records

# `python -m zo_sweep -v` stands for this override: zo_sweep's own debug lines, and the details.
VERBOSE_OVERRIDE = "hydra.verbose=zo_sweep"
VERBOSE_FLAGS = ("-v", "--verbose")
EVENTS_LOGGER = "zo_sweep.sweep.events"  # each job's start and end, for the sweep's log
FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"

# The sweep's own log, once its folder is claimed (one sweep per process).
_sweep_log_path: Path | None = None


def verbose_requested(verbose: Any) -> bool:
    """Whether Hydra's `hydra.verbose` (true, a logger's name, or a list of them) asks for more."""
    return bool(verbose) and verbose not in ("false", "False")


class DetailsOnRequest(logging.Filter):
    """Lets warnings and errors through; INFO and DEBUG lines only when verbose."""

    def __init__(self, verbose: Any = False) -> None:
        super().__init__()
        self.verbose = verbose_requested(verbose)

    def filter(self, record: logging.LogRecord) -> bool:
        return self.verbose or record.levelno >= logging.WARNING


class SweepLog(logging.Handler):
    """Appends each record to the sweep folder's sweep.log; nothing before the folder is known.

    Opened per record: Hydra reconfigures logging between jobs run in its own process, which
    closes every handler, and a few lines per job cost nothing.
    """

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.setFormatter(logging.Formatter(FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        if _sweep_log_path is None:
            return
        try:
            with open(_sweep_log_path, "a", encoding="utf-8") as log:
                log.write(self.format(record) + "\n")
        except (OSError, ValueError):
            self.handleError(record)


def open_sweep_log(sweep_dir: Path) -> None:
    """From now on, the sweep's log lines go to <sweep_dir>/sweep.log."""
    global _sweep_log_path
    _sweep_log_path = sweep_dir / records.SWEEP_LOG_FILE


def sweep_events() -> logging.Logger:
    """The logger of each job's start and end: to the sweep's log only. The console shows
    them its own way (zo_sweep.sweep.progress), and a job run in this process must not take
    them into its own log."""
    events = logging.getLogger(EVENTS_LOGGER)
    if not any(isinstance(handler, SweepLog) for handler in events.handlers):
        events.addHandler(SweepLog())
    events.propagate = False
    events.setLevel(logging.INFO)
    return events


def with_verbose_override(arguments: list[str]) -> list[str]:
    """`-v` (or `--verbose`) as Hydra's override; a `hydra.verbose=...` given wins."""
    if not any(arg in VERBOSE_FLAGS for arg in arguments):
        return arguments
    rest = [arg for arg in arguments if arg not in VERBOSE_FLAGS]
    if any(arg.lstrip("+").startswith("hydra.verbose=") for arg in rest):
        return rest
    return [*rest, VERBOSE_OVERRIDE]
