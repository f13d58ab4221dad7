"""The views: runs, best (seeds aggregated), compare (method x data, deltas), failures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_summary_support import ok_result, write_job

from zo_sweep.summary import load, views

LATER = "2024-06-01_09-00-00"


def build_grid(root: Path) -> None:
    """zo on original and synthetic data, two lrs, three seeds; fo_full on original only."""
    devs = {1e-6: [0.70, 0.72, 0.74], 1e-7: [0.60, 0.61, 0.62]}
    for lr, seed_devs in devs.items():
        for seed, dev in enumerate(seed_devs):
            # Test is higher at the worse-dev lr: the best lr must be chosen by dev, not test.
            test = dev - 0.05 if lr == 1e-6 else 0.9
            write_job(root, lr=lr, seed=seed, result=ok_result(dev, test))
            write_job(
                root, lr=lr, seed=seed, data="synthetic", result=ok_result(dev + 0.1, test + 0.02)
            )
    write_job(root, lr=1e-5, method="fo_full", result=ok_result(0.8, 0.78))


def test_best_picks_the_lr_by_mean_dev_and_aggregates_seeds(tmp_path: Path) -> None:
    build_grid(tmp_path)
    table = views.best(load(tmp_path)).set_index(["method", "data"])
    zo = table.loc[("zo", "original")]
    assert zo["lr"] == pytest.approx(1e-6)
    assert zo["dev_mean"] == pytest.approx(0.72)
    assert zo["test_mean"] == pytest.approx(0.67)
    assert zo["test_std"] == pytest.approx(0.02)
    assert zo["seeds"] == 3 and zo["configs_tried"] == 2
    fo = table.loc[("fo_full", "original")]
    assert fo["seeds"] == 1 and pd.isna(fo["test_std"])
    assert len(table) == 3


def test_a_repeated_sweep_counts_each_seed_once_latest_wins(tmp_path: Path) -> None:
    write_job(tmp_path, seed=0, result=ok_result(0.5, 0.5))
    write_job(tmp_path, seed=0, timestamp=LATER, result=ok_result(0.7, 0.6))
    write_job(tmp_path, seed=1, result=ok_result(0.9, 0.8))
    winner = views.best(load(tmp_path)).iloc[0]
    assert winner["seeds"] == 2
    assert winner["dev_mean"] == pytest.approx(0.8)  # (0.7 + 0.9) / 2: the later seed-0 run


def test_unfinished_jobs_do_not_count(tmp_path: Path) -> None:
    write_job(tmp_path, seed=0, result=ok_result(0.6, 0.6))
    write_job(
        tmp_path, seed=1, result={"status": "diverged", "best_dev": 0.99, "test_at_best": 0.99}
    )
    write_job(tmp_path, seed=2, result=None)
    winner = views.best(load(tmp_path)).iloc[0]
    assert winner["seeds"] == 1 and winner["test_mean"] == pytest.approx(0.6)


def test_skipped_job_counts_once_and_only_when_its_source_is_absent(tmp_path: Path) -> None:
    source = write_job(tmp_path / "a", seed=0, result=ok_result(0.8, 0.7))
    skipped = {"status": "skipped", "skipped_from": str(source)}
    write_job(tmp_path / "b", seed=0, timestamp=LATER, result=skipped)
    assert views.best(load(tmp_path)).iloc[0]["seeds"] == 1
    only_resumed = views.best(load(tmp_path / "b")).iloc[0]
    assert only_resumed["seeds"] == 1 and only_resumed["test_mean"] == pytest.approx(0.7)


def test_compare_has_method_x_data_columns_and_synthetic_minus_original(tmp_path: Path) -> None:
    build_grid(tmp_path)
    write_job(tmp_path, task="rte", result=ok_result(0.6, 0.55))
    table = views.compare(load(tmp_path))
    assert list(table.columns) == [
        "model",
        "task",
        "metric",
        "zo original",
        "zo synthetic",
        "zo synthetic-original",
        "fo_full original",
    ]
    copa = table.set_index("task").loc["copa"]
    assert copa["metric"] == "test accuracy"
    assert copa["zo original"].mean == pytest.approx(0.67)
    assert copa["zo original"].std == pytest.approx(0.02) and copa["zo original"].seeds == 3
    assert copa["zo synthetic"].mean == pytest.approx(0.69)
    # No predictions.jsonl in these jobs: the delta has no interval.
    assert copa["zo synthetic-original"].value == pytest.approx(0.02)
    assert copa["zo synthetic-original"].low is None
    assert copa["fo_full original"].mean == pytest.approx(0.78) and copa["fo_full original"].best
    assert not copa["zo synthetic"].best
    rte = table.set_index("task").loc["rte"]
    assert rte["zo original"].mean == pytest.approx(0.55) and pd.isna(rte["zo synthetic"])


def test_failures_lists_every_unfinished_job_with_its_last_error_line(tmp_path: Path) -> None:
    write_job(tmp_path, seed=0, result=ok_result(0.6, 0.6))
    write_job(tmp_path, seed=1, result={"status": "failed", "error": "exit 1\nOOM"})
    write_job(tmp_path, seed=2, result=None, age_s=7200, stderr="RuntimeError: boom\n")
    write_job(tmp_path, seed=3, result={"status": "skipped"})
    write_job(tmp_path, seed=4, result={"status": "timeout", "error": "no output for 60 min"})
    table = views.failures(load(tmp_path))
    assert table["seed"].tolist() == [1, 2, 4]
    assert table["status"].tolist() == ["failed", "missing", "timeout"]
    assert table["error"].tolist() == ["OOM", "RuntimeError: boom", "no output for 60 min"]


def test_runs_lists_every_job_and_views_accept_an_empty_frame(tmp_path: Path) -> None:
    build_grid(tmp_path)
    assert len(views.runs(load(tmp_path))) == 13
    empty = load(tmp_path / "nothing")
    for view in views.VIEWS.values():
        assert view(empty).empty
