"""Who runs a job while it runs: `job.pid.json` in the job directory, and whether that process lives.

A job without result.json may be running, or its process may have died without a word (killed
hard, a node lost). The job writes `{"pid", "host", "started"}` when its script starts; a reader
on the same host can then tell a live job from a lost one. On another host nothing can be said.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Literal

import psutil

from zo_sweep import records

PID_FILE = "job.pid.json"
Liveness = Literal["running", "lost"]


def write_pid_file(job_dir: Path, pid: int) -> None:
    """Record the process that runs this job (its script's process-group leader)."""
    records.write_json_atomic(
        job_dir / PID_FILE, {"pid": pid, "host": socket.gethostname(), "started": time.time()}
    )


def job_liveness(job_dir: Path) -> Liveness | None:
    """`running` or `lost` for a job without result whose pid file names this host, else None.

    None: the job has a result, wrote no pid file, or runs on another host.
    """
    if (job_dir / records.RESULT_FILE).exists():
        return None
    try:
        owner = json.loads((job_dir / PID_FILE).read_text())
        pid, host = int(owner["pid"]), str(owner["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if host != socket.gethostname():
        return None
    return "running" if _alive(pid, owner.get("started")) else "lost"


def _alive(pid: int, started: float | None) -> bool:
    """The pid exists, is no zombie, and was not reused by a process started after the job."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        # A recycled pid belongs to a process created after the job started (1 s of slack).
        return started is None or process.create_time() <= float(started) + 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False
