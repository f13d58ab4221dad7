"""Who runs a job, and whether that process still lives: a job without a result is lost or running.

When a job starts, the process that runs it (the one that will write result.json) records its
pid, its host and when it started in the job directory. A job with no result whose process is
gone from this host is `lost`: it will never finish (the sweep was SIGKILLed, the machine
rebooted) and `resume=true` runs it again. The summary and live progress ask `runner_state`.

A pid is reused once its process ends, so the record also says which process had it: on Linux
its start in clock ticks since boot (/proc/<pid>/stat) and the boot's id, which no change of
the wall clock moves. psutil's start time is wall-clock time computed from the boot time, and
moves with the clock (a VM's clock stepped by 24 s made live jobs read as lost); it decides only
where /proc does not answer (another OS, an older record).
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
BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
# /proc/<pid>/stat: the fields after the command's closing parenthesis start at field 3; the
# process's start in clock ticks since boot is field 22.
START_TICKS_INDEX = 22 - 3


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
            **process_identity(me.pid),
        },
    )


def process_identity(pid: int) -> dict[str, Any]:
    """What tells this pid's process from a later one with the same pid, whatever the wall
    clock does: the boot's id and the start in clock ticks since boot (empty off Linux)."""
    ticks, boot_id = _start_ticks(pid), _boot_id()
    if ticks is None or boot_id is None:
        return {}
    return {"boot_id": boot_id, "pid_start_ticks": ticks}


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
        pid = int(runner["pid"])
    except (KeyError, TypeError, ValueError):
        return "unknown"
    return "alive" if process_alive(pid) and _same_process(pid, runner) else "gone"


def process_alive(pid: int) -> bool:
    """Whether a process with this pid runs (a zombie has ended)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _same_process(pid: int, runner: dict[str, Any]) -> bool:
    """Whether the live process with this pid is the one the record names, not a reused pid."""
    now = process_identity(pid)
    recorded = {key: runner.get(key) for key in now}
    if now and all(value is not None for value in recorded.values()):
        return recorded == now
    try:
        started = float(runner["pid_started"])
        return abs(psutil.Process(pid).create_time() - started) < START_TIME_TOLERANCE_S
    except (KeyError, TypeError, ValueError, psutil.Error):
        return False


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2 :].split()[START_TICKS_INDEX])
    except (OSError, ValueError, IndexError):
        return None


def _boot_id() -> str | None:
    try:
        return BOOT_ID_FILE.read_text().strip() or None
    except OSError:
        return None


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
