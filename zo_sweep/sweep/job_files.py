"""What a job writes into its directory before its script runs: the claim, .hydra/, command.sh.

The job writes Hydra's snapshot itself (hydra.output_subdir is null), so that a full disk
fails that one job instead of stopping the sweep from inside Hydra.
"""

from __future__ import annotations

import logging
import shlex
from pathlib import Path
from typing import Any

import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from omegaconf._utils import OmegaConfDumper

from zo_sweep import records
from zo_sweep.errors import ConfigError
from zo_sweep.sweep import continuation

log = logging.getLogger(__name__)

# The OUTPUT_DIR word of command.sh: the caller's choice, or a fresh folder (see below).
RERUN_ENV = {"OUTPUT_DIR": '"$OUTPUT_DIR"'}


class _Dumper(getattr(yaml, "CDumper", yaml.Dumper)):  # type: ignore[misc]
    """OmegaConf's YAML (a string that reads as another type is quoted) from PyYAML's C
    emitter: the same values, written several times faster than OmegaConf.to_yaml."""


_Dumper.add_representer(str, OmegaConfDumper.str_representer)


def yaml_text(payload: Any) -> str:
    """A config (or plain values) as YAML, its keys in their order."""
    if OmegaConf.is_config(payload):
        payload = OmegaConf.to_container(payload, enum_to_str=True)
    return yaml.dump(
        payload, Dumper=_Dumper, default_flow_style=False, allow_unicode=True, sort_keys=False
    )


class JobDirectoryTaken(ConfigError):
    """The job directory already holds another run's command: it is never reused."""


def claim_job_dir(job_dir: Path) -> None:
    """Create command.sh exclusively: a directory another run already claimed is never reused
    (except by the same SLURM job, requeued: it goes on where it stopped)."""
    job_dir.mkdir(parents=True, exist_ok=True)
    try:
        with open(job_dir / records.COMMAND_FILE, "x"):
            pass
    except FileExistsError:
        if continuation.is_requeued_attempt(job_dir):
            kept = continuation.keep_earlier_logs(job_dir)
            log.info(
                "%s: requeued by SLURM; going on in the same directory (earlier logs: %s)",
                job_dir,
                ", ".join(path.name for path in kept) or "none",
            )
            return
        raise JobDirectoryTaken(
            f"{job_dir} already holds another run; not overwriting it"
        ) from None
    continuation.remember_slurm_job(job_dir)


def job_folder_vanished(job_dir: Path) -> bool:
    """The job's claim or its snapshot is gone: its folder was removed while the job ran."""
    snapshot = job_dir / records.HYDRA_DIR / "config.yaml"
    return not (job_dir / records.COMMAND_FILE).is_file() or not snapshot.is_file()


def write_snapshot(cfg: DictConfig, job_dir: Path) -> None:
    """.hydra/: the composed config, Hydra's own and the overrides, as Hydra would write them."""
    snapshot = job_dir / records.HYDRA_DIR
    snapshot.mkdir(exist_ok=True)
    (snapshot / "config.yaml").write_text(yaml_text(cfg))
    try:
        hydra_cfg = HydraConfig.instance().cfg
    except ValueError:
        return  # not inside a Hydra job
    if hydra_cfg is not None:
        (snapshot / "hydra.yaml").write_text(yaml_text(hydra_cfg))
        (snapshot / "overrides.yaml").write_text(yaml_text(hydra_cfg.hydra.overrides.task))


def write_command_file(job_dir: Path, run_line: str) -> None:
    """command.sh: run_line (which takes OUTPUT_DIR from RERUN_ENV), runnable by hand.

    By hand it writes to $OUTPUT_DIR if the caller set it, else to a new folder beside the
    job's, so rerunning never overwrites the job's own record.
    """
    fresh_dir = shlex.quote(f"{job_dir.resolve()}.rerun-XXXXXX")
    text = (
        "#!/usr/bin/env bash\n"
        "# Reproduces this job: its command with the environment the sweep gave it.\n"
        "# Its outputs go to $OUTPUT_DIR if you set it, else to a new folder beside this\n"
        "# job's, so the job's own record stays as it is.\n"
        "set -e\n"
        f'OUTPUT_DIR="${{OUTPUT_DIR:-$(mktemp -d {fresh_dir})}}"\n'
        'echo "writing to $OUTPUT_DIR" >&2\n'
        f"{run_line}\n"
    )
    path = job_dir / records.COMMAND_FILE
    path.write_text(text)
    path.chmod(0o755)
