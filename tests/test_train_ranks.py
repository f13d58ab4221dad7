"""The trainer as 2 gloo ranks on the CPU under torchrun (`python -m zo_sweep.train.launch`):
one rank's steps, predictions and records; a failing rank ends the run with its error; SIGTERM,
then the same command goes on from the checkpoint as if never stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import REPO_ROOT

from zo_sweep import mezo_log, records
from zo_sweep.records import TRAJECTORY_FILE
from zo_sweep.train.checkpoint import PROGRESS_FILE
from zo_sweep.train.cli import main
from zo_sweep.train.distributed import Ranks
from zo_sweep.train.launch import (
    first_host,
    lora_rank_args,
    rank_command,
    rendezvous_args,
    step_nodes,
)
from zo_sweep.train.trajectory import Trajectory

LAUNCH_TIMEOUT = 240  # two ranks importing torch and transformers on a busy 2-core machine


def trainer_args(model: Path, out: Path, **settings: object) -> list[str]:
    values = {
        "model": model,
        "task": "copa",
        "trainer": "regular",
        "mode": "ft",
        "lr": 1e-3,
        "bs": 3,
        "steps": 4,
        "train": 24,
        "dev": 8,
        "eval": 12,
        "eval_bs": 5,
        "eval_steps": 2,
        "log_steps": 1,
        "device": "cpu",
        "output_dir": out,
        **settings,
    }
    return [
        arg for key, value in values.items() for arg in (f"--{key.replace('_', '-')}", str(value))
    ]


def launch(
    args: list[str], *, fault: str = "", stamp: Path | None = None
) -> subprocess.CompletedProcess:
    """The launcher's 2 ranks, each running the trainer (with FAULT, the faulty one)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "tests")])}
    module = []
    if fault:
        env.update(FAULT=fault, FAULT_STAMP=str(stamp or ""))
        module = ["--module", "helpers.faulty_trainer"]
    command = [sys.executable, "-m", "zo_sweep.train.launch", "--nproc-per-node", "2", *module]
    return subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT
    )


def losses(job_dir: Path) -> dict[int, float]:
    return {line["step"]: line["loss"] for line in records.read_metrics(job_dir) if "loss" in line}


def assert_same_curve(job_dir: Path, reference: Path) -> None:
    assert losses(job_dir).keys() == losses(reference).keys()
    for step, loss in losses(reference).items():
        assert losses(job_dir)[step] == pytest.approx(loss, rel=1e-4), f"step {step}"
    dev = [
        {k: v for k, v in line.items() if k != "seconds"} for line in records.read_metrics(job_dir)
    ]
    one = [
        {k: v for k, v in line.items() if k != "seconds"}
        for line in records.read_metrics(reference)
    ]
    assert [line for line in dev if "loss" not in line] == [
        line for line in one if "loss" not in line
    ]


