"""The sweeper of `python -m zo_sweep -m` (hydra/sweeper=grid): Hydra's basic sweeper, which
checks the jobs it holds instead of composing them twice.

Hydra's basic sweeper expands the command line into a grid of jobs and launches it in batches.
Before each batch it composes every job once only to see that it composes, and the launcher
then composes each job again. This sweeper keeps Hydra's grid and batches, and:

- checks every job of the grid with zo_sweep's own rules before the first one starts (a
  problem is one line naming the job), which also shows that each composes;
- hands its launcher a config loader that composes each shape of job once and applies each
  job's values to a copy (zo_sweep.sweep.job_configs);
- keeps how each job ended as it returns, for the tally, and ends the sweep cleanly when a
  job's folder cannot be created (zo_sweep.sweep.accounted_launcher).

The work is zo_sweep's (zo_sweep.sweep.grid_check); this module only plugs it into Hydra, as
hydra_plugins/zo_sweep_launchers/slurm.py does for SLURM.
"""

# No `from __future__ import annotations`: Hydra runs plugin modules outside sys.modules while
# it scans them, where dataclasses cannot resolve string annotations.
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper, BasicSweeperConf
from hydra.core.config_store import ConfigStore
from hydra.core.override_parser.types import Override
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


@dataclass
class GridSweeperConf(BasicSweeperConf):
    _target_: str = "hydra_plugins.zo_sweep_sweeper.grid.GridSweeper"


ConfigStore.instance().store(
    group="hydra/sweeper", name="grid", node=GridSweeperConf, provider="zo_sweep"
)


class GridSweeper(BasicSweeper):
    """Hydra's grid, checked whole before any job starts; each shape composed once."""

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from zo_sweep.sweep.accounted_launcher import AccountedLauncher
        from zo_sweep.sweep.job_configs import JobConfigs

        context = HydraContext(
            config_loader=JobConfigs(hydra_context.config_loader),
            callbacks=hydra_context.callbacks,
        )
        super().setup(hydra_context=context, task_function=task_function, config=config)
        self.launcher = AccountedLauncher(self.launcher)

    def split_arguments(  # type: ignore[override]
        self, overrides: list[Override], max_batch_size: int | None
    ) -> list[list[list[str]]]:
        """Hydra's grid in Hydra's batches, every job checked before `sweep` starts any."""
        from zo_sweep.sweep.grid_check import check_grid

        batches = BasicSweeper.split_arguments(overrides, max_batch_size)
        assert self.hydra_context is not None and self.config is not None
        check_grid(self.hydra_context.config_loader, self.config, batches, overrides)
        return batches

    def validate_batch_is_legal(self, batch: Sequence[Sequence[str]]) -> Any:
        """Every job was checked with the grid (split_arguments): nothing is composed twice."""
