"""Hydra callbacks: claim the output folder, show live progress, tally at the end.

Every job's config was checked from the command line before Hydra started
(zo_sweep.sweep.preflight).
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

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, read_write

from zo_sweep.summary.verdict import sweep_verdict
from zo_sweep.sweep import status as sweep_status
from zo_sweep.sweep.budget import budget_lines, local_gpu_memory_mb
from zo_sweep.sweep.folders import claim_fresh_folder
from zo_sweep.sweep.overrides import expand_grid, parse_overrides
from zo_sweep.sweep.progress import ProgressWatcher


@dataclass
class SweepOutcome:
    output_dir: Path | None = None  # the sweep folder (multirun) or the job folder (single run)
    failing_jobs: int = 0
    planned_jobs: int | None = None  # how many jobs the sweep meant to run, when known


OUTCOME = SweepOutcome()
EXIT_BAD_CONFIG = 2


class Preflight(Callback):
    """Claim this run's or sweep's folder, and know how many jobs the tally should expect."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        OUTCOME.planned_jobs = 1
        OUTCOME.output_dir = _claim_output_dir(config, "run")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _exit_unless_maximising(config)
        overrides = list(OmegaConf.to_container(config.hydra.overrides.task))
        grid = expand_grid(config, parse_overrides(overrides), multirun=True)
        # A search sweeper draws its values as it goes: it plans its number of trials.
        trials = OmegaConf.select(config, "hydra.sweeper.n_trials", default=None)
        OUTCOME.planned_jobs = len(grid) if grid is not None else trials
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
        if verdict := sweep_verdict(root):
            print(verdict, flush=True)


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
