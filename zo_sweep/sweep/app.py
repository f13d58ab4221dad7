"""The Hydra application `python -m zo_sweep`: one job per composed config, sweeps with -m.

    python -m zo_sweep model=llama1b task=copa method=zo data=original -m lr=1e-6,5e-7

Hydra reads the command line, composes the config and runs the sweeper: the grid sweeper
(hydra_plugins/zo_sweep_sweeper) checks every job before the first starts, and the callbacks
(zo_sweep.sweep.callbacks) check a single run, claim the output folder and tally the statuses
at the end. Each job runs the project's trainer (zo_sweep.sweep.job). `main` is the adapter
around Hydra: it turns what Hydra raises into one line and the sweep's outcome into the exit
code, non-zero if any job failed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import hydra
from hydra._internal.utils import get_args_parser
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from zo_sweep import CONF_DIR
from zo_sweep.closed_pipe import quiet_on_closed_pipe
from zo_sweep.jobdir.liveness import mark_this_process_as_the_sweep
from zo_sweep.jobdir.schema import register_schema
from zo_sweep.resolvers import register_resolvers
from zo_sweep.sweep import shell_completion
from zo_sweep.sweep import status as sweep_status
from zo_sweep.sweep.console_log import with_verbose_override
from zo_sweep.sweep.folders import register_job_folders
from zo_sweep.sweep.job import run_job
from zo_sweep.sweep.one_line import one_line_message
from zo_sweep.sweep.outcome import OUTCOME
from zo_sweep.sweep.plugins import missing_plugin_message
from zo_sweep.sweep.process import sigterm_as_interrupt
from zo_sweep.sweep.progress import live_progress_closed

EXIT_FAILED_JOBS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
# Flags that take no value: they can move to the front of the command line unchanged.
MOVABLE_FLAGS = ("-m", "--multirun", "--resolve")
# Hydra raises its errors instead of printing them at length when this is set.
HYDRA_FULL_ERROR = "HYDRA_FULL_ERROR"


# Every process that runs jobs imports this module (launchers' workers unpickle sweep_job).
register_resolvers()
register_job_folders()
register_schema()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def sweep_job(cfg: DictConfig) -> float:
    """Hydra's task function: run one job in its own output directory."""
    returned = run_job(cfg, Path(HydraConfig.get().runtime.output_dir))
    # Run in the sweep's own process (Hydra's basic launcher), the job is on the sweep's
    # account at once, even if the launcher then gives up the rest of its batch.
    sweep_status.note_return(returned, OUTCOME.returned)
    return returned


@quiet_on_closed_pipe
def main() -> None:
    """Entry point: run the app, one line for bad input, exit non-zero if a job failed."""
    sys.argv[1:] = with_verbose_override(_flags_first(sys.argv[1:]))
    if shell_completion.requested(sys.argv[1:]):
        # `install=bash` or `query=bash` are no overrides: nothing to check, no job to run.
        problem = shell_completion.problem(sys.argv[1:])
        if problem:
            _exit_bad_input(problem)
        if not shell_completion.handled_here(sys.argv[1:]):
            sweep_job()
        return
    problem = _flag_problem(sys.argv[1:]) or missing_plugin_message(sys.argv[1:])
    if problem:
        _exit_bad_input(problem)
    # Jobs on this host end when this process dies, whichever process runs them.
    mark_this_process_as_the_sweep()
    wants_traceback = HYDRA_FULL_ERROR in os.environ
    os.environ.setdefault(HYDRA_FULL_ERROR, "1")
    try:
        with sigterm_as_interrupt(), live_progress_closed():
            sweep_job()
    except KeyboardInterrupt:
        _report_interrupt()
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        raise  # stdout's reader went away (`--help | head`): no error (quiet_on_closed_pipe)
    except Exception as err:
        message = None if wants_traceback else one_line_message(err)
        if message is None:
            raise
        _exit_bad_input(message)
    if OUTCOME.refusals:
        _exit_bad_input(OUTCOME.refusals[0])
    sys.exit(EXIT_FAILED_JOBS if OUTCOME.failing_jobs else 0)


def _exit_bad_input(message: str) -> None:
    # One line, whatever the value quoted in it holds (a newline typed in an override).
    print(f"error: {' '.join(message.splitlines())}", file=sys.stderr, flush=True)
    sys.exit(EXIT_BAD_INPUT)


def _flags_first(arguments: list[str]) -> list[str]:
    """Move -m/--multirun before the overrides, so `a=1 -m b=1,2` parses like `-m a=1 b=1,2`.

    argparse (which Hydra uses) rejects overrides on both sides of a flag.
    """
    flags = [arg for arg in arguments if arg in MOVABLE_FLAGS]
    return flags + [arg for arg in arguments if arg not in MOVABLE_FLAGS]


class _FlagError(Exception):
    """argparse's complaint about the command line's flags."""


def _flag_problem(arguments: list[str]) -> str | None:
    """A flag Hydra's parser refuses (`--cfg bogus`), as one line instead of its usage text."""

    def refuse(message: str) -> NoReturn:
        raise _FlagError(message)

    parser = get_args_parser()
    parser.error = refuse  # type: ignore[method-assign]
    try:
        parser.parse_args(arguments)
    except _FlagError as err:
        return f"{err} (python -m zo_sweep --help lists the flags)"
    return None


def _report_interrupt() -> None:
    """Record the jobs that were still running, then say where the sweep stopped."""
    root = OUTCOME.output_dir
    if root is None:
        print("interrupted before any job started", file=sys.stderr)
        return
    sweep_status.mark_unfinished_interrupted(root)
    counts = sweep_status.tally(root, OUTCOME.returned)
    tally = sweep_status.format_tally(counts, root, OUTCOME.planned_jobs)
    print(f"interrupted; {tally}", file=sys.stderr)
