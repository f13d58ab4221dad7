"""Who runs a job, and whether that process still lives: a job without a result is lost or running.

When a job starts, the process that runs it (the one that will write result.json) records its
pid, its host and when it started in the job directory. A job with no result whose process is
gone from this host is `lost`: it will never finish (the sweep was SIGKILLed, the machine
rebooted) and `resume=true` runs it again. The summary and live progress ask `runner_state`.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Literal

import psutil

from zo_sweep import records

RunnerState = Literal["alive", "gone", "unknown"]
# Set by the app: the sweep's own process, whose death ends the jobs on its host.
SWEEP_PID_VARIABLE = "ZO_SWEEP_PID"
SWEEP_HOST_VARIABLE = "ZO_SWEEP_HOST"
# psutil's process start times are rounded; two readings of one process differ by less.
START_TIME_TOLERANCE_S = 1.0


def record_runner(job_dir: Path) -> None:
    """Write process.json: this process runs the job in job_dir."""
    me = psutil.Process()
    records.write_json_atomic(
        job_dir / records.PROCESS_FILE,
        {
            "pid": me.pid,
            "host": socket.gethostname(),
            "pid_started": me.create_time(),
            "started": time.time(),
        },
    )


def read_runner(job_dir: Path) -> dict[str, Any] | None:
    try:
        payload = json.loads((job_dir / records.PROCESS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def runner_state(job_dir: Path) -> RunnerState:
    """`alive` or `gone` for a job run on this host; `unknown` without a record or elsewhere."""
    runner = read_runner(job_dir)
    if runner is None or runner.get("host") != socket.gethostname():
        return "unknown"
    try:
        pid, started = int(runner["pid"]), float(runner["pid_started"])
    except (KeyError, TypeError, ValueError):
        return "unknown"
    return "alive" if process_alive(pid, started) else "gone"


def process_alive(pid: int, started: float | None = None) -> bool:
    """Whether pid runs (and, given its start time, is the same process, not a reused pid)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(process.create_time() - started) < START_TIME_TOLERANCE_S
    except psutil.Error:
        return False


def mark_this_process_as_the_sweep() -> None:
    """Tell the jobs (in this process or in workers it starts) which process is the sweep."""
    os.environ[SWEEP_PID_VARIABLE] = str(os.getpid())
    os.environ[SWEEP_HOST_VARIABLE] = socket.gethostname()


def sweep_process_to_watch() -> int | None:
    """The sweep's own pid when it runs on this host and this job runs in another process.

    Launchers such as joblib run jobs in worker processes that outlive a SIGKILLed sweep;
    the job's keeper watches the sweep itself so its training process ends with it.
    """
    pid = os.environ.get(SWEEP_PID_VARIABLE, "")
    same_host = os.environ.get(SWEEP_HOST_VARIABLE) == socket.gethostname()
    if not pid.isdigit() or not same_host or int(pid) == os.getpid():
        return None
    return int(pid)


def job_liveness(job_dir: Path) -> Literal["running", "lost"] | None:
    """`running` or `lost` for a job without a result run on this host; None otherwise."""
    if (job_dir / records.RESULT_FILE).exists():
        return None
    state = runner_state(job_dir)
    if state == "unknown":
        return None
    return "running" if state == "alive" else "lost"
