"""Sweeps through `hydra/launcher=slurm` on a real one-node SLURM cluster (slurmctld + slurmd).

A probe script stands in for the trainer (tests/helpers/sweep.py), so each sweep takes seconds.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import psutil
import pytest
from helpers.sweep import (
    job_results,
    probe_events,
    run_sweep,
    start_sweep,
    wait_for,
    write_probe,
)

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.usefixtures("slurm_cluster"),
    pytest.mark.xdist_group("slurm"),
]

# One core and 1 GB a job: the test node runs two jobs at a time on a two-core machine.
SMALL_JOBS = (
    "hydra/launcher=slurm_cpu",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=1",
)


def _sweep_args(tmp_path: Path, *overrides: str) -> list[str]:
    """A sweep of small jobs; a key of SMALL_JOBS given in overrides is given once, as there."""
    probe = write_probe(tmp_path / "probe")
    given = {override.split("=")[0] for override in overrides}
    small = [setting for setting in SMALL_JOBS if setting.split("=")[0] not in given]
    return ["-m", *small, f"method.script={probe}", f"output_root={tmp_path / 'out'}",
            *overrides]  # fmt: skip


def _queued_jobs(*states: str) -> list[str]:
    """Ids of this cluster's jobs in SLURM's queue (in the given states, else in any)."""
    listed = subprocess.run(
        [
            "squeue",
            "--noheader",
            "--array",
            "--format=%i",
            *(["--states=" + ",".join(states)] if states else []),
        ],
        capture_output=True,
        text=True,
    )
    return listed.stdout.split()


def _statuses(root: Path) -> dict[str, str]:
    return {name: result["status"] for name, result in job_results(root).items()}


def test_slurm_sweep_tallies_ok_and_failed_jobs(tmp_path: Path) -> None:
    done = run_sweep(*_sweep_args(tmp_path, "lr=1e-4,1e-5,0.5"), env={"FAIL_AT_LR": "0.1"})
    assert done.returncode == 1, done.stderr
    assert "3 jobs: 2 ok, 1 failed" in done.stdout
    assert _statuses(tmp_path / "out") == {"lr=0.0001": "ok", "lr=1e-05": "ok", "lr=0.5": "failed"}
    assert "Bypassing sacct error" not in done.stderr + done.stdout


def test_array_larger_than_its_parallelism_runs_every_job_in_turn(tmp_path: Path) -> None:
    log = tmp_path / "probe.jsonl"
    done = run_sweep(
        *_sweep_args(tmp_path, "lr=1e-4,2e-4", "hydra.launcher.array_parallelism=1"),
        env={"PROBE_LOG": str(log), "SLEEP": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert "2 jobs: 2 ok" in done.stdout
    events = sorted(probe_events(log), key=lambda event: event["time"])
    assert [event["event"] for event in events] == ["start", "end"] * 2, "one job at a time"


def test_cancelled_job_is_interrupted_and_resume_reruns_it(tmp_path: Path) -> None:
    log, hold = tmp_path / "probe.jsonl", tmp_path / "hold"
    hold.touch()
    args = _sweep_args(tmp_path, "purpose=cancel", "lr=1e-4,2e-4")
    sweep = start_sweep(*args, env={"PROBE_LOG": str(log), "HOLD_FILE": str(hold),
                                    "HOLD_LR": "0.0002"})  # fmt: skip
    ended = lambda: [e for e in probe_events(log) if e["event"] == "end"]  # noqa: E731
    wait_for(lambda: len(ended()) == 1 and len(probe_events(log)) == 3, "the free job's end")
    wait_for(lambda: len(_queued_jobs()) == 1, "the free job leaving the queue")
    (held,) = _queued_jobs()
    subprocess.run(["scancel", held], check=True)
    _, stderr = sweep.communicate(timeout=60)
    assert sweep.returncode == 1, stderr
    assert _statuses(tmp_path / "out") == {"lr=0.0001": "ok", "lr=0.0002": "interrupted"}

    hold.unlink()
    done = run_sweep(*args, "resume=true")
    assert done.returncode == 0, done.stderr
    assert "2 jobs: 1 ok, 1 skipped" in done.stdout


def test_ctrl_c_cancels_the_sweeps_slurm_jobs(tmp_path: Path) -> None:
    log = tmp_path / "probe.jsonl"
    args = _sweep_args(tmp_path, "lr=1e-4,2e-4,3e-4", "hydra.launcher.array_parallelism=2")
    sweep = start_sweep(*args, env={"PROBE_LOG": str(log), "SLEEP": "120"})
    wait_for(lambda: len(probe_events(log)) == 2, "two running jobs")
    assert len(_queued_jobs()) == 3  # two running, one pending
    sweep.send_signal(signal.SIGINT)
    _, stderr = sweep.communicate(timeout=60)
    assert sweep.returncode == 130, stderr
    wait_for(lambda: not _queued_jobs(), "the cancelled jobs leaving the queue", timeout=30)
    pids = [event["pid"] for event in probe_events(log)]
    wait_for(lambda: not any(psutil.pid_exists(pid) for pid in pids), "the trainers' end", 30)
    assert sorted(_statuses(tmp_path / "out").values()) == ["interrupted", "interrupted"]


def test_job_past_slurm_time_limit_ends_as_timeout(tmp_path: Path) -> None:
    # submitit's warning signal is due signal_delay_s before the limit, 70 s into the job, and
    # SLURM may send it up to 60 s early (its event resolution): never before the job's Python
    # has its handler of the signal.
    limits = ("hydra.launcher.timeout_min=2", "hydra.launcher.signal_delay_s=50")
    done = run_sweep(*_sweep_args(tmp_path, "lr=1e-4", *limits), env={"SLEEP": "300"})
    assert done.returncode == 1, done.stderr
    assert "1 job: 1 timeout" in done.stdout
    (result,) = job_results(tmp_path / "out").values()
    assert result["error"] == "SLURM time limit reached (hydra.launcher.timeout_min=2)"


def test_job_ended_before_it_started_is_still_counted(tmp_path: Path) -> None:
    """A job cancelled while pending has no directory of its own yet; the sweep makes one."""
    log, hold = tmp_path / "probe.jsonl", tmp_path / "hold"
    hold.touch()
    args = _sweep_args(tmp_path, "lr=1e-4,2e-4", "hydra.launcher.array_parallelism=1")
    sweep = start_sweep(*args, env={"PROBE_LOG": str(log), "HOLD_FILE": str(hold)})
    wait_for(lambda: len(probe_events(log)) == 1, "the first job's start")
    subprocess.run(["scancel", *_queued_jobs()], check=True)
    stdout, stderr = sweep.communicate(timeout=60)
    assert sweep.returncode == 1, stderr
    assert "2 jobs: 2 interrupted" in stdout


def test_sbatch_refusal_is_one_line_with_exit_code_2(tmp_path: Path) -> None:
    done = run_sweep(*_sweep_args(tmp_path, "lr=1e-4,1e-5", "hydra/launcher=slurm"))
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: SLURM refused the sweep: Invalid generic resource")
    assert "hydra/launcher=slurm_cpu" in line
    done = run_sweep(*_sweep_args(tmp_path, "lr=1e-4", "hydra.launcher.partition=nope"))
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: SLURM refused the sweep: Invalid partition name specified "
        "(hydra.launcher: partition=nope, cpus_per_task=1, mem_gb=1, timeout_min=1440)"
    )


def test_requeued_job_goes_on_in_its_own_directory(tmp_path: Path) -> None:
    log, hold = tmp_path / "probe.jsonl", tmp_path / "hold"
    hold.touch()
    sweep = start_sweep(*_sweep_args(tmp_path, "lr=1e-4"),
                        env={"PROBE_LOG": str(log), "HOLD_FILE": str(hold)})  # fmt: skip
    wait_for(lambda: len(probe_events(log)) == 1, "the job's start")
    (job,) = _queued_jobs()
    subprocess.run(["scontrol", "requeue", job], check=True)  # what a preemption does
    # SLURM holds a requeued job back for a while; let it start again at once.
    wait_for(lambda: _queued_jobs("PENDING") == [job], "the job back in the queue")
    hold.unlink()
    subprocess.run(["scontrol", "update", f"jobid={job}", "StartTime=now"], check=True)
    stdout, stderr = sweep.communicate(timeout=60)
    assert sweep.returncode == 0, stderr
    assert "1 job: 1 ok" in stdout
    assert [event["event"] for event in probe_events(log)] == ["start", "start", "end"]
    (job_dir,) = {path.parent for path in (tmp_path / "out").rglob("result.json")}
    assert (job_dir / "train.err.attempt1").exists() and (job_dir / "train.out.attempt1").exists()


def test_a_job_of_several_gpus_asks_for_them_on_as_many_nodes_as_it_needs(tmp_path: Path) -> None:
    """The throwaway cluster has no GPU, so sbatch refuses: its script says what was asked."""
    args = _sweep_args(tmp_path, "lr=1e-4,1e-5", "hydra/launcher=slurm")
    done = run_sweep(*args, "devices_per_job=8", "hydra.launcher.node_gpus=4")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "(hydra.launcher: nodes=2, gpus_per_node=4, cpus_per_task=4" in line
    (script,) = (tmp_path / "out").rglob(".submission_file_*.sh")
    requests = [line for line in script.read_text().splitlines() if line.startswith("#SBATCH")]
    assert "#SBATCH --nodes=2" in requests and "#SBATCH --gpus-per-node=4" in requests
    assert "#SBATCH --array=0-1%2" in requests  # both jobs, one array: they are one size


def test_jobs_of_two_sizes_go_in_two_arrays(tmp_path: Path) -> None:
    log = tmp_path / "probe.jsonl"
    done = run_sweep(
        *_sweep_args(tmp_path, "lr=1e-4", "devices_per_job=1,2"), env={"PROBE_LOG": str(log)}
    )
    assert done.returncode == 0, done.stderr
    assert "2 jobs: 2 ok" in done.stdout
    arrays = {(path.parent / "slurm_job_id").read_text().split("_")[0]
              for path in (tmp_path / "out").rglob("result.json")}  # fmt: skip
    assert len(arrays) == 2


def test_devices_that_do_not_split_over_nodes_are_refused(tmp_path: Path) -> None:
    args = _sweep_args(tmp_path, "lr=1e-4", "hydra/launcher=slurm", "hydra.launcher.node_gpus=4")
    done = run_sweep(*args, "devices_per_job=5")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: devices_per_job=5 does not split evenly over nodes of 4 GPUs "
        "(hydra.launcher.node_gpus=4): use devices_per_job=4 or 6"
    )
    assert not _queued_jobs()


def test_a_job_of_two_ranks_runs_through_slurm_cpu(tmp_path: Path, tiny_model_dir: Path) -> None:
    """The trainer itself, as 2 gloo ranks in one SLURM job (2 cores: one a rank)."""
    done = run_sweep(
        "-m", *SMALL_JOBS[:-1], "hydra.launcher.mem_gb=4", f"model.id={tiny_model_dir}",
        "model.name=tiny", "method=fo_full", "devices_per_job=2", "device=cpu", "steps=2",
        "num_train=8", "num_dev=8", "num_eval=8", f"output_root={tmp_path / 'out'}",
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1 job: 1 ok" in done.stdout
    ((_, result),) = job_results(tmp_path / "out").items()
    assert result["world_size"] == 2 and result["steps_done"] == 2
    (script,) = (tmp_path / "out").rglob(".submission_file_*.sh")
    assert "#SBATCH --cpus-per-task=2" in script.read_text().splitlines()
