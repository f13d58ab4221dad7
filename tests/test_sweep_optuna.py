"""search=optuna: Optuna draws learning rates on a log scale and maximises the dev metric."""

from __future__ import annotations

import math
from pathlib import Path

import yaml
from helpers.sweep import job_results, run_sweep, write_probe


def test_optuna_three_trials_maximise_and_failures_never_win(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        "-m", "search=optuna", "hydra.sweeper.n_trials=3", "lr=tag(log,interval(1e-4,1))",
        f"method.script={probe}", f"output_root={tmp_path}",
        env={"FAIL_BELOW_LR": "0.02"},
    )  # fmt: skip
    results = job_results(tmp_path)
    assert len(results) == 3, done.stderr
    lrs = {name: float(name.removeprefix("lr=")) for name in results}
    assert all(1e-4 <= lr <= 1 for lr in lrs.values())
    # The sampler is seeded: its three draws give good and failing jobs.
    statuses = sorted(r["status"] for r in results.values())
    assert statuses == ["failed", "ok", "ok"]
    assert done.returncode == 1 and "3 jobs: 2 ok, 1 failed" in done.stdout

    # The probe scores 1 - lr, so the failed trial (the smallest lr) would have been best.
    (failed,) = [name for name, r in results.items() if r["status"] == "failed"]
    assert lrs[failed] == min(lrs.values())
    ok = {name: r["best_dev"] for name, r in results.items() if r["status"] == "ok"}
    best = max(ok, key=ok.get)
    (summary_path,) = tmp_path.rglob("optimization_results.yaml")
    summary = yaml.safe_load(summary_path.read_text())
    assert math.isclose(summary["best_value"], ok[best])
    assert math.isclose(summary["best_params"]["lr"], lrs[best])


def test_optuna_lora_searches_rank_as_a_choice() -> None:
    done = run_sweep("search=optuna_lora", "method=fo_lora", "--cfg", "hydra")
    assert done.returncode == 0, done.stderr
    assert "rank: choice(4, 8, 16, 32)" in done.stdout
    assert "lr: tag(log, interval(1e-6, 1e-2))" in done.stdout
    assert "direction: maximize" in done.stdout
