"""Hydra callbacks: check and claim the output folder, name the jobs, show progress, tally.

A grid's jobs are checked by its sweeper before the first one starts (zo_sweep.sweep.grid_check);
here a single run's config is checked, and a search sweeper's base config. Hydra turns a
callback's exception into a warning, so a problem ends the process from here with SystemExit
(one line on stderr); what the sweep learns is kept in OUTCOME for `zo_sweep.sweep.app.main`.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any, NoReturn

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, read_write

from zo_sweep.errors import ConfigError, DataError
from zo_sweep.sweep import command_line_checks
from zo_sweep.sweep import status as sweep_status
from zo_sweep.sweep.budget import budget_lines, local_gpu_memory_mb
from zo_sweep.sweep.console_log import open_sweep_log, verbose_requested
from zo_sweep.sweep.dry_run import dry_run_report
from zo_sweep.sweep.folders import check_folder_names, claim_fresh_folder, constant_keys
from zo_sweep.sweep.outcome import OUTCOME
from zo_sweep.sweep.progress import ProgressWatcher
from zo_sweep.sweep.validation import validate_job_config

EXIT_BAD_CONFIG = 2
# The sweepers that check every job they hold before the first starts.
CHECKING_SWEEPERS = ("hydra_plugins.zo_sweep_sweeper.grid.GridSweeper",)
EXCLUDE_KEYS = "hydra.job.config.override_dirname.exclude_keys"


class Preflight(Callback):
    """Check what the sweeper does not, name the jobs, claim this run's or sweep's folder."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _exit_if_wrong_request(config, multirun=False)
        _exit_if_wrong(config)
        OUTCOME.planned_jobs = 1
        OUTCOME.output_dir = _claim_output_dir(config, "run")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _exit_if_wrong_request(config, multirun=True)
        _exit_unless_maximising(config)
        if OmegaConf.select(config, "hydra.sweeper._target_") not in CHECKING_SWEEPERS:
            # A search sweeper draws its values as it goes: its base config is what there is.
            _exit_if_wrong(config)
            OUTCOME.planned_jobs = OmegaConf.select(config, "hydra.sweeper.n_trials")
        else:
            _exit_if_wrong(config, folder_names_only=True)
        _name_jobs_by_what_varies(config)
        OUTCOME.output_dir = _claim_output_dir(config, "sweep")


class LiveProgress(Callback):
    """Report the jobs' progress on the console while they run (read from their directories)."""

    def __init__(self) -> None:
        self.watcher: ProgressWatcher | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Launchers pickle the callbacks for their workers; only the sweep process watches.
        return {"watcher": None}

    # Preflight (listed first) has claimed the folder by now; the sweeper counts the jobs.
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._start(config, OUTCOME.output_dir, sweep=False)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if OUTCOME.output_dir is not None:
            open_sweep_log(OUTCOME.output_dir)
        self._start(config, OUTCOME.output_dir, sweep=True)

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._stop()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._stop()

    def _start(self, config: DictConfig, root: Path | None, sweep: bool) -> None:
        if root is None or config.get("dry_run"):
            return
        every = float(config.get("progress_every_s") or 0)
        self.watcher = ProgressWatcher(
            root,
            lambda: OUTCOME.planned_jobs,
            every,
            verbose=verbose_requested(OmegaConf.select(config, "hydra.verbose")),
            show=every > 0,  # 0: nothing on the console, the plan and the sweep's log still kept
            sweep=sweep,
        )
        self.watcher.start()

    def _stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None


class SweepTally(Callback):
    """At the end, print how many jobs ended in each status and remember the failures."""

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._dry_run_table(config, Path(str(config.hydra.runtime.output_dir)))
        job_return = kwargs.get("job_return")
        sweep_status.note_returns([job_return] if job_return else [], OUTCOME.returned)
        self._tally(Path(str(config.hydra.runtime.output_dir)))
        self._budget(config, Path(str(config.hydra.runtime.output_dir)))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._dry_run_table(config, Path(str(config.hydra.sweep.dir)))
        self._tally(Path(str(config.hydra.sweep.dir)))
        self._budget(config, Path(str(config.hydra.sweep.dir)))

    @staticmethod
    def _dry_run_table(config: DictConfig, root: Path) -> None:
        """A dry run lists its jobs and their memory (the commands are in each command.sh)."""
        if config.get("dry_run"):
            width = shutil.get_terminal_size().columns - 1 if sys.stdout.isatty() else None
            gpu_memory_gb = float(config.get("gpu_memory_gb") or 80)
            lines, OUTCOME.refusals = dry_run_report(root, gpu_memory_gb, width)
            print("\n".join(lines), flush=True)

    @staticmethod
    def _budget(config: DictConfig, root: Path) -> None:
        """A dry run ends with what the real run would cost, from the jobs that already ran."""
        if config.get("dry_run"):
            parallel = int(OmegaConf.select(config, "hydra.launcher.n_jobs", default=1) or 1)
            parallel = (os.cpu_count() or 1) if parallel < 0 else parallel  # joblib: -1 = all
            lines = budget_lines(
                root, Path(str(config.output_root)), parallel, local_gpu_memory_mb()
            )
            print("\n".join(lines), flush=True)

    @staticmethod
    def _tally(root: Path) -> None:
        counts = sweep_status.tally(root, OUTCOME.returned)
        OUTCOME.output_dir = root
        OUTCOME.failing_jobs = sweep_status.failing_count(counts)
        print(sweep_status.format_tally(counts, root, OUTCOME.planned_jobs), flush=True)


