"""No process outlives its job: background and setsid children, a SIGKILLed sweep, lost jobs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from helpers.sweep import run_sweep, start_sweep, wait_for_starts, write_probe

from zo_sweep.summary.job_row import read_job_row
from zo_sweep.sweep.process import run_process_group

LEAVES_CHILDREN = r"""#!/usr/bin/env bash
# Starts a background child, a setsid child and a setsid grandchild, then exits at once.
sleep 600 &
echo $! >> "$PIDS"
setsid sleep 601 &
echo $! >> "$PIDS"
bash -c 'setsid sleep 602 & echo $! >> "$PIDS"' &
sleep 0.3
echo '{"status": "ok", "best_dev": 0.5}' > "$OUTPUT_DIR/result.json"
"""


def _wait_until_gone(pids: list[int], timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if _alive(pid)]
        if not alive:
            return []
        time.sleep(0.1)
    return alive


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_children_a_script_leaves_behind_end_with_it(tmp_path: Path) -> None:
    script = tmp_path / "leaves_children.sh"
    script.write_text(LEAVES_CHILDREN)
    pids = tmp_path / "pids"
    outcome = run_process_group(
        ["bash", str(script)],
        env={**os.environ, "PIDS": str(pids), "OUTPUT_DIR": str(tmp_path)},
        cwd=tmp_path,
        stdout_path=tmp_path / "out",
        stderr_path=tmp_path / "err",
        timeout_seconds=60,
    )
    assert outcome.exit_code == 0 and not outcome.timed_out
    started = [int(line) for line in pids.read_text().split()]
    assert len(started) == 3
    assert _wait_until_gone(started, timeout=2) == []


def test_a_script_that_fails_to_start_reports_its_exit_code(tmp_path: Path) -> None:
    outcome = run_process_group(
        ["no-such-program-anywhere"],
        env=dict(os.environ),
        cwd=tmp_path,
        stdout_path=tmp_path / "out",
        stderr_path=tmp_path / "err",
        timeout_seconds=60,
    )
    assert outcome.exit_code == 127
    assert "cannot start no-such-program-anywhere" in (tmp_path / "err").read_text()


def test_a_script_killed_by_a_signal_reads_as_killed(tmp_path: Path) -> None:
    outcome = run_process_group(
        ["bash", "-c", "kill -9 $$"],
        env=dict(os.environ),
        cwd=tmp_path,
        stdout_path=tmp_path / "out",
        stderr_path=tmp_path / "err",
        timeout_seconds=60,
    )
    assert outcome.exit_code == -signal.SIGKILL


@pytest.mark.parametrize("launcher,running", [("basic", 1), ("joblib", 2)])
def test_sigkill_of_the_sweep_leaves_no_process_of_its_jobs(
    tmp_path: Path, launcher: str, running: int
) -> None:
    probe = write_probe(tmp_path / "probe")
    log = tmp_path / "probe.jsonl"
    common = [f"method.script={probe}", f"output_root={tmp_path}", "purpose=killed"]
    sweep = start_sweep(
        "-m", f"hydra/launcher={launcher}", "lr=1e-4,2e-4,3e-4", *common,
        *(["hydra.launcher.n_jobs=2"] if launcher == "joblib" else []),
        env={"PROBE_LOG": str(log), "SLEEP": "120"},
    )  # fmt: skip
    starts = wait_for_starts(log, running)
    sweep.kill()
    sweep.wait(timeout=30)  # not communicate(): joblib's workers hold the pipes a moment longer
    assert _wait_until_gone([event["pid"] for event in starts], timeout=10) == []

    if launcher == "basic":
        # Nobody is left to write the job's result: the summary says lost, not running.
        (job_dir,) = [path.parent for path in tmp_path.rglob("process.json")]
        row, _ = read_job_row(job_dir)
        assert row["status"] == "lost"
        # resume reruns the lost job (and the two that never started), and nothing else runs.
        done = run_sweep("-m", "lr=1e-4,2e-4,3e-4", "resume=true", *common, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "3 jobs: 3 ok" in done.stdout
    else:
        # The workers outlive the sweep for a moment: they record their jobs as interrupted.
        deadline = time.monotonic() + 30
        while len(list(tmp_path.rglob("result.json"))) < running and time.monotonic() < deadline:
            time.sleep(0.2)
        results = [json.loads(p.read_text()) for p in tmp_path.rglob("result.json")]
        assert [result["status"] for result in results] == ["interrupted"] * running


def test_jobs_run_with_the_sweeps_own_interpreter(tmp_path: Path) -> None:
    script = tmp_path / "which_python.sh"
    script.write_text(
        "#!/usr/bin/env bash\n"
        'echo "{\\"status\\": \\"ok\\", \\"python\\": \\"$(command -v python)\\",'
        ' \\"PYTHON\\": \\"$PYTHON\\"}" > "$OUTPUT_DIR/result.json"\n'
    )
    # A PATH whose first python is not the sweep's.
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / "python").write_text("#!/bin/sh\nexit 9\n")
    (decoy / "python").chmod(0o755)
    path = f"{decoy}{os.pathsep}{os.environ['PATH']}"
    done = run_sweep(
        "-m", "lr=1e-6", f"method.script={script}", f"output_root={tmp_path}",
        "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
        env={"PATH": path},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (result_path,) = tmp_path.rglob("result.json")
    result = json.loads(result_path.read_text())
    assert result["PYTHON"] == sys.executable
    assert Path(result["python"]).parent == Path(sys.executable).parent
    command = (result_path.parent / "command.sh").read_text()
    assert f"PYTHON={sys.executable}" in command
    # joblib's workers get a share of the cores; running command.sh by hand keeps it.
    assert "OMP_NUM_THREADS=" in command and "OPENBLAS_NUM_THREADS=" in command


def test_a_job_records_who_runs_it(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep("lr=1e-6", f"method.script={probe}", f"output_root={tmp_path}")
    assert done.returncode == 0, done.stderr
    (runner_path,) = tmp_path.rglob("process.json")
    runner = json.loads(runner_path.read_text())
    assert {"pid", "host", "pid_started", "started"} <= set(runner)
    assert runner["host"] == socket.gethostname()
    row, _ = read_job_row(runner_path.parent)
    assert row["status"] == "ok"


def test_a_job_whose_runner_is_alive_reads_as_running(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".hydra").mkdir()
        (tmp_path / ".hydra" / "config.yaml").write_text("purpose: x\n")
        process = psutil.Process(child.pid)
        runner = {
            "pid": child.pid,
            "host": socket.gethostname(),
            "pid_started": process.create_time(),
            "started": time.time(),
        }
        (tmp_path / "process.json").write_text(json.dumps(runner))
        assert read_job_row(tmp_path, now=time.time() + 10**6)[0]["status"] == "running"
    finally:
        child.kill()
        child.wait()
    assert read_job_row(tmp_path)[0]["status"] == "lost"
