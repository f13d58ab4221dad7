"""A sweep's SLURM jobs from the submitting side: submit, wait, cancel, record how they ended.

Everything here asks SLURM through its own commands (`sbatch` via submitit, `squeue`,
`scontrol`, `scancel`), which work on every cluster; `sacct` needs an accounting database that
many small clusters do not run, so nothing here depends on it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from zo_sweep import records
from zo_sweep.sweep import continuation

log = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
# How a job that ended without a result ended, by SLURM's final job state.
STATE_STATUS = {
    "TIMEOUT": records.TIMEOUT,
    "DEADLINE": records.TIMEOUT,
    "CANCELLED": records.INTERRUPTED,
    "PREEMPTED": records.INTERRUPTED,
    "NODE_FAIL": records.INTERRUPTED,
    "BOOT_FAIL": records.INTERRUPTED,
}
# Statuses a job's own record may be refined from: it saw a signal, SLURM knows which one.
REFINABLE = (records.INTERRUPTED, None)
# Launcher settings that shape the sbatch request, named in a refusal's one-line error.
REQUEST_KEYS = (
    "partition", "nodes", "gpus_per_node", "gres", "cpus_per_task", "mem_gb", "timeout_min"
)  # fmt: skip
SBATCH_ERROR = re.compile(r"sbatch: error: (?:Batch job submission failed: )?(.+)")
# submitit's message when its time-limit signal arrives and the job may not be requeued.
SUBMITIT_TIMED_OUT = "not requeued because: timed-out"


def node_request(devices: int, params: Mapping[str, Any]) -> dict[str, int | None]:
    """What a job of `devices` devices asks SLURM for, from the launcher's settings: its GPUs
    per node and nodes, on nodes of `node_gpus` GPUs (null: one node), and `cpus_per_task`
    cores for each device (rank) on a node. A launcher that asks for no GPU (`gpus_per_node:
    null`, slurm_cpu) runs a job's ranks on one node. ValueError (one line) for a job that does
    not split evenly over nodes."""
    node_gpus, cores = params.get("node_gpus"), params.get("cpus_per_task")
    if params.get("gpus_per_node") is None:
        nodes, per_node, gpus = 1, devices, None
    elif node_gpus is None or devices <= node_gpus:
        nodes, per_node, gpus = 1, devices, devices
    else:
        nodes = math.ceil(devices / node_gpus)
        if devices % nodes:
            fewer, more = devices // nodes * nodes, nodes * math.ceil(devices / nodes)
            raise ValueError(
                f"devices_per_job={devices} does not split evenly over nodes of {node_gpus} "
                f"GPUs (hydra.launcher.node_gpus={node_gpus}): use devices_per_job={fewer} or "
                f"{more}"
            )
        per_node = gpus = devices // nodes
    return {"nodes": nodes, "gpus_per_node": gpus, "cpus_per_task": cores and cores * per_node}


def refuse(message: str) -> NoReturn:
    """One line on stderr and exit code 2: the sweep asked for something SLURM cannot give."""
    print(f"error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(EXIT_BAD_INPUT)


def submit_or_exit(
    executor: Any, function: Any, arguments: Sequence[tuple], params: Mapping[str, Any]
) -> list[Any]:
    """Submit one array job; on a refusal by sbatch, one line on stderr and exit code 2."""
    captured = io.StringIO()
    try:
        # submitit prints sbatch's stderr itself before raising; the refusal is said once, below.
        with contextlib.redirect_stderr(captured):
            return executor.map_array(function, *zip(*arguments, strict=True))
    except Exception as error:
        refuse(refusal_message(str(error), params))


def refusal_message(sbatch_output: str, params: Mapping[str, Any]) -> str:
    """sbatch's own reason, and the settings of the request it refused."""
    reasons = [match.group(1).strip() for match in SBATCH_ERROR.finditer(sbatch_output)]
    reason = reasons[-1] if reasons else (sbatch_output.strip().splitlines() or ["unknown"])[-1]
    request = ", ".join(
        f"{key}={params[key]}"
        for key in REQUEST_KEYS
        if params.get(key) is not None and not (key == "nodes" and params[key] == 1)
    )
    hint = ""
    if "gres" in reason.lower() and params.get("gpus_per_node"):
        hint = "; on a cluster without GPUs use hydra/launcher=slurm_cpu"
    return f"SLURM refused the sweep: {reason} (hydra.launcher: {request}){hint}"


