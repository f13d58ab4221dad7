"""The command one job runs: `bash <method.script> <method.args...>` in `method.cwd`, with the
trainer's settings exported as the old scripts' environment variables (zo_sweep.sweep.handoff)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from zo_sweep.sweep.handoff import env_value, job_settings, settings_environment
from zo_sweep.sweep.process import launcher_environment
from zo_sweep.sweep.validation import resolve_script
from zo_sweep.train.settings import TrainSettings


@dataclass(frozen=True)
class JobCommand:
    """`bash <script> <args...>` run in `cwd` with `env` on top of the inherited environment."""

    script: Path
    env: dict[str, str]
    cwd: Path
    args: tuple[str, ...] = ()
    settings: TrainSettings | None = None  # what the env says, as the job's train.yaml

    @property
    def argv(self) -> list[str]:
        return ["bash", str(self.script), *self.args]

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


def job_environment(cfg: DictConfig, job_dir: Path, settings: TrainSettings) -> dict[str, str]:
    """The variables this job sets for its script: the settings' (with TRAIN_CONFIG and
    OUTPUT_DIR), then `extra_env`; nulls left out."""
    extra = OmegaConf.to_container(cfg.extra_env, resolve=True) if cfg.get("extra_env") else {}
    assert isinstance(extra, dict)
    extra_env = {str(key): env_value(value) for key, value in extra.items() if value is not None}
    return {**settings_environment(settings, job_dir), **extra_env}


def build_command(cfg: DictConfig, job_dir: Path) -> JobCommand:
    """The script runs in `method.cwd` (the old scripts `cd` there and call `python run.py`),
    else where the sweep was started, with `method.args` after its name."""
    cwd = script_cwd(cfg)
    script = resolve_script(str(cfg.method.script), cwd)
    args = OmegaConf.select(cfg, "method.args", default=None) or []
    settings = job_settings(cfg, job_dir)
    return JobCommand(
        script=script,
        env={**launcher_environment(), **job_environment(cfg, job_dir, settings)},
        cwd=cwd or Path.cwd(),
        args=tuple(script_argument(arg) for arg in args),
        settings=settings,
    )


def script_argument(value: Any) -> str:
    """One word of `method.args`. The command line reads `False` as a boolean; a Python script
    (HfArgumentParser, argparse with a bool parser) expects it back as written."""
    return str(value) if isinstance(value, bool) else env_value(value)


def script_cwd(cfg: DictConfig) -> Path | None:
    """`method.cwd` as an absolute folder, or None when it is not set."""
    cwd = OmegaConf.select(cfg, "method.cwd", default=None)
    return Path(str(cwd)).expanduser().resolve() if cwd else None
