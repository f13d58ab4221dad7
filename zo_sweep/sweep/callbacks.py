"""Hydra callbacks: check every job's config before the first job starts, and tally at the end.

Hydra gives callbacks no way to hand a result back to the code that called the app, and it
turns a callback's exception into a warning. So a config error ends the process from here with
SystemExit (one line on stderr), and the outcome of the sweep is kept in OUTCOME, which
`zo_sweep.sweep.app.main` reads to choose the exit code once Hydra returns.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, read_write

from zo_sweep.sweep import status as sweep_status
from zo_sweep.sweep.budget import budget_lines, local_gpu_memory_mb
from zo_sweep.sweep.folders import check_folder_names, claim_fresh_folder
from zo_sweep.sweep.one_line import one_line_message
from zo_sweep.sweep.progress import ProgressWatcher
from zo_sweep.sweep.validation import ConfigError, validate_job_config


@dataclass
class SweepOutcome:
    output_dir: Path | None = None  # the sweep folder (multirun) or the job folder (single run)
    failing_jobs: int = 0
    planned_jobs: int | None = None  # how many jobs the sweep meant to run, when known


OUTCOME = SweepOutcome()
EXIT_BAD_CONFIG = 2


def exit_on_config_error(config: DictConfig, job: str = "") -> None:
    """Validate one job's config; on a problem print it as one line and end the process."""
    try:
        check_folder_names(config)
        validate_job_config(config)
    except ConfigError as err:
        _exit_with(f"{job}{err}")
    except Exception as err:  # e.g. an interpolation that cannot resolve; Hydra would go on
        _exit_with(f"{job}{one_line_message(err) or f'{type(err).__name__}: {err}'}")


class Preflight(Callback):
    """Validate the config of every job of a grid before any of them runs."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        exit_on_config_error(config)
        OUTCOME.planned_jobs = 1
        OUTCOME.output_dir = _claim_output_dir(config, "run")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _exit_unless_maximising(config)
        if _is_grid_sweep(config):
            grid = expand_grid(config)
            _exit_on_a_bad_job(config, grid)
            OUTCOME.planned_jobs = len(grid)
        else:
            # A search sweeper draws its values as it goes; check what is fixed now.
            exit_on_config_error(config)
            OUTCOME.planned_jobs = OmegaConf.select(config, "hydra.sweeper.n_trials", default=None)
        OUTCOME.output_dir = _claim_output_dir(config, "sweep")


class LiveProgress(Callback):
    """Report the jobs' progress on the console while they run (read from their directories)."""

    def __init__(self) -> None:
        self.watcher: ProgressWatcher | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Launchers pickle the callbacks for their workers; only the sweep process watches.
        return {"watcher": None}

    # Preflight (listed first) has claimed the folder and counted the jobs by now.
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._start(config, OUTCOME.output_dir, total=1)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._start(config, OUTCOME.output_dir, OUTCOME.planned_jobs)

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._stop()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._stop()

    def _start(self, config: DictConfig, root: Path | None, total: int | None) -> None:
        every = float(config.get("progress_every_s") or 0)
        if every > 0 and root is not None and not config.get("dry_run"):
            self.watcher = ProgressWatcher(root, total, every)
            self.watcher.start()

    def _stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None


class SweepTally(Callback):
    """At the end, print how many jobs ended in each status and remember the failures."""

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._tally(Path(str(config.hydra.runtime.output_dir)))
        self._budget(config, Path(str(config.hydra.runtime.output_dir)))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._tally(Path(str(config.hydra.sweep.dir)))
        self._budget(config, Path(str(config.hydra.sweep.dir)))

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
        counts = sweep_status.tally(root)
        OUTCOME.output_dir = root
        OUTCOME.failing_jobs = sweep_status.failing_count(counts)
        print(sweep_status.format_tally(counts, root, OUTCOME.planned_jobs), flush=True)


def expand_grid(config: DictConfig) -> list[list[str]]:
    """The override list of every job of a grid sweep, as Hydra's basic sweeper makes them."""
    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(OmegaConf.to_container(config.hydra.overrides.task))
    parsed = OverridesParser.create().parse_overrides(arguments)
    return BasicSweeper.split_arguments(parsed, max_batch_size=None)[0]


def _exit_on_a_bad_job(config: DictConfig, grid: list[list[str]]) -> None:
    loader = GlobalHydra.instance().config_loader()
    for overrides in grid:
        varying = _swept(overrides, grid)
        job = f"job {' '.join(varying)}: " if varying else ""
        try:
            job_config = loader.load_sweep_config(config, overrides)
        except Exception as err:  # Hydra would turn it into a warning and go on
            _exit_with(f"{job}{one_line_message(err) or err}")
        exit_on_config_error(job_config, job=job)


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
        print(
            f"error: {output_dir} already holds jobs; nothing is overwritten, start again",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(EXIT_BAD_CONFIG)


def _exit_unless_maximising(config: DictConfig) -> None:
    """Jobs return the dev metric (higher is better); Optuna's own default is to minimise."""
    direction = OmegaConf.select(config, "hydra.sweeper.direction")
    if direction is not None and str(direction).split(".")[-1].lower() != "maximize":
        print(
            f"error: hydra.sweeper.direction={str(direction).split('.')[-1]}, but jobs return the dev metric: "
            "use search=optuna or hydra.sweeper.direction=maximize",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(EXIT_BAD_CONFIG)


def _is_grid_sweep(config: DictConfig) -> bool:
    return str(OmegaConf.select(config, "hydra.sweeper._target_", default="")).endswith(
        BasicSweeper.__name__
    )


def _swept(overrides: list[str], grid: list[list[str]]) -> list[str]:
    """The overrides of one job that vary across the grid (to name the job in an error)."""
    varying = {item for item in overrides if any(item not in other for other in grid)}
    return [item for item in overrides if item in varying]
