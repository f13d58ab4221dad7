"""Whether a job's process still lives: a running job never reads as lost when the clock moves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from zo_sweep import records
from zo_sweep.jobdir.liveness import job_liveness, process_identity, record_runner

LINUX_PROC = pytest.mark.skipif(
    not process_identity(os.getpid()), reason="no /proc start ticks or boot id on this system"
)


def _job_run_by_this_process(tmp_path: Path) -> Path:
    job_dir = tmp_path / "job"
    (job_dir / records.HYDRA_DIR).mkdir(parents=True)
    record_runner(job_dir)
    return job_dir


def _edit_record(job_dir: Path, **changes: object) -> None:
    path = job_dir / records.PROCESS_FILE
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


@LINUX_PROC
def test_a_running_job_stays_running_when_the_wall_clock_is_stepped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_dir = _job_run_by_this_process(tmp_path)
    # psutil derives a process's start from the boot time, which moves with the wall clock:
    # after the clock was stepped by 24 s, the same process reads as started 24 s later.
    create_time = psutil.Process.create_time
    monkeypatch.setattr(psutil.Process, "create_time", lambda self: create_time(self) + 24.0)
    assert job_liveness(job_dir) == "running"


@LINUX_PROC
def test_a_pid_reused_by_another_process_reads_as_lost(tmp_path: Path) -> None:
    job_dir = _job_run_by_this_process(tmp_path)
    recorded = json.loads((job_dir / records.PROCESS_FILE).read_text())
    # The job's process started earlier and ended; this process got its pid afterwards.
    _edit_record(job_dir, pid_start_ticks=recorded["pid_start_ticks"] - 100)
    assert job_liveness(job_dir) == "lost"


@LINUX_PROC
def test_a_record_from_before_a_reboot_reads_as_lost(tmp_path: Path) -> None:
    job_dir = _job_run_by_this_process(tmp_path)
    _edit_record(job_dir, boot_id="00000000-0000-0000-0000-000000000000")
    assert job_liveness(job_dir) == "lost"


def test_a_record_without_start_ticks_is_judged_by_the_start_time(tmp_path: Path) -> None:
    """Older records, and systems without /proc: psutil's start time, within its rounding."""
    job_dir = _job_run_by_this_process(tmp_path)
    record = json.loads((job_dir / records.PROCESS_FILE).read_text())
    for key in ("boot_id", "pid_start_ticks"):
        record.pop(key, None)
    (job_dir / records.PROCESS_FILE).write_text(json.dumps(record))
    assert job_liveness(job_dir) == "running"
    _edit_record(job_dir, pid_started=record["pid_started"] - 60)
    assert job_liveness(job_dir) == "lost"


def test_a_job_whose_process_ended_reads_as_lost(tmp_path: Path) -> None:
    job_dir = _job_run_by_this_process(tmp_path)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    _edit_record(job_dir, pid=ended.pid, **process_identity(os.getpid()))
    assert job_liveness(job_dir) == "lost"
