"""Hydra callbacks: refuse a used output folder or a minimising search, and tally at the end.

Hydra gives callbacks no way to hand a result back to the code that called the app, and it
turns a callback's exception into a warning. So a problem ends the process from here with
SystemExit (one line on stderr), and the outcome of the sweep is kept in OUTCOME, which
`zo_sweep.sweep.app.main` reads to choose the exit code once Hydra returns.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from zo_sweep.sweep import status as sweep_status


@dataclass
class SweepOutcome:
    output_dir: Path | None = None  # the sweep folder (multirun) or the job folder (single run)
    failing_jobs: int = 0


OUTCOME = SweepOutcome()
EXIT_BAD_CONFIG = 2


class Preflight(Callback):
    """Refuse what only shows once Hydra has set the run up (every job's config was checked
    from the command line already, by zo_sweep.sweep.preflight)."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        OUTCOME.output_dir = Path(str(config.hydra.run.dir))
        _exit_if_used(OUTCOME.output_dir)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        OUTCOME.output_dir = Path(str(config.hydra.sweep.dir))
        _exit_if_used(OUTCOME.output_dir)
        _exit_unless_maximising(config)


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