def wait_until_finished(jobs: Sequence[Any], poll_seconds: float) -> None:
    """Wait until every job wrote its result or left the queue (finished, failed or killed)."""
    waiting = list(jobs)
    while waiting:
        queued = queued_job_ids({job.job_id.split("_")[0] for job in waiting})
        if queued is not None:
            waiting = [
                job
                for job in waiting
                if not job.paths.result_pickle.exists() and job.job_id in queued
            ]
        if waiting:
            time.sleep(poll_seconds)


def queued_job_ids(array_ids: set[str]) -> set[str] | None:
    """Ids (`<array>_<task>`) of the jobs still pending or running; None if squeue failed."""
    done = subprocess.run(
        ["squeue", "--noheader", "--array", "--format=%i", "--jobs", ",".join(sorted(array_ids))],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        if "Invalid job id" in done.stderr:
            return set()  # every job of the array has ended and been forgotten
        log.warning("squeue failed, waiting: %s", done.stderr.strip())
        return None
    return {line.strip() for line in done.stdout.splitlines() if line.strip()}


def cancel(jobs: Sequence[Any]) -> None:
    """scancel every array of the sweep (its running and its pending jobs)."""
    arrays = sorted({job.job_id.split("_")[0] for job in jobs})
    if arrays:
        subprocess.run(["scancel", *arrays], check=False, capture_output=True)
        log.info("cancelled SLURM job(s) %s", " ".join(arrays))


def job_dirs_by_slurm_id(sweep_dir: Path) -> dict[str, Path]:
    """The folders the sweep's jobs claimed, by the SLURM job id each noted there."""
    return {
        marker.read_text().strip(): marker.parent
        for marker in sweep_dir.rglob(continuation.SLURM_JOB_FILE)
    }


def final_state(job_id: str) -> str | None:
    """SLURM's state of a job that ended (TIMEOUT, CANCELLED, ...), while scontrol remembers it."""
    done = subprocess.run(
        ["scontrol", "--oneliner", "show", "job", job_id],
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"\bJobState=(\S+)", done.stdout)
    return match.group(1) if match else None


def record_unfinished(
    job: Any, job_dir: Path, error: BaseException | None, timeout_min: Any = None
) -> str:
    """Record in job_dir how a job ended that returned no metric; returns its status.

    The job's own record stands, unless it only says that a signal stopped the job (SLURM
    knows which) or failed on submitit's time-limit signal.
    """
    try:
        own = records.read_result(job_dir) or {}
    except ValueError:
        own = {}
    state = final_state(job.job_id)
    said = f"{error or ''} {own.get('error', '')}"
    timed_out = state == "TIMEOUT" or SUBMITIT_TIMED_OUT in said
    if own.get("status") not in REFINABLE and not (timed_out and own["status"] == records.FAILED):
        return str(own["status"])
    if timed_out:
        status = records.TIMEOUT
        message = f"SLURM time limit reached (hydra.launcher.timeout_min={timeout_min})"
    else:
        status = STATE_STATUS.get(state or "", records.FAILED)
        message = f"SLURM job {job.job_id} ended as {state or 'unknown'} without a result"
        if error is not None and status == records.FAILED:
            message = f"{message}: {_last_line(str(error))}"
    records.write_json_atomic(
        job_dir / records.RESULT_FILE,
        {**own, "status": status, "error": message, "slurm_job_id": job.job_id},
    )
    log.info("%s: %s (%s)", job_dir, status, message)
    return status


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
