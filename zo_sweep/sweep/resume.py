"""Resume: find a finished job with the same identity, so a rerun skips it.

Two jobs are "the same" when they have one identity (zo_sweep.jobdir.identity): their
composed configs agree on every training setting and input. Where results go and how jobs
run (purpose, output root, dry_run, resume, GPU placement, time limits, the tracker) are no
part of it, so rerunning a sweep with `resume=true` or on other GPUs still recognises the jobs
that already finished. The summary groups jobs by the same identity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from zo_sweep import records
from zo_sweep.jobdir.identity import job_identity


def config_hash(cfg: DictConfig) -> str:
    """The job's identity, from its composed config as Hydra saves it."""
    plain = OmegaConf.to_container(cfg, resolve=False)
    assert isinstance(plain, dict)
    return job_identity(plain)


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
