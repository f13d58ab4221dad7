"""Resume: find a finished job with the same configuration, so a rerun skips it.

Two jobs are "the same" when their composed configs agree on everything that can change what
the training does. Keys that only say where results go or how jobs are run (purpose, output
root, dry_run, resume, GPU placement, time limits) are left out of the hash, so rerunning a
sweep with `resume=true` or on other GPUs still recognises the jobs that already finished.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from zo_sweep import records

# Keys that control how and where a job runs, not what it computes.
RUN_CONTROL_KEYS = (
    "hydra",
    "purpose",
    "description",
    "output_root",
    "dry_run",
    "resume",
    "job_timeout_min",
    "gpus",
    "jobs_per_gpu",
    "devices_per_job",
    "gpu_memory_gb",
    "gpu_lock_dir",
    "progress_every_s",
    "tracker",
)
# Trainer settings (the config's `inputs:`) that only say where the run is logged.
RUN_CONTROL_INPUTS = ("tracker", "tracker_dir", "tracker_group", "tracker_run_name")
# Config groups whose `display` name is only how summaries print them.
DISPLAY_GROUPS = ("model", "task", "method", "data")
# What a model's option says for the memory plan (its size, the devices it needs), not for training.
PLANNING_KEYS = ("model.params", "model.devices_per_job")


def config_hash(cfg: DictConfig) -> str:
    """A short, stable hash of the job's resolved config without the run-control keys."""
    payload = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(payload, dict)
    for key in RUN_CONTROL_KEYS:
        payload.pop(key, None)
    for key in RUN_CONTROL_INPUTS:
        (payload.get("inputs") or {}).pop(key, None)
    for group in DISPLAY_GROUPS:
        node = payload.get(group)
        if isinstance(node, dict):
            node.pop("display", None)
    for dotted in PLANNING_KEYS:
        group, key = dotted.split(".")
        node = payload.get(group)
        if isinstance(node, dict):
            node.pop(key, None)
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def find_finished_job(
    purpose_dir: Path, wanted_hash: str, exclude: Path | None = None
) -> tuple[Path, dict[str, Any]] | None:
    """The most recent job under purpose_dir that finished ok with this config hash, if any."""
    if not purpose_dir.is_dir():
        return None
    matches = []
    for result_path in purpose_dir.rglob(records.RESULT_FILE):
        job_dir = result_path.parent
        if exclude is not None and job_dir.resolve() == exclude.resolve():
            continue
        try:
            result = records.read_result(job_dir)
        except ValueError:
            continue  # a corrupt record is not a finished job
        if (
            result
            and result.get("status") == records.OK
            and result.get("config_hash") == wanted_hash
        ):
            matches.append((result_path.stat().st_mtime, job_dir, result))
    if not matches:
        return None
    _, job_dir, result = max(matches, key=lambda match: match[0])
    return job_dir, result
