"""The command one job runs, from the settings the job built and checked once.

The project's trainer reads the job's train.yaml itself, in one hop:

    python -m zo_sweep.train --config <job>/train.yaml

and a job of several devices (`devices_per_job`) runs it as that many ranks, through PyTorch's
own launcher, one launcher per node (zo_sweep.train.launch):

    python -m zo_sweep.train.launch --nproc-per-node=4 --config <job>/train.yaml

A script of your own (`method.script`: a team's MeZO checkout, the old base scripts) runs as
`bash <method.script> <method.args...>` in `method.cwd`, with the trainer's settings exported
as the old scripts' environment variables (zo_sweep.sweep.handoff); given several devices, it
sees them all and uses them as it does (MeZO's run.py: `device_map='auto'`).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from zo_sweep import PROJECT_ROOT, RESOURCE_ROOT
from zo_sweep.sweep.handoff import env_value, settings_environment
from zo_sweep.sweep.process import (
    CHECKPOINT_GRACE_SECONDS,
    GRACE_SECONDS,
    launcher_environment,
    thread_environment,
)
from zo_sweep.sweep.validation import resolve_script
from zo_sweep.train.launch import SHUTDOWN_TIMEOUT_VARIABLE, rank_command, step_nodes
from zo_sweep.train.settings import SETTINGS_FILE, TrainSettings

# The project's trainer, run by the sweep's own interpreter.
TRAINER_MODULE = "zo_sweep.train"


@dataclass(frozen=True)
class JobCommand:
    """A script under bash (`script` with `args`), or the project's trainer (no script, its
    flags in `args`; as `ranks` ranks on each of `nodes` nodes), run in `cwd` with `env` on top
    of the inherited environment; given `grace_seconds` to stop after SIGTERM."""

    script: Path | None
    env: dict[str, str]
    cwd: Path
    args: tuple[str, ...] = ()
    ranks: int = 1
    nodes: int = 1
    grace_seconds: float = GRACE_SECONDS

    @property
    def argv(self) -> list[str]:
        if self.script is not None:
            return ["bash", str(self.script), *self.args]
        if self.ranks * self.nodes > 1:
            return rank_command(self.ranks, self.args)
        return [sys.executable, "-m", TRAINER_MODULE, *self.args]

    def with_env(self, extra: Mapping[str, str]) -> JobCommand:
        return replace(self, env={**self.env, **extra})

    def shell_line(self, raw_env: Mapping[str, str] | None = None) -> str:
        """A copy-pasteable reproduction: every word quoted for the shell.

        `raw_env` values are shell words left as they are (e.g. "$OUTPUT_DIR").
        """
        assignments = [
            shlex.quote(f"{key}={value}")
            for key, value in self.env.items()
            if key not in (raw_env or {})
        ]
        assignments += [f"{key}={value}" for key, value in (raw_env or {}).items()]
        words = ["env", *assignments, *map(shlex.quote, self.argv)]
        return f"cd {shlex.quote(str(self.cwd))} && {' '.join(words)}"


def build_command(cfg: DictConfig, job_dir: Path, settings: TrainSettings) -> JobCommand:
    """The job's command: the trainer on the job's train.yaml, or `method.script`."""
    script = OmegaConf.select(cfg, "method.script", default=None)
    cwd = script_cwd(cfg) or Path.cwd()
    if script is None:
        # The trainer reads every setting from the file; OUTPUT_DIR is where it writes.
        own = {**thread_environment(), **trainer_path(), "OUTPUT_DIR": str(job_dir.resolve())}
        config = str((job_dir / SETTINGS_FILE).resolve())
        devices = int(cfg.get("devices_per_job") or 1)
        _, nodes = step_nodes(os.environ)  # under SLURM, one launcher per node of the job
        grace = stop_grace_seconds(settings)
        if devices > 1:  # torchrun gives its ranks the same time to stop
            own[SHUTDOWN_TIMEOUT_VARIABLE] = f"{grace:g}"
        env = {**own, **extra_environment(cfg)}
        ranks = max(1, devices // nodes)
        return JobCommand(None, env, cwd, ("--config", config), ranks, nodes, grace)
    args = tuple(script_argument(arg) for arg in OmegaConf.select(cfg, "method.args") or [])
    own = {**launcher_environment(), **settings_environment(settings, job_dir)}
    script_path = resolve_script(str(script), script_cwd(cfg))
    return JobCommand(script_path, {**own, **extra_environment(cfg)}, cwd, args)


def stop_grace_seconds(settings: TrainSettings) -> float:
    """How long the trainer may take to stop after SIGTERM: a first-order run that checkpoints
    saves its state first."""
    saves = settings.trainer != "zo" and settings.checkpoint_steps > 0
    return CHECKPOINT_GRACE_SECONDS if saves else GRACE_SECONDS


def extra_environment(cfg: DictConfig) -> dict[str, str]:
    """`extra_env`: more variables for the job's process (nulls left out)."""
    extra = OmegaConf.to_container(cfg.extra_env, resolve=True) if cfg.get("extra_env") else {}
    assert isinstance(extra, dict)
    return {str(key): env_value(value) for key, value in extra.items() if value is not None}


def trainer_path() -> dict[str, str]:
    """PYTHONPATH for the trainer: in a checkout, the checkout first, so the trainer is the one
    beside the sweep's own code (an installed package is found by its interpreter)."""
    if RESOURCE_ROOT != PROJECT_ROOT:
        return {}
    inherited = os.environ.get("PYTHONPATH", "")
    parts = [str(PROJECT_ROOT), *(part for part in inherited.split(os.pathsep) if part)]
    return {"PYTHONPATH": os.pathsep.join(dict.fromkeys(parts))}


def script_argument(value: Any) -> str:
    """One word of `method.args`. The command line reads `False` as a boolean; a Python script
    (HfArgumentParser, argparse with a bool parser) expects it back as written."""
    return str(value) if isinstance(value, bool) else env_value(value)


def script_cwd(cfg: DictConfig) -> Path | None:
    """`method.cwd` as an absolute folder, or None when it is not set."""
    cwd = OmegaConf.select(cfg, "method.cwd", default=None)
    return Path(str(cwd)).expanduser().resolve() if cwd else None
