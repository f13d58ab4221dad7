"""Hydra callbacks: check every job's config before the first job starts, and tally at the end.

Hydra gives callbacks no way to hand a result back to the code that called the app, and it
turns a callback's exception into a warning. So a config error ends the process from here with
SystemExit (one line on stderr), and the outcome of the sweep is kept in OUTCOME, which
`zo_sweep.sweep.app.main` reads to choose the exit code once Hydra returns.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from zo_sweep.summary.verdict import sweep_verdict
from zo_sweep.sweep import status as sweep_status
from zo_sweep.sweep.validation import ConfigError, validate_job_config


@dataclass
class SweepOutcome:
    output_dir: Path | None = None  # the sweep folder (multirun) or the job folder (single run)
    failing_jobs: int = 0


OUTCOME = SweepOutcome()
EXIT_BAD_CONFIG = 2


def exit_on_config_error(config: DictConfig, job: str = "") -> None:
    """Validate one job's config; on a problem print it as one line and end the process."""
    try:
        validate_job_config(config)
    except ConfigError as err:
        print(f"error: {job}{err}", file=sys.stderr, flush=True)
        raise SystemExit(EXIT_BAD_CONFIG) from None


class Preflight(Callback):
    """Validate the config of every job of a grid before any of them runs."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        OUTCOME.output_dir = Path(str(config.hydra.run.dir))
        _exit_if_used(OUTCOME.output_dir)
        exit_on_config_error(config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        OUTCOME.output_dir = Path(str(config.hydra.sweep.dir))
        _exit_if_used(OUTCOME.output_dir)
        _exit_unless_maximising(config)
        if not _is_grid_sweep(config):
            # A search sweeper draws its values as it goes; check what is fixed now.
            exit_on_config_error(config)
            return
        loader = GlobalHydra.instance().config_loader()
        grid = expand_grid(config)
        for overrides in grid:
            job_config = loader.load_sweep_config(config, overrides)
            varying = _swept(overrides, grid)
            exit_on_config_error(job_config, job=f"job {' '.join(varying)}: " if varying else "")


class SweepTally(Callback):
    """At the end, print how many jobs ended in each status and remember the failures."""

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._tally(Path(str(config.hydra.runtime.output_dir)))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._tally(Path(str(config.hydra.sweep.dir)))

    @staticmethod
    def _tally(root: Path) -> None:
        counts = sweep_status.tally(root)
        OUTCOME.output_dir = root
        OUTCOME.failing_jobs = sweep_status.failing_count(counts)
        print(sweep_status.format_tally(counts, root), flush=True)
        if verdict := sweep_verdict(root):
            print(verdict, flush=True)


def expand_grid(config: DictConfig) -> list[list[str]]:
    """The override list of every job of a grid sweep, as Hydra's basic sweeper makes them."""
    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    arguments = [f"{key}={value}" for key, value in params.items()]
    arguments += list(OmegaConf.to_container(config.hydra.overrides.task))
    parsed = OverridesParser.create().parse_overrides(arguments)
    return BasicSweeper.split_arguments(parsed, max_batch_size=None)[0]


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