def _exit_if_wrong_request(config: DictConfig, multirun: bool) -> None:
    """The command line as a whole (zo_sweep.sweep.command_line_checks), in one line."""
    try:
        command_line_checks.check_each_key_once(config)
        if multirun:
            command_line_checks.check_launcher(config)
        else:
            command_line_checks.check_no_sweep_in_a_single_run(config)
    except ConfigError as err:
        _exit_with(str(err))


def _exit_if_wrong(config: DictConfig, folder_names_only: bool = False) -> None:
    """A config no job can run (or a folder name that would leave output_root): one line."""
    try:
        check_folder_names(config) if folder_names_only else validate_job_config(config)
    except (ConfigError, DataError) as err:
        _exit_with(str(err))


def _name_jobs_by_what_varies(config: DictConfig) -> None:
    """Leave the keys the command line gives one value out of the jobs' folder names."""
    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    overrides = list(OmegaConf.to_container(config.hydra.overrides.task))
    constant = constant_keys(overrides, dict(params))
    if not constant:
        return
    excluded = [*OmegaConf.select(config, EXCLUDE_KEYS), *constant]
    with read_write(config.hydra):
        OmegaConf.update(config, EXCLUDE_KEYS, excluded)
        # Launchers compose each job again from these overrides: the jobs must agree.
        words = ",".join(_quoted(key) for key in excluded)
        config.hydra.overrides.hydra.append(f"{EXCLUDE_KEYS}=[{words}]")


def _claim_output_dir(config: DictConfig, mode: str) -> Path:
    """The folder of this run or sweep, created now so that no other one shares it.

    A folder named on the command line (hydra.run.dir=...) is used as given unless it holds
    jobs; the default, timestamped one gets a `_2` suffix when another sweep took it.
    """
    key = f"hydra.{mode}.dir"
    folder = Path(str(OmegaConf.select(config, key)))
    if _given_on_command_line(config, key):
        _exit_if_used(folder)
        return folder
    try:
        claimed = claim_fresh_folder(folder)
    except OSError as err:
        _exit_with(f"cannot create the output folder {folder}: {err.strerror or err}")
    if claimed != folder:
        with read_write(config.hydra):
            OmegaConf.update(config, key, str(claimed))
            # Launchers compose each job again from these overrides: the jobs must agree.
            config.hydra.overrides.hydra.append(f"{key}={_quoted(str(claimed))}")
    return claimed


def _given_on_command_line(config: DictConfig, key: str) -> bool:
    overrides = OmegaConf.select(config, "hydra.overrides.hydra", default=[]) or []
    return any(str(item).lstrip("+").startswith(f"{key}=") for item in overrides)


def _quoted(value: str) -> str:
    """A value as a quoted string of Hydra's override grammar."""
    return "'" + value.replace("'", "\\'") + "'"


def _exit_with(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_BAD_CONFIG) from None


def _exit_if_used(output_dir: Path) -> None:
    """Refuse a folder that already holds jobs (two runs started within the same second)."""
    if sweep_status.started_jobs(output_dir):
        _exit_with(f"{output_dir} already holds jobs; nothing is overwritten, start again")


def _exit_unless_maximising(config: DictConfig) -> None:
    """Jobs return the dev metric (higher is better); Optuna's own default is to minimise."""
    direction = OmegaConf.select(config, "hydra.sweeper.direction")
    if direction is not None and str(direction).split(".")[-1].lower() != "maximize":
        _exit_with(
            f"hydra.sweeper.direction={str(direction).split('.')[-1]}, but jobs return the dev "
            "metric: use search=optuna or hydra.sweeper.direction=maximize"
        )
