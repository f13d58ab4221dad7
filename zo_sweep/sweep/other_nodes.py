"""The nodes after the first of a SLURM job that spans several: each starts its share of the ranks.

A job of more devices than a node has (`devices_per_job=8`, `hydra.launcher.node_gpus=4`) gets
several nodes, and submitit runs the job's function once on each (one task per node). The
first node's run is the job: it claims the job's directory, writes train.yaml, command.sh and
the records, and starts its ranks. Every other node finds the directory the first one claimed
(zo_sweep.sweep.folders), builds the same command from the same config and starts its own
ranks, which meet the first node's at its launcher (zo_sweep.train.launch). It writes nothing
into the job's directory: its ranks' output goes to its own stdout and stderr (submitit's log
of that task), and how the job ended is the first node's to record.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from omegaconf import DictConfig

from zo_sweep.errors import ConfigError, DataError
from zo_sweep.sweep.command import build_command
from zo_sweep.sweep.job_result import NO_OBJECTIVE
from zo_sweep.sweep.process import run_process_group, sigterm_as_interrupt
from zo_sweep.sweep.resume import config_hash, find_finished_job
from zo_sweep.sweep.validation import validate_job_config

log = logging.getLogger(__name__)


def run_ranks(cfg: DictConfig, job_dir: Path) -> float:
    """This node's ranks of the job in job_dir, until they end; the objective is the first
    node's to return. Nothing but Ctrl-C (or SIGTERM) leaves this function as an exception."""
    _stop_logging_into(job_dir)
    try:
        settings = validate_job_config(cfg, job_dir)
        command = build_command(cfg, job_dir, settings)
    except (ConfigError, DataError) as err:
        log.error("%s: not started on this node (%s)", job_dir, err)  # the first node records it
        return NO_OBJECTIVE
    if cfg.get("dry_run") or _finished_elsewhere(cfg, job_dir):
        return NO_OBJECTIVE  # the first node starts no ranks to meet
    timeout_min = cfg.get("job_timeout_min")
    log.info("%s: starting this node's %d ranks", job_dir, command.ranks)
    try:
        with sigterm_as_interrupt():
            outcome = run_process_group(
                command.argv,
                env={**os.environ, **command.env},
                cwd=command.cwd,
                stdout_path=None,
                stderr_path=None,
                timeout_seconds=None if timeout_min is None else float(timeout_min) * 60,
                grace_seconds=command.grace_seconds,
            )
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 - the first node records the job's end
        log.error("%s: this node's ranks failed to run (%s)", job_dir, err)
        return NO_OBJECTIVE
    log.info("%s: this node's ranks ended with exit code %s", job_dir, outcome.exit_code)
    return NO_OBJECTIVE


def _finished_elsewhere(cfg: DictConfig, job_dir: Path) -> bool:
    """`resume=true` and a finished twin: the first node skips the job, and so does this one."""
    if not cfg.get("resume"):
        return False
    purpose_dir = Path(str(cfg.output_root)) / str(cfg.purpose)
    return find_finished_job(purpose_dir, config_hash(cfg), exclude=job_dir) is not None


def _stop_logging_into(job_dir: Path) -> None:
    """Hydra opened the job's log file on every node: the first node's log is the job's."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        filename = getattr(handler, "baseFilename", None)
        if filename and Path(filename).resolve().is_relative_to(job_dir.resolve()):
            root.removeHandler(handler)
            handler.close()
