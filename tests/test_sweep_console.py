"""What a sweep prints: a few lines by default (the jobs' table, the tally, the verdict), the
details with -v and in the logs, a live table fitted to a terminal's width."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers.sweep import REPO_ROOT, run_sweep, start_sweep, wait_for_starts, write_probe
from helpers.terminal import Screen, run_on_terminal

from zo_sweep import records
from zo_sweep.jobdir.progress import JobProgress
from zo_sweep.sweep.progress import POLL_SECONDS
from zo_sweep.sweep.progress_table import job_table

FOUR_JOBS = ("-m", "lr=1e-3,1e-4,1e-5,1e-6", "steps=6")
TWO_AT_A_TIME = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
SIX_STEPS = {"PROBE_STEPS": "6"}


def _release_after_starts(hold: Path, log: Path, count: int) -> None:
    try:
        wait_for_starts(log, count)
        time.sleep(2 * POLL_SECONDS)
    finally:
        hold.unlink(missing_ok=True)


def _sweep_dir(root: Path) -> Path:
    (plan,) = root.rglob(records.SWEEP_PLAN_FILE)
    return plan.parent


def test_a_four_job_sweep_prints_its_jobs_table_the_tally_and_the_verdict(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        *FOUR_JOBS, f"method.script={probe}", f"output_root={tmp_path}", *TWO_AT_A_TIME,
        env=SIX_STEPS,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    # The table (a header and a line per job), the tally, the verdict: 47 lines before.
    assert len(lines) <= 10, done.stdout
    assert lines[0].split() == ["smollm2_135m/sst2_zo_original/", "state", "step", "loss",
                                "dev_accuracy"]  # fmt: skip
    assert [line.split()[:3] for line in lines[1:5]] == [
        [job, "ok", "6/6"] for job in ("lr=0.0001", "lr=0.001", "lr=1e-05", "lr=1e-06")
    ]
    assert lines[5].startswith("4 jobs: 4 ok (") and lines[6].startswith("verdict")
    assert "[HYDRA]" not in done.stdout and "INFO" not in done.stdout and done.stderr == ""
    # The details are in the logs: the sweep's own, and each job's.
    sweep_log = (_sweep_dir(tmp_path) / records.SWEEP_LOG_FILE).read_text()
    assert "Launching jobs" in sweep_log and "#3 : lr=1e-06" in sweep_log
    assert sweep_log.count(": ok 6/6") == 4  # each job's end (and its start, if seen running)
    job_logs = [path.read_text() for path in tmp_path.rglob("zo_sweep.log")]
    assert len(job_logs) == 4 and all("started" in log and ": ok" in log for log in job_logs)


@pytest.mark.parametrize("flag", ["-v", "hydra.verbose=zo_sweep"])
def test_details_on_request(tmp_path: Path, flag: str) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        flag, "-m", "lr=1e-3,1e-4", f"method.script={probe}", f"output_root={tmp_path}"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "[HYDRA] Launching 2 jobs locally" in done.stdout
    assert done.stdout.count("[zo_sweep.sweep.job][INFO]") == 4  # each job's start and end
    assert done.stdout.count("sst2_zo_original/lr=0.001: ok") >= 2  # the log's and the console's


def test_a_failed_job_shows_its_error_without_asking(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        "-m", "lr=1e-3,0.5", f"method.script={probe}", f"output_root={tmp_path}",
        env={"FAIL_AT_LR": "0.1"},
    )  # fmt: skip
    assert done.returncode == 1
    failed = [line for line in done.stdout.splitlines() if "lr=0.5" in line]
    assert failed and all("probe: learning rate too high" in line for line in failed), done.stdout
    assert "2 jobs: 1 ok, 1 failed" in done.stdout


def test_a_dry_run_lists_its_jobs_in_a_table_and_leaves_the_commands_in_command_sh(
    tmp_path: Path,
) -> None:
    done = run_sweep(
        "-m", "lr=1e-3,1e-4", "seed=0,1,2", "method=zo,fo_lora", "dry_run=true",
        f"output_root={tmp_path}", "gpu_memory_gb=40",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert "python -m zo_sweep.train" not in done.stdout  # 1,000 characters per job before
    assert len(done.stdout) < 3000, done.stdout
    header = lines[0].split()
    assert header[:6] == ["job", "model", "task", "method", "data", "lr"], lines[0]
    rows = [line for line in lines if "seed=" in line]
    assert len(rows) == 12 and any("fo_lora" in row and "0.0001" in row for row in rows)
    assert all(" GB" in row for row in rows), "each job's memory per device"
    assert any(line.startswith("memory plan") for line in lines)
    assert "12 jobs: 12 dry_run" in done.stdout
    commands = list(tmp_path.rglob("command.sh"))
    assert len(commands) == 12 and all("zo_sweep.train" in c.read_text() for c in commands)


def test_a_terminal_shows_a_table_of_running_jobs_fitted_to_its_width(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    hold, log = tmp_path / "hold", tmp_path / "probe.jsonl"
    hold.touch()  # the first two jobs wait, both running, until the console has drawn them
    releaser = threading.Thread(target=_release_after_starts, args=(hold, log, 2), daemon=True)
    releaser.start()
    columns = 44  # narrower than the table: `smollm2_135m/sst2_zo_original/` alone is 30
    code, output = run_on_terminal(
        [sys.executable, "-m", "zo_sweep", *FOUR_JOBS, f"method.script={probe}",
         f"output_root={tmp_path / 'out'}", *TWO_AT_A_TIME],
        columns=columns,
        env={**os.environ, "PROBE_STEPS": "6", "STEP_SLEEP": "0.6", "HOLD_FILE": str(hold),
             "PROBE_LOG": str(log), "PYTHONPATH": str(REPO_ROOT)},
        cwd=str(REPO_ROOT),
    )  # fmt: skip
    assert code == 0, output[-3000:]
    live, _, after = output.partition("\x1b[?25h")  # the live display shows the cursor again
    screen = Screen()
    screen.feed(live)
    assert screen.widest <= columns, live  # no line of the live table passes the terminal
    assert screen.cursor_ups >= 2, "the table is redrawn in place"
    frames = live.split("\x1b[2K")  # each redraw starts by erasing what was there
    assert any("jobs done, 2 running" in frame for frame in frames), live
    rows = [line for frame in frames for line in frame.splitlines() if "running" in line]
    assert any(line.startswith("lr=") and "/6" in line for line in rows), live
    screen.feed(after)
    final = screen.text()
    table = [line for line in final if line.startswith("lr=")]
    assert len(table) == 4 and all(" ok " in line and len(line) < columns for line in table)
    assert not any("running" in line for line in final), "the live table is gone at the end"
    assert any(line.startswith("4 jobs: 4 ok") for line in final), final


def test_the_console_and_the_progress_view_count_the_same_jobs(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    hold, log = tmp_path / "hold", tmp_path / "probe.jsonl"
    hold.touch()  # the probes wait while it exists: two jobs running, two not started
    sweep = start_sweep(
        *FOUR_JOBS, f"method.script={probe}", f"output_root={tmp_path / 'out'}",
        *TWO_AT_A_TIME, "progress_every_s=1",
        env={"HOLD_FILE": str(hold), "PROBE_LOG": str(log)},
    )  # fmt: skip
    try:
        wait_for_starts(log, 2)
        view = subprocess.run(
            [sys.executable, "-m", "zo_sweep.summary", "--view", "progress", "--format", "csv",
             str(tmp_path / "out")],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        time.sleep(2 * POLL_SECONDS)  # the console draws its picture meanwhile
    finally:
        hold.unlink()
        stdout, stderr = sweep.communicate(timeout=120)
    assert sweep.returncode == 0, stderr[-3000:]
    assert view.returncode == 0, view.stderr
    # Two jobs have folders; the sweep runs four: both say so.
    assert "0/4 jobs done, 2 running" in view.stderr, view.stderr
    assert "[progress] 0/4 jobs done, 2 running" in stdout, stdout
    assert len(pd.read_csv(io.StringIO(view.stdout))) == 2


def test_a_real_sweep_of_the_trainer_prints_a_few_lines(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    done = run_sweep(
        f"model.id={tiny_model_dir}", "model.name=tiny", "method=fo_lora", "steps=2",
        "num_train=8", "num_dev=8", "num_eval=8", "gpus=[]", f"output_root={tmp_path}",
        "-m", "lr=1e-3,1e-4", *TWO_AT_A_TIME, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["tiny/sst2_fo_lora_original/", "state", "step"], done.stdout
    assert [line.split()[:3] for line in lines[1:3]] == [
        ["lr=0.0001", "ok", "2/2"], ["lr=0.001", "ok", "2/2"],
    ]  # fmt: skip
    assert lines[3].startswith("2 jobs: 2 ok") and lines[4].startswith("verdict")
    assert len(lines) <= 8, done.stdout


@pytest.mark.parametrize("width", [120, 80, 60, 44])
def test_a_table_of_jobs_fits_any_width_and_keeps_what_tells_jobs_apart(width: int) -> None:
    cell = "smollm2_135m/sst2_zo_original"
    jobs = [
        JobProgress(f"{cell}/lr=0.001,seed=0", "running", 120, 20000, 0.6912, "dev_accuracy",
                    0.55, 41.0),
        JobProgress(f"{cell}/lr=0.0001,seed=0", "failed", 3, 20000, 0.7, error="CUDA out of "
                    "memory. Tried to allocate 2.00 GiB (GPU 0; 39.59 GiB total capacity)"),
    ]  # fmt: skip
    lines = job_table(jobs, width)
    assert len(lines) == 3 and all(len(line) <= width for line in lines), lines
    assert lines[1].split()[1:3] == ["running", "120/20000"]
    assert lines[2].split()[1:3] == ["failed", "3/20000"]
    assert "seed=0" in lines[1] and "seed=0" in lines[2]  # names lose their start, if anything
    assert "0:00:41" in lines[1]  # the eta stays; the loss and dev columns go first
    if width >= 120:
        assert lines[0].startswith(f"{cell}/") and "CUDA out of memory" in lines[2]
