"""End to end: sweeps through the project's own scripts and trainer, on the tiny random model."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.sweep import job_results, run_sweep

TINY_RUN = ("steps=2", "num_train=8", "num_dev=8", "num_eval=8", "eval_steps=1")


def _tiny_model(model_dir: Path) -> tuple[str, str]:
    return (f"model.id={model_dir}", "model.name=tiny")


def test_basic_sweep_trains_and_records(tmp_path: Path, tiny_model_dir: Path) -> None:
    done = run_sweep(
        *_tiny_model(tiny_model_dir), "task=sst2", "method=zo", "-m", "lr=1e-4,1e-5", *TINY_RUN,
        f"output_root={tmp_path}", timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 jobs: 2 ok" in done.stdout
    results = job_results(tmp_path)
    assert len(results) == 2
    assert sorted(results) == ["lr=0.0001", "lr=1e-05"]
    for result_path in tmp_path.rglob("result.json"):
        job_dir = result_path.parent
        result = json.loads(result_path.read_text())
        assert result["status"] == "ok" and result["exit_code"] == 0
        assert 0.0 <= result["best_dev"] <= 1.0
        assert result["steps_done"] == 2
        assert (job_dir / "metrics.jsonl").read_text().strip()
        assert "-m zo_sweep.train --config" in (job_dir / "command.sh").read_text()


def test_optuna_three_trials_on_lora(tmp_path: Path, tiny_model_dir: Path) -> None:
    done = run_sweep(
        *_tiny_model(tiny_model_dir), "task=copa", "method=fo_lora", "-m", "search=optuna_lora",
        "hydra.sweeper.n_trials=3", *TINY_RUN, f"output_root={tmp_path}", timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = job_results(tmp_path)
    assert len(results) == 3
    assert all(r["status"] == "ok" for r in results.values())
    assert all(name.startswith("lr=") and ",rank=" in name for name in results)
    assert (next(tmp_path.rglob("optimization_results.yaml"))).exists()
