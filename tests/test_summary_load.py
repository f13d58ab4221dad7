"""load(): job directories -> one row per job, including the jobs that did not finish."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from test_summary_support import job_config, ok_result, write_config, write_job

from zo_sweep import records
from zo_sweep.summary import (
    COLUMNS,
    SummaryWarning,
    load,
    register_row_source,
    rows_to_frame,
    sources,
)
from zo_sweep.summary.sources import unregister_row_source


def test_finished_job_becomes_one_typed_row(tmp_path: Path) -> None:
    job = write_job(tmp_path, lr=1e-5, seed=2, method="fo_lora", result=ok_result(0.8, 0.75))
    frame = load(tmp_path)
    assert list(frame.columns) == COLUMNS
    row = frame.iloc[0]
    assert (row["purpose"], row["model"], row["task"], row["method"], row["data"]) == (
        "paper",
        "llama1b",
        "copa",
        "fo_lora",
        "original",
    )
    assert row["lr"] == pytest.approx(1e-5) and row["seed"] == 2 and row["bs"] == 16
    assert row["status"] == "ok" and row["best_dev"] == 0.8 and row["test_at_best"] == 0.75
    assert row["zero_shot_dev"] == 0.5 and row["best_step"] == 100 and row["steps_done"] == 100
    assert row["peak_memory_mb"] == 2048.0 and row["wall_seconds"] == 12.5
    assert row["timestamp"] == pd.Timestamp("2024-05-01 10:00:00")
    assert row["path"] == str(job)


def test_job_without_result_is_running_or_missing_by_recent_activity(tmp_path: Path) -> None:
    write_job(tmp_path, seed=0, result=None)
    write_job(tmp_path, seed=1, result=None, age_s=3600, stderr="Traceback\nKilled\n")
    frame = load(tmp_path).set_index("seed")
    assert frame.loc[0, "status"] == "running"
    assert frame.loc[1, "status"] == "missing"
    assert frame.loc[1, "error"] == "Killed"


def test_corrupt_result_warns_with_the_file_name_and_keeps_the_row(tmp_path: Path) -> None:
    job = write_job(tmp_path, result=None)
    (job / records.RESULT_FILE).write_text('{"status": "ok", "best_dev": ')
    with pytest.warns(SummaryWarning, match=str(job / records.RESULT_FILE)):
        frame = load(tmp_path)
    assert frame["status"].tolist() == ["corrupt"]
    assert frame.loc[0, "model"] == "llama1b"
    assert str(job / records.RESULT_FILE) in frame.loc[0, "error"]


@pytest.mark.parametrize("text", ["model: [unclosed\n", "just a string\n", ""])
def test_corrupt_config_warns_and_keeps_the_row(tmp_path: Path, text: str) -> None:
    job = write_job(tmp_path, result=ok_result(0.7, 0.6))
    (job / ".hydra" / "config.yaml").write_text(text)
    with pytest.warns(SummaryWarning, match="config.yaml"):
        frame = load(tmp_path)
    assert frame.loc[0, "status"] == "corrupt"
    assert frame.loc[0, "best_dev"] == 0.7  # what could be read is still shown


def test_result_without_status_is_corrupt(tmp_path: Path) -> None:
    write_job(tmp_path, result={"best_dev": 0.5})
    with pytest.warns(SummaryWarning, match="no status"):
        assert load(tmp_path).loc[0, "status"] == "corrupt"


def test_failed_job_shows_the_last_line_of_its_error(tmp_path: Path) -> None:
    write_job(
        tmp_path, seed=0, result={"status": "failed", "error": "exit code 1\nCUDA out of memory"}
    )
    write_job(
        tmp_path,
        seed=1,
        result={"status": "failed", "error_tail": ["Traceback", "ValueError: bad lr"]},
    )
    write_job(
        tmp_path, seed=2, result={"status": "diverged"}, stderr="step 1\rstep 2\rloss is nan\n"
    )
    errors = load(tmp_path).set_index("seed")["error"]
    assert errors.tolist() == ["CUDA out of memory", "ValueError: bad lr", "loss is nan"]


def test_skipped_job_takes_the_metrics_of_the_job_it_points_at(tmp_path: Path) -> None:
    source = write_job(tmp_path, result=ok_result(0.9, 0.85))
    write_job(
        tmp_path / "later",
        timestamp="2024-06-01_00-00-00",
        result={"status": "skipped", "skipped_from": str(source)},
    )
    frame = load(tmp_path).set_index("status")
    assert frame.loc["skipped", "best_dev"] == 0.9
    assert frame.loc["skipped", "skipped_from"] == str(source)


def test_single_run_layout_and_a_job_dir_given_directly(tmp_path: Path) -> None:
    job = tmp_path / "paper" / "llama1b" / "copa_zo_original" / "2024-07-02_08-30-00"
    write_config(job, job_config())
    frame = load(job)
    assert frame.loc[0, "timestamp"] == pd.Timestamp("2024-07-02 08:30:00")
    assert frame.loc[0, "status"] == "running"


def test_interpolated_hyperparameter_is_resolved(tmp_path: Path) -> None:
    write_job(tmp_path, result=ok_result(0.5, 0.5), seed="${bs}")
    assert load(tmp_path).loc[0, "seed"] == 16


def test_hidden_and_empty_dirs_are_ignored_and_missing_root_gives_empty_frame(
    tmp_path: Path,
) -> None:
    (tmp_path / ".gpu_locks" / "x").mkdir(parents=True)
    (tmp_path / "paper" / "empty").mkdir(parents=True)
    assert load(tmp_path).empty
    frame = load(tmp_path / "nowhere")
    assert frame.empty and list(frame.columns) == COLUMNS


def test_extra_rows_and_registered_sources_join_the_frame(tmp_path: Path) -> None:
    write_job(tmp_path, result=ok_result(0.6, 0.6))
    old = tmp_path / "results"
    old.mkdir()

    def read_old_results(root: Path) -> list[dict]:
        if root != old:
            return []
        return [
            {"model": "llama1b", "task": "copa", "status": "legacy", "best_dev": 0.7, "lr": "1e-6"}
        ]

    register_row_source("old", read_old_results)
    try:
        frame = load([tmp_path, old], extra_rows=[{"model": "m", "status": "legacy", "note": "x"}])
    finally:
        unregister_row_source("old")
    assert sorted(frame["status"]) == ["legacy", "legacy", "ok"]
    assert frame.loc[frame["best_dev"] == 0.7, "lr"].item() == pytest.approx(1e-6)
    assert list(frame.columns) == [*COLUMNS, "note"]


def test_rows_to_frame_types_every_column() -> None:
    frame = rows_to_frame([{"lr": "2e-5", "timestamp": "2024-01-02_03-04-05", "status": "ok"}, {}])
    assert frame["lr"].dtype == "float64" and frame.loc[0, "lr"] == pytest.approx(2e-5)
    assert math.isnan(frame.loc[1, "lr"])
    assert frame.loc[0, "timestamp"] == pd.Timestamp("2024-01-02 03:04:05")
    assert pd.isna(frame.loc[1, "status"])


def test_plugin_readers_are_imported_when_present_and_skipped_when_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    (plugin_dir / "old_results_plugin.py").write_text(
        "def read_rows(root):\n    return [{'model': 'old', 'status': 'legacy', 'path': str(root)}]\n"
    )
    monkeypatch.syspath_prepend(str(plugin_dir))
    monkeypatch.setattr(
        sources,
        "PLUGIN_READERS",
        {"old": "old_results_plugin:read_rows", "absent": "no_such_plugin_module:read_rows"},
    )
    frame = load(tmp_path / "results")
    assert frame["model"].tolist() == ["old"] and frame["status"].tolist() == ["legacy"]
