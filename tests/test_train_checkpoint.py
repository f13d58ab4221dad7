"""A first-order run's checkpoint on one rank: SIGTERM ends it after a step, saved; the same
command goes on from it as if never stopped; one checkpoint per job, swapped in whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.faulty_trainer import with_fault

from zo_sweep import records
from zo_sweep.train import checkpoint, steppers
from zo_sweep.train.cli import TERMINATED, main
from zo_sweep.train.distributed import Ranks
from zo_sweep.train.sources import load_settings
from zo_sweep.train.trajectory import identity


def args(model: Path, out: Path) -> list[str]:
    settings = {
        "model": model,
        "task": "sst2",
        "trainer": "regular",
        "mode": "ft",
        "lr": 1e-3,
        "bs": 4,
        "steps": 7,
        "train": 24,
        "dev": 8,
        "eval": 8,
        "eval_steps": 3,
        "log_steps": 2,
        "checkpoint_steps": 2,
        "device": "cpu",
        "output_dir": out,
    }
    return [
        arg for key, value in settings.items() for arg in (f"--{key.replace('_', '-')}", str(value))
    ]


def test_sigterm_then_the_same_command_goes_on_like_an_uninterrupted_run(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = tmp_path / "job"
    with monkeypatch.context() as patched:
        step = with_fault(steppers.FirstOrderStepper.step, "0:5:sigterm-self")
        patched.setattr(steppers.FirstOrderStepper, "step", step)
        assert main(args(tiny_model_dir, job)) == TERMINATED
    # Stopped after step 5, the one SIGTERM came in; saved after steps 2 and 4 before, of
    # which nothing is left: one checkpoint, with the loss of step 5 not yet logged.
    assert sorted(path.name for path in job.iterdir()) == ["checkpoint", records.METRICS_FILE]
    progress = json.loads((job / "checkpoint" / checkpoint.PROGRESS_FILE).read_text())
    assert progress["step"] == 5 and len(progress["pending"]) == 1
    best_kept = (job / "checkpoint" / "best_state.pt").exists()
    assert best_kept == (progress["outcome"]["best_step"] > 0)
    assert main(args(tiny_model_dir, job)) == 0
    assert main(args(tiny_model_dir, tmp_path / "whole")) == 0

    def without_time(job_dir: Path) -> list[dict]:
        return [
            {k: v for k, v in line.items() if k != "seconds"}
            for line in records.read_metrics(job_dir)
        ]

    assert without_time(job) == without_time(tmp_path / "whole")
    result, whole = records.read_result(job), records.read_result(tmp_path / "whole")
    for key in ("best_dev", "best_step", "test_at_best", "test_metrics", "steps_done"):
        assert result[key] == whole[key], key
    assert not (job / "checkpoint").exists()


def _checkpoint(folder: Path, step: int, config, world_size: int = 1) -> None:
    folder.mkdir(parents=True)
    header = {
        "format": checkpoint.FORMAT_VERSION,
        "world_size": world_size,
        "step": step,
        "config": identity(config),
        "outcome": {"status": records.OK},
    }
    (folder / checkpoint.PROGRESS_FILE).write_text(json.dumps(header))


def test_a_run_finds_the_whole_checkpoint_and_never_an_unfinished_one(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    config = load_settings(["--trainer", "regular", "--output-dir", str(tmp_path)], environ={})
    (tmp_path / "checkpoint.new").mkdir()  # a save cut short: no progress.json
    assert checkpoint.find(tmp_path, config, Ranks()) is None
    # Stopped between the two renames of a swap: the previous checkpoint, whole.
    _checkpoint(tmp_path / "checkpoint.old", 4, config)
    assert checkpoint.find(tmp_path, config, Ranks()).step == 4
    _checkpoint(tmp_path / "checkpoint", 6, config)
    assert checkpoint.find(tmp_path, config, Ranks()).step == 6
    assert checkpoint.find(tmp_path, config, Ranks(rank=0, world=2)) is None
    assert "written by 1 ranks, this run has 2" in capsys.readouterr().err
    other = load_settings(["--trainer", "regular", "--lr", "0.5"], environ={})
    assert checkpoint.find(tmp_path, other, Ranks()) is None


def test_checkpoint_steps_0_saves_nothing_even_on_sigterm(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = tmp_path / "job"
    never = [*args(tiny_model_dir, job), "--checkpoint-steps", "0"]
    assert main(never) == 0
    with monkeypatch.context() as patched:
        step = with_fault(steppers.FirstOrderStepper.step, "0:2:sigterm-self")
        patched.setattr(steppers.FirstOrderStepper, "step", step)
        assert main(never) == TERMINATED
    assert not (job / "checkpoint").exists()
