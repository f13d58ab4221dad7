"""Live progress: the sweep's console and `--view progress` read the jobs' files as they run."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from helpers.sweep import REPO_ROOT, start_sweep, write_probe

from zo_sweep import records
from zo_sweep.jobdir.liveness import job_liveness
from zo_sweep.jobdir.progress import read_job_progress
from zo_sweep.sweep.progress import ProgressWatcher

SLOW_PROBE = {"PROBE_STEPS": "6", "STEP_SLEEP": "0.4"}
LAUNCHERS = {
    "basic": (),
    "joblib": ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2"),
    "submitit_local": ("hydra/launcher=submitit_local",),
}


def _finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[str, str]:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return out, err


def _progress_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("[progress]")]


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_console_shows_each_running_jobs_step_loss_and_eta(tmp_path: Path, launcher: str) -> None:
    probe = write_probe(tmp_path / "probe")
    process = start_sweep(
        "-m", "lr=1e-3,1e-4", "steps=6", f"method.script={probe}", f"output_root={tmp_path}",
        "progress_every_s=1", *LAUNCHERS[launcher], env=SLOW_PROBE,
    )  # fmt: skip
    out, _ = _finish(process)
    lines = _progress_lines(out)
    # Each picture: the count, the table's header, a line per running job.
    headers = [
        line for line in lines if line.split()[1:3] == ["smollm2_135m/sst2_zo_original/", "state"]
    ]
    assert headers and any("eta" in line and "loss" in line for line in headers), out[-3000:]
    mid_run = [line.split()[1:] for line in lines if " running " in line and "/6 " in line]
    assert any(cells[0].startswith("lr=") and cells[1] == "running" for cells in mid_run), out
    assert any(line.startswith("[progress] 0/2 jobs done") for line in lines)
    # At the end, every job as it ended: no eta any more.
    final = [line.split() for line in out.splitlines() if line.startswith("lr=")]
    assert final == [[lr, "ok", "6/6", "0.1667", "0.0600"] for lr in ("lr=0.0001", "lr=0.001")]
    assert "\r" not in out and "\x1b" not in out  # stdout is no terminal: plain lines only


def test_with_details_the_console_prints_one_line_per_state_change_between_pictures(
    tmp_path: Path,
) -> None:
    probe = write_probe(tmp_path / "probe")
    process = start_sweep(
        "-v", "-m", "lr=1e-3", "steps=6", f"method.script={probe}", f"output_root={tmp_path}",
        "progress_every_s=600", env=SLOW_PROBE,
    )  # fmt: skip
    out, _ = _finish(process)
    # No picture is due within the run: only the job's start and its end are reported.
    lines = _progress_lines(out)
    assert [line.split(": ")[1].split(" ")[0].rstrip(",") for line in lines] == ["running", "ok"]


def test_progress_view_shows_a_running_sweep_from_another_shell(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    process = start_sweep(
        "-m", "lr=1e-3", "steps=40", f"method.script={probe}", f"output_root={tmp_path}",
        env={"PROBE_STEPS": "40", "STEP_SLEEP": "0.25"},
    )  # fmt: skip
    try:
        metrics = _wait_for(lambda: next(tmp_path.rglob("metrics.jsonl"), None))
        _wait_for(lambda: len(metrics.read_text().splitlines()) >= 3)
        view = subprocess.run(
            [sys.executable, "-m", "zo_sweep.summary", "--view", "progress", "--format", "csv",
             str(tmp_path)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        _finish(process)
    assert view.returncode == 0, view.stderr
    values = pd.read_csv(io.StringIO(view.stdout), dtype=str).iloc[0]
    assert values["state"] == "running" and float(values["steps"]) == 40
    assert 3 <= float(values["step"]) < 40 and values["eta"].startswith("0:00:")
    assert "0/1 jobs done, 1 running" in view.stderr


def test_a_job_whose_process_is_gone_reads_as_lost(tmp_path: Path) -> None:
    job_dir = _job_dir(tmp_path / "job", steps=10)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_pid_file(job_dir, dead.pid)
    assert job_liveness(job_dir) == "lost"
    assert read_job_progress(job_dir, "job").state == "lost"

    write_pid_file(job_dir, os.getpid())
    assert job_liveness(job_dir) == "running"
    (job_dir / records.PROCESS_FILE).write_text(
        json.dumps({"pid": 1, "host": "elsewhere", "pid_started": 0, "started": 0})
    )
    assert job_liveness(job_dir) is None  # another host: no way to tell


def test_progress_view_lists_lost_jobs(tmp_path: Path) -> None:
    job_dir = _job_dir(
        tmp_path / "default" / "2024-05-01_10-00-00" / "m" / "sst2_zo_original" / "lr=1", steps=10
    )
    (job_dir / "metrics.jsonl").write_text('{"step": 3, "loss": 0.5}\n')
    (job_dir / records.PROCESS_FILE).write_text(
        json.dumps(
            {
                "pid": 2**22 + 12345,
                "host": socket.gethostname(),
                "pid_started": time.time(),
                "started": time.time(),
            }
        )
    )
    view = subprocess.run(
        [sys.executable, "-m", "zo_sweep.summary", "--view", "progress", "--format", "csv",
         str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert view.returncode == 0, view.stderr
    values = pd.read_csv(io.StringIO(view.stdout), dtype=str, keep_default_na=False).iloc[0]
    assert (values["state"], values["eta"]) == ("lost", "")
    assert (float(values["step"]), float(values["steps"])) == (3, 10)
    assert "0/1 jobs done, 1 lost" in view.stderr


def test_a_watcher_prints_plain_pictures_and_every_job_at_the_end(tmp_path: Path) -> None:
    job_dir = _job_dir(tmp_path / "sweep" / "cell" / "lr=1", steps=10)
    write_pid_file(job_dir, os.getpid())
    (job_dir / "metrics.jsonl").write_text('{"step": 4, "loss": 0.5, "seconds": 2.0}\n')
    stream = io.StringIO()
    watcher = ProgressWatcher(tmp_path / "sweep", total=3, every_seconds=1, stream=stream)
    watcher.start()
    _wait_for(lambda: "[progress] lr=1 " in stream.getvalue(), timeout=30)  # a picture
    (job_dir / "result.json").write_text('{"status": "ok", "steps_done": 10}')
    watcher.stop()
    lines = stream.getvalue().splitlines()
    assert "[progress] 0/3 jobs done, 1 running" in lines
    assert lines[1].split() == ["[progress]", "cell/", "state", "step", "loss", "eta"]
    assert lines[2].split()[:5] == ["[progress]", "lr=1", "running", "4/10", "0.5000"]
    assert lines[-2:] == ["cell/  state   step    loss", "lr=1   ok     10/10  0.5000"]
    # The plan is recorded in the sweep's folder, for the progress view of another shell.
    assert json.loads((tmp_path / "sweep" / records.SWEEP_PLAN_FILE).read_text()) == {
        "planned_jobs": 3
    }


def _job_dir(path: Path, steps: int) -> Path:
    (path / ".hydra").mkdir(parents=True)
    (path / ".hydra" / "config.yaml").write_text(
        f"purpose: default\nsteps: {steps}\nlr: 1.0\n"
        "model: {name: m}\ntask: {name: sst2}\nmethod: {name: zo}\ndata: {name: original}\n"
    )
    (path / "command.sh").write_text("")
    return path


def _wait_for(condition, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def write_pid_file(job_dir: Path, pid: int) -> None:
    """process.json as the job runner writes it, naming pid as the job's runner on this host."""
    try:
        pid_started = psutil.Process(pid).create_time()
    except psutil.Error:
        pid_started = time.time()
    payload = {"pid": pid, "host": socket.gethostname(), "pid_started": pid_started,
               "started": time.time()}  # fmt: skip
    (job_dir / records.PROCESS_FILE).write_text(json.dumps(payload))
