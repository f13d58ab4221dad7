"""Jobs of several devices as a user runs them: `python -m zo_sweep -m ... devices_per_job=2
device=cpu` runs each job's trainer as 2 gloo ranks, with one rank's losses; a rank that dies
fails its job at once and the sweep goes on; a first-order job stopped by SIGTERM goes on from
its checkpoint with `resume=true`; a job across two nodes runs a launcher on each."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from helpers import REPO_ROOT
from helpers.sweep import run_sweep, start_sweep, wait_for
from helpers.tiny_llama import build_tiny_llama

from zo_sweep import records
from zo_sweep.train.cli import main
from zo_sweep.train.settings import SETTINGS_FILE

SMALL_RUN = ("task=sst2", "device=cpu", "bs=4", "num_train=32", "num_dev=16", "num_eval=16",
             "log_steps=1")  # fmt: skip
SWEEP_TIMEOUT = 600  # two ranks a job import torch and transformers on a busy 2-core machine


def tiny(model_dir: Path) -> tuple[str, str]:
    return (f"model.id={model_dir}", "model.name=tiny")


def job_dirs(root: Path) -> list[Path]:
    return sorted(path.parent for path in root.rglob(SETTINGS_FILE))


def losses(job_dir: Path) -> dict[int, float]:
    return {line["step"]: line["loss"] for line in records.read_metrics(job_dir) if "loss" in line}


def assert_same_losses(job_dir: Path, reference: Path) -> None:
    assert losses(job_dir).keys() == losses(reference).keys(), job_dir
    for step, loss in losses(reference).items():
        assert losses(job_dir)[step] == pytest.approx(loss, rel=1e-4), f"{job_dir} step {step}"


def test_each_job_runs_as_two_ranks_with_the_losses_of_one(tmp_path: Path) -> None:
    # Tied embeddings, as the embedded model's: one weight in the ranks' shards too.
    model = build_tiny_llama(tmp_path / "tied", tied=True)
    done = run_sweep(
        *tiny(model), *SMALL_RUN, "steps=3", "-m", "method=zo,fo_full,fo_lora",
        "devices_per_job=1,2", f"output_root={tmp_path / 'out'}", timeout=SWEEP_TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "6 jobs: 6 ok" in done.stdout
    runs: dict[tuple[str, int], Path] = {}
    for job_dir in job_dirs(tmp_path / "out"):
        result = records.read_result(job_dir)
        runs[result["method"], result["world_size"]] = job_dir
        ranks = result["world_size"]
        command = (job_dir / "command.sh").read_text()
        assert ("zo_sweep.train.launch --nproc-per-node=2" in command) == (ranks == 2)
        if ranks == 2:  # the ranks' output, prefixed, in the job's logs
            assert "[rank0]: " in (job_dir / "train.err").read_text()
    assert sorted(runs) == [(method, n) for method in ("fo_full", "fo_lora", "zo") for n in (1, 2)]
    for method in ("zo", "fo_full", "fo_lora"):
        assert_same_losses(runs[method, 2], runs[method, 1])
        two, one = (records.read_result(runs[method, n]) for n in (2, 1))
        assert (two["best_dev"], two["test_at_best"]) == (one["best_dev"], one["test_at_best"])


def rank_process(train_yaml: Path, rank: int) -> psutil.Process | None:
    """The process of one rank of the job whose settings are train_yaml."""
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if str(train_yaml) in cmdline and "zo_sweep.train" in cmdline:
            try:
                if process.environ().get("RANK") == str(rank):
                    return process
            except psutil.Error:
                continue
    return None


def started_training(job_dir: Path, steps: int = 1) -> bool:
    return len(losses(job_dir)) >= steps


def test_a_dead_rank_fails_its_job_and_a_stopped_job_goes_on_from_its_checkpoint(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    # Two first-order jobs of 2 ranks, one after the other: rank 1 of the first is killed, and
    # the sweep is stopped (SIGTERM, as SLURM or Ctrl-C would) while the second trains.
    grid = ("method=fo_full", "devices_per_job=2", "steps=40", "checkpoint_steps=1000")
    args = (*tiny(tiny_model_dir), *SMALL_RUN, *grid, "purpose=stopped", f"output_root={tmp_path}")
    sweep = start_sweep(*args, "-m", "lr=1e-2,1e-3")
    first = second = None
    try:
        wait_for(lambda: len(job_dirs(tmp_path)) >= 1, "the first job", timeout=120)
        (first,) = job_dirs(tmp_path)
        wait_for(lambda: started_training(first), "the first job's training", timeout=240)
        rank = rank_process(first / "train.yaml", 1)
        assert rank is not None
        rank.kill()
        killed = time.monotonic()
        wait_for(lambda: (first / records.RESULT_FILE).exists(), "the first job's end", 60)
        assert time.monotonic() - killed < 30, "the other rank was stopped, not left waiting"
        wait_for(lambda: len(job_dirs(tmp_path)) == 2, "the second job", timeout=60)
        (second,) = [job_dir for job_dir in job_dirs(tmp_path) if job_dir != first]
        wait_for(lambda: started_training(second, 2), "the second job's training", timeout=240)
        sweep.send_signal(signal.SIGTERM)
        stdout, stderr = sweep.communicate(timeout=SWEEP_TIMEOUT)
    finally:
        if sweep.poll() is None:
            sweep.kill()
    assert sweep.returncode == 130, stderr[-3000:]
    failed = records.read_result(first)
    assert failed["status"] == "failed"
    assert "rank 1" in failed["error"] and "SIGKILL" in failed["error"], failed["error"]
    stopped = records.read_result(second)
    assert stopped["status"] == "interrupted"
    saved = json.loads((second / "checkpoint" / "progress.json").read_text())
    assert 2 <= saved["step"] < 40 and saved["world_size"] == 2

    went_on = run_sweep(*args, "resume=true", "-m", "lr=1e-3", timeout=SWEEP_TIMEOUT)
    assert went_on.returncode == 0, went_on.stderr[-3000:]
    (resumed,) = [d for d in job_dirs(tmp_path) if d not in (first, second)]
    assert records.read_result(resumed)["status"] == "ok"
    assert not (resumed / "checkpoint").exists()
    # One rank, never stopped, takes the same steps.
    whole = tmp_path / "whole"
    assert main(["--config", str(second / "train.yaml"), "--output-dir", str(whole)]) == 0
    assert_same_losses(resumed, whole)


def test_a_job_across_two_nodes_runs_a_launcher_on_each_and_the_first_writes(
    tiny_model_dir: Path, tmp_path: Path, compose_config
) -> None:
    """What submitit does for a job of two nodes, on one machine: the job's function once per
    node, as the tasks of one SLURM step."""
    from omegaconf import OmegaConf

    cfg = compose_config(*tiny(tiny_model_dir), *SMALL_RUN, "method=fo_full", "steps=2",
                         "devices_per_job=2", f"output_root={tmp_path}")  # fmt: skip
    config = tmp_path / "job.yaml"
    OmegaConf.save(OmegaConf.to_container(cfg, resolve=True), config)
    job_dir = tmp_path / "job"
    job = str(random.randrange(10**5, 10**6))  # the rendezvous port comes from it
    step = {"SLURM_JOB_ID": job, "SLURM_STEP_NUM_NODES": "2", "SLURM_STEP_NODELIST": "localhost"}
    run = (
        "import sys; from pathlib import Path; from omegaconf import OmegaConf;"
        "from zo_sweep.sweep.job import run_job;"
        "run_job(OmegaConf.load(sys.argv[1]), Path(sys.argv[2]))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **step}
    nodes = [
        subprocess.Popen(
            [sys.executable, "-c", run, str(config), str(job_dir)],
            env={**env, "SLURM_NODEID": str(node)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for node in (1, 0)  # the other node may start first: it waits for the first
    ]
    outputs = [node.communicate(timeout=SWEEP_TIMEOUT) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], outputs[1][1][-3000:]
    result = records.read_result(job_dir)
    assert (result["status"], result["world_size"]) == ("ok", 2)
    # Rank 1 ran on the other node (which speaks only when a rank fails): whatever it says goes
    # there, never into the job's logs.
    assert "[rank1]: " not in (job_dir / "train.err").read_text()
    assert "[rank0]: " in (job_dir / "train.err").read_text()
    assert "--nproc-per-node=1" in (job_dir / "command.sh").read_text()
