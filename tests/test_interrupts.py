"""SIGTERM or Ctrl-C during a sweep, and hung jobs: every training process ends, and says so."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import psutil
import pytest
from helpers.sweep import (
    job_results,
    probe_events,
    run_sweep,
    start_sweep,
    wait_for_starts,
    write_probe,
)


def _assert_gone(pids: list[int], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while any(psutil.pid_exists(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [
        pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
    ]
    assert not alive, f"training processes left behind: {alive}"


@pytest.mark.parametrize(
    "launcher,running,signum",
    [("basic", 1, signal.SIGTERM), ("joblib", 2, signal.SIGTERM), ("joblib", 2, signal.SIGINT)],
)
def test_signal_ends_every_training_process(
    tmp_path: Path, launcher: str, running: int, signum: int
) -> None:
    probe = write_probe(tmp_path / "probe")
    log = tmp_path / "probe.jsonl"
    sweep = start_sweep(
        "-m", f"hydra/launcher={launcher}", "lr=1e-4,2e-4,3e-4", f"method.script={probe}",
        f"output_root={tmp_path}", *(["hydra.launcher.n_jobs=2"] if launcher == "joblib" else []),
        env={"PROBE_LOG": str(log), "SLEEP": "60"},
    )  # fmt: skip
    starts = wait_for_starts(log, running)
    if signum == signal.SIGINT:
        # Ctrl-C in a terminal reaches the whole foreground process group: the app and its workers.
        for process in [psutil.Process(sweep.pid), *psutil.Process(sweep.pid).children()]:
            if process.name().startswith("python"):
                os.kill(process.pid, signum)
    else:
        sweep.send_signal(signum)
    _, stderr = sweep.communicate(timeout=60)
    assert sweep.returncode == 130, stderr
    _assert_gone([event["pid"] for event in starts])
    statuses = [result["status"] for result in job_results(tmp_path).values()]
    assert statuses == ["interrupted"] * running
    assert f"{running} interrupted" in stderr


def test_hung_job_ends_with_status_timeout(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    log = tmp_path / "probe.jsonl"
    done = run_sweep(
        "-m", "lr=1e-4", "job_timeout_min=0.01", f"method.script={probe}", f"output_root={tmp_path}",
        env={"PROBE_LOG": str(log), "SLEEP": "60"},
    )  # fmt: skip
    assert done.returncode == 1
    assert "1 job: 1 timeout" in done.stdout
    (result_path,) = tmp_path.rglob("result.json")
    result = json.loads(result_path.read_text())
    assert result["status"] == "timeout" and result["exit_code"] is None
    assert result["error"] == "ended after job_timeout_min=0.01"
    assert result["job_seconds"] < 30
    _assert_gone([event["pid"] for event in probe_events(log)])