def test_two_ranks_take_the_steps_and_make_the_predictions_of_one(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    # Copa: multi-token candidates and the gold-token loss; 3 examples a step in micro-batches
    # of one, so one rank of the two has no example of its own in each.
    settings = {"grad_accum": 3, "lr": 1e-2}
    assert main(trainer_args(tiny_model_dir, tmp_path / "one", **settings)) == 0
    one = records.read_result(tmp_path / "one")
    assert 0 < one["best_step"] < one["steps_done"], "the best state is restored to be tested"
    ranks = launch(trainer_args(tiny_model_dir, tmp_path / "two", **settings))
    assert ranks.returncode == 0, ranks.stderr[-3000:]
    assert_same_curve(tmp_path / "two", tmp_path / "one")
    predictions = (tmp_path / "two" / records.PREDICTIONS_FILE).read_text()
    assert predictions == (tmp_path / "one" / records.PREDICTIONS_FILE).read_text()
    result = records.read_result(tmp_path / "two")
    assert result["world_size"] == 2 and one["world_size"] == 1
    assert (result["best_step"], result["test_at_best"]) == (one["best_step"], one["test_at_best"])
    # Rank 0 alone writes the records (each line once), and every rank's stderr is prefixed.
    assert sorted(path.name for path in (tmp_path / "two").iterdir()) == sorted(
        [records.METRICS_FILE, records.PREDICTIONS_FILE, records.RESULT_FILE]
    )
    assert "[rank0]: " in ranks.stderr  # rank 1, which loads no weights, has nothing to say
    assert ranks.stdout.count("===== Train set") == 1
    assert (
        mezo_log.parse_closing_lines(ranks.stdout.splitlines()) is not None
    )  # read through the prefix


def test_a_rank_that_fails_ends_the_run_at_once_with_its_error(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    stamp = tmp_path / "fault_time"
    ranks = launch(trainer_args(tiny_model_dir, tmp_path / "job"), fault="1:2:raise", stamp=stamp)
    ended = time.time()
    assert ranks.returncode == 1
    expected = "ChildFailedError: rank 1: RuntimeError: injected fault on rank 1 at step 2"
    assert ranks.stderr.strip().splitlines()[-1] == expected
    assert "[rank1]: RuntimeError: injected fault" in ranks.stderr  # its traceback, prefixed
    # What the job records as its error (zo_sweep.sweep.job_result) is that line.
    assert records.error_line(ranks.stderr.splitlines()) == expected
    assert ended - float(stamp.read_text()) < 30, "the other rank was stopped, not left waiting"
    assert not (tmp_path / "job" / records.RESULT_FILE).exists()


def test_sigterm_then_the_same_command_goes_on_like_an_uninterrupted_run(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    # LoRA: the checkpoint holds the adapters, AdamW's moments and the best state (dev is
    # best at step 4, never beaten after).
    settings = {"mode": "lora", "lr": 0.1, "bs": 4, "steps": 6, "log_steps": 2}
    settings["checkpoint_steps"] = 2
    args = trainer_args(tiny_model_dir, tmp_path / "job", **settings)
    stopped = launch(args, fault="0:4:sigterm")  # SIGTERM to the launcher, as SLURM sends it
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    progress = json.loads((tmp_path / "job" / "checkpoint" / PROGRESS_FILE).read_text())
    assert 4 <= progress["step"] < 6 and progress["world_size"] == 2
    assert not (tmp_path / "job" / records.RESULT_FILE).exists()
    went_on = launch(args)
    assert went_on.returncode == 0, went_on.stderr[-3000:]
    assert main(trainer_args(tiny_model_dir, tmp_path / "whole", **settings)) == 0
    assert_same_curve(tmp_path / "job", tmp_path / "whole")
    assert not (tmp_path / "job" / "checkpoint").exists(), "a finished run keeps no checkpoint"
    result = records.read_result(tmp_path / "job")
    whole = records.read_result(tmp_path / "whole")
    assert whole["best_step"] == 4, "the best state came from the checkpoint"
    for key in ("best_dev", "best_step", "test_at_best", "final_dev", "steps_done"):
        assert result[key] == whole[key], key


def test_mezo_stopped_on_two_ranks_goes_on_from_its_trajectory_like_one_rank(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Rank 0 alone writes the trajectory; each rank of the resumed run replays it onto its
    own shards, and the run takes the steps of one rank never stopped."""
    settings = {"trainer": "zo", "lr": 1e-3, "eps": 1e-2, "steps": 6, "checkpoint_steps": 2}
    args = trainer_args(tiny_model_dir, tmp_path / "job", **settings)
    stopped = launch(args, fault="0:4:sigterm")
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    saved = Trajectory.load(tmp_path / "job" / TRAJECTORY_FILE)
    assert 2 <= saved.steps < 6
    assert not (tmp_path / "job" / records.RESULT_FILE).exists()
    went_on = launch(args)
    assert went_on.returncode == 0, went_on.stderr[-3000:]
    assert Trajectory.load(tmp_path / "job" / TRAJECTORY_FILE).steps == 6
    assert main(trainer_args(tiny_model_dir, tmp_path / "whole", **settings)) == 0
    assert_same_curve(tmp_path / "job", tmp_path / "whole")
    result = records.read_result(tmp_path / "job")
    whole = records.read_result(tmp_path / "whole")
    assert result["world_size"] == 2 and result["zo_weights"] == whole["zo_weights"]
    for key in ("best_dev", "best_step", "test_at_best", "final_dev", "steps_done"):
        assert result[key] == whole[key], key


def test_the_launcher_runs_the_trainer_on_each_node_of_a_slurm_job() -> None:
    command = rank_command(4, ["--config", "train.yaml"], python="python")
    assert command == [
        *("python", "-m", "zo_sweep.train.launch", "--nproc-per-node=4"),
        *("--config", "train.yaml"),
    ]
    assert rendezvous_args({}) == ["--standalone"]  # one node: a free port of its own
    assert rendezvous_args({"SLURM_STEP_NUM_NODES": "1", "SLURM_JOB_ID": "7"}) == ["--standalone"]
    # An salloc shell of two nodes runs one launcher: it meets no other.
    assert rendezvous_args({"SLURM_NNODES": "2", "SLURM_JOB_ID": "7"}) == ["--standalone"]
    slurm = {"SLURM_STEP_NUM_NODES": "2", "SLURM_JOB_ID": "12345", "SLURM_NODEID": "1",
             "SLURM_STEP_NODELIST": "gpu[03-04]", "SLURM_JOB_NODELIST": "gpu[01-04]"}  # fmt: skip
    assert step_nodes(slurm) == (1, 2) and step_nodes({}) == (0, 1)
    assert rendezvous_args(slurm) == [
        "--nnodes=2",
        "--node-rank=1",
        "--rdzv-backend=static",
        "--master-addr=gpu03",
        "--master-port=29745",
    ]
    assert first_host("node[007-009,012],cpu1") == "node007"
    # A LoRA rank given as RANK reaches the ranks, whose RANK torchrun sets to their own.
    assert lora_rank_args(["--mode", "lora"], {"RANK": "16"}) == ["--rank", "16", "--mode", "lora"]
    assert lora_rank_args(["--config", "train.yaml"], {"RANK": "16"}) == ["--config", "train.yaml"]


def test_a_rank_takes_its_share_of_a_batch_in_order() -> None:
    items = list(range(7))
    shares = [Ranks(rank=rank, world=3).share(items) for rank in range(3)]
    assert shares == [[0, 1], [2, 3], [4, 5, 6]]
    assert [Ranks(rank=rank, world=2).share([9]) for rank in range(2)] == [[], [9]]
