"""A job that goes on where an earlier attempt of it stopped, instead of starting from step 0.

The same SLURM job also runs once on each node of a job that spans nodes: the first node claims
the job's directory, and the others find it by the SLURM job id it records.

Two ways a job gets a second attempt:

- SLURM requeues it (preemption, or a time limit with `max_num_timeout`): the same SLURM job
  runs again and Hydra gives it the same job directory. The directory records which SLURM job
  claimed it, so that job, and only that one, may take it again.
- `resume=true` reruns a sweep: a job whose config matches an unfinished job of the same
  purpose starts in a new directory with a copy of that job's checkpoint (a MeZO run's
  trajectory, or a first-order run's checkpoint folder, and its metrics so far), and the
  trainer goes on from it.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from omegaconf import OmegaConf

from zo_sweep import records
from zo_sweep.sweep.resume import config_hash
from zo_sweep.train.launch import step_nodes

log = logging.getLogger(__name__)

SLURM_JOB_FILE = "slurm_job_id"
# How long the other nodes of a job wait for the first to claim its directory.
CLAIM_WAIT_SECONDS = 600.0
# What a later attempt takes over from an unfinished one: the checkpoint and the curve so far.
CHECKPOINT_FILES = (records.TRAJECTORY_FILE, records.CHECKPOINT_DIR, records.METRICS_FILE)
# The file that says a job holds a checkpoint: MeZO's trajectory, or the last file written
# into a first-order run's checkpoint folder.
CHECKPOINT_MARKERS = (records.TRAJECTORY_FILE, f"{records.CHECKPOINT_DIR}/progress.json")


def slurm_job_id() -> str | None:
    """This process's SLURM job as `<array>_<task>` (or the plain id); None outside SLURM."""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array and task:
        return f"{array}_{task}"
    return os.environ.get("SLURM_JOB_ID")


def remember_slurm_job(job_dir: Path) -> None:
    """Note which SLURM job claimed job_dir, so its requeued run may claim it again."""
    job_id = slurm_job_id()
    if job_id:
        (job_dir / SLURM_JOB_FILE).write_text(job_id + "\n")


def on_another_node() -> bool:
    """Whether this process runs a SLURM job on a node other than the first of its nodes."""
    node, _ = step_nodes(os.environ)
    return node > 0


def claimed_by_this_job(parent: Path, names: Sequence[str], poll_seconds: float = 0.5) -> str:
    """The folder (of `names`, under `parent`) that this SLURM job's first node claimed, once it
    has: what the other nodes of the job run in. The first name if it never does."""
    job_id = slurm_job_id()
    deadline = time.monotonic() + CLAIM_WAIT_SECONDS
    while time.monotonic() < deadline:
        for name in names:
            marker = parent / name / SLURM_JOB_FILE
            if marker.exists() and marker.read_text().strip() == job_id:
                return name
        time.sleep(poll_seconds)
    return names[0]


def is_requeued_attempt(job_dir: Path) -> bool:
    """Whether this process is the SLURM job that claimed job_dir, run again after a requeue."""
    job_id, marker = slurm_job_id(), job_dir / SLURM_JOB_FILE
    return bool(job_id) and marker.exists() and marker.read_text().strip() == job_id


def keep_earlier_logs(job_dir: Path) -> list[Path]:
    """Move an earlier attempt's train.out/train.err aside (`train.out.attempt1`, ...), so a
    requeued run writes fresh logs and the logs of the run SLURM stopped are kept."""
    kept = []
    for name in (records.STDOUT_FILE, records.STDERR_FILE):
        log_file = job_dir / name
        if not log_file.exists():
            continue
        attempt = 1
        while (job_dir / f"{name}.attempt{attempt}").exists():
            attempt += 1
        kept.append(log_file.rename(job_dir / f"{name}.attempt{attempt}"))
    return kept


def adopt_checkpoint(purpose_dir: Path, wanted_hash: str, job_dir: Path) -> Path | None:
    """Copy the checkpoint of the latest unfinished job with this config hash into job_dir."""
    candidates = []
    for earlier, marker in _checkpoints(purpose_dir):
        if earlier.resolve() == job_dir.resolve() or _finished(earlier):
            continue
        if _config_hash_of(earlier) == wanted_hash:
            candidates.append((marker.stat().st_mtime, earlier))
    if not candidates:
        return None
    _, earlier = max(candidates)
    for name in CHECKPOINT_FILES:
        source = earlier / name
        if source.is_dir():
            # Linked, not copied (a full model's weights and optimizer state): checkpoint
            # files are only ever written anew, never rewritten in place.
            shutil.copytree(source, job_dir / name, copy_function=_link_or_copy)
        elif source.exists():
            shutil.copy2(source, job_dir / name)
    log.info("resume: going on from the checkpoint of %s", earlier)
    return earlier


def _checkpoints(purpose_dir: Path) -> Iterator[tuple[Path, Path]]:
    """(job directory, marker file) of every checkpoint under purpose_dir."""
    if not purpose_dir.is_dir():
        return
    for pattern in CHECKPOINT_MARKERS:
        for marker in purpose_dir.rglob(pattern):
            yield marker.parents[pattern.count("/")], marker


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)


def _finished(job_dir: Path) -> bool:
    try:
        result = records.read_result(job_dir) or {}
    except ValueError:
        return False
    return result.get("status") in (records.OK, records.DIVERGED, records.SKIPPED)


def _config_hash_of(job_dir: Path) -> str | None:
    """The config hash of an earlier job, from its record or else its Hydra snapshot."""
    try:
        recorded = (records.read_result(job_dir) or {}).get("config_hash")
    except ValueError:
        recorded = None
    if recorded:
        return str(recorded)
    snapshot = job_dir / records.HYDRA_DIR / "config.yaml"
    if not snapshot.exists():
        return None
    try:
        return config_hash(OmegaConf.load(snapshot))
    except Exception:  # an unreadable snapshot is not a job to go on from
        return None
