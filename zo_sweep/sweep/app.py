"""The Hydra application `python -m zo_sweep`: one job per composed config, sweeps with -m.

    python -m zo_sweep model=llama1b task=copa method=zo data=original -m lr=1e-6,5e-7

Each job runs the method's underlying script (see zo_sweep.sweep.job); the callbacks in
zo_sweep.sweep.callbacks check every job's config before the first starts and tally the statuses at
the end. `main` turns that tally into the exit code: non-zero if any job failed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException
from omegaconf import DictConfig

from zo_sweep import CONF_DIR
from zo_sweep.sweep import status as sweep_status
from zo_sweep.sweep.callbacks import OUTCOME
from zo_sweep.sweep.job import run_job
from zo_sweep.sweep.liveness import mark_this_process_as_the_sweep
from zo_sweep.sweep.one_line import one_line_message
from zo_sweep.sweep.plugins import missing_plugin_message
from zo_sweep.sweep.process import sigterm_as_interrupt
from zo_sweep.sweep.resolvers import register_resolvers
from zo_sweep.sweep.validation import CONFIG_GROUPS, ConfigError, check_group_choices

EXIT_FAILED_JOBS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
# Flags that take no value: they can move to the front of the command line unchanged.
MOVABLE_FLAGS = ("-m", "--multirun", "--resolve")
# Hydra raises its errors instead of printing them at length when this is set.
HYDRA_FULL_ERROR = "HYDRA_FULL_ERROR"


register_resolvers()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def sweep_job(cfg: DictConfig) -> float:
    """Hydra's task function: run one job in its own output directory."""
    return run_job(cfg, Path(HydraConfig.get().runtime.output_dir))


def main() -> None:
    """Entry point: check the command line, run the app, exit non-zero if a job failed."""
    sys.argv[1:] = _flags_first(sys.argv[1:])
    problem = _command_line_problem(sys.argv[1:])
    if problem:
        _exit_bad_input(problem)
    # Jobs on this host end when this process dies, whichever process runs them.
    mark_this_process_as_the_sweep()
    wants_traceback = HYDRA_FULL_ERROR in os.environ
    os.environ.setdefault(HYDRA_FULL_ERROR, "1")
    try:
        with sigterm_as_interrupt():
            sweep_job()
    except KeyboardInterrupt:
        _report_interrupt()
        sys.exit(EXIT_INTERRUPTED)
    except Exception as err:
        message = None if wants_traceback else one_line_message(err)
        if message is None:
            raise
        _exit_bad_input(message)
    sys.exit(EXIT_FAILED_JOBS if OUTCOME.failing_jobs else 0)


def _exit_bad_input(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_BAD_INPUT)


def _flags_first(arguments: list[str]) -> list[str]:
    """Move -m/--multirun before the overrides, so `a=1 -m b=1,2` parses like `-m a=1 b=1,2`.

    argparse (which Hydra uses) rejects overrides on both sides of a flag.
    """
    flags = [arg for arg in arguments if arg in MOVABLE_FLAGS]
    return flags + [arg for arg in arguments if arg not in MOVABLE_FLAGS]


def _command_line_problem(arguments: list[str]) -> str | None:
    """Problems Hydra would report at length: a missing plugin, an unknown group option."""
    message = missing_plugin_message(arguments)
    if message:
        return message
    overrides = [arg for arg in arguments if not arg.startswith("-") and "=" in arg]
    if any(arg.startswith("hydra.searchpath=") for arg in overrides):
        return None  # options may come from other folders; Hydra's own check names them
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except OverrideParseException as err:
        return one_line_message(err)
    choices: dict[str, list[str]] = {}
    for override in parsed:
        if override.key_or_group in CONFIG_GROUPS and override.package is None:
            values = override.sweep_string_iterator() if override.is_discrete_sweep() else None
            choices.setdefault(override.key_or_group, []).extend(
                values or [override.get_value_element_as_str()]
            )
    try:
        check_group_choices(choices, CONF_DIR)
    except ConfigError as err:
        return str(err)
    return None


def _report_interrupt() -> None:
    """Record the jobs that were still running, then say where the sweep stopped."""
    root = OUTCOME.output_dir
    if root is None:
        print("interrupted before any job started", file=sys.stderr)
        return
    sweep_status.mark_unfinished_interrupted(root)
    tally = sweep_status.format_tally(sweep_status.tally(root), root, OUTCOME.planned_jobs)
    print(f"interrupted; {tally}", file=sys.stderr)
