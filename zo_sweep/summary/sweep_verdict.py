"""The verdict at the end of a sweep, as a Hydra callback the sweep's config names.

conf/hydra/callbacks/zo_sweep.yaml lists it after the sweep's own callbacks, so Hydra, which
ends callbacks in reverse order, prints it after the tally. The sweep never imports the
summary: the config joins them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from zo_sweep.summary.verdict import sweep_verdict


class PrintVerdict(Callback):
    """After the last job: per cell, the best lr and what to do next (summary.verdict)."""

    def on_run_end(self, config: DictConfig, **kwargs: Any) -> None:
        _print_verdict(Path(str(config.hydra.runtime.output_dir)))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        _print_verdict(Path(str(config.hydra.sweep.dir)))


def _print_verdict(root: Path) -> None:
    if verdict := sweep_verdict(root):
        print(verdict, flush=True)
