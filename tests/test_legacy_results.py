"""Old results (results/<Model>/<Task>/<method>/<data>/<lr>_<tag>.out/.err) as summary rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from zo_sweep.legacy.cli import main
from zo_sweep.legacy.summary_rows import read_rows
from zo_sweep.summary import load
from zo_sweep.summary.cli import main as summary_main

FINISHED = """step 100 loss 0.7
===== Train set 0 =====
{'accuracy': 0.5, 'dev_accuracy': 0.25}
===== Train set 0 =====
{'accuracy': 0.75, 'dev_accuracy': 0.5}
"""


def old_results(root: Path) -> Path:
    """A hand-built old results tree: finished, killed, logged to stderr, and a stray file."""
    results = root / "results"
    copa = results / "Llama-3.2-1B" / "Copa" / "zo" / "original"
    copa.mkdir(parents=True)
    (copa / "1e-6_original.out").write_text(FINISHED)
    (copa / "1e-6_original.err").write_text("")
    (copa / "5e-7_original.out").write_text("step 100 loss 0.7\n===== Train set 0 =====\n{'accur")
    (copa / "5e-7_original.err").write_text("Traceback ...\nKilled\n")
    cb = results / "Mistral-7B-v0.1" / "CB" / "fo_lora" / "synthetic"
    cb.mkdir(parents=True)
    (cb / "1e-4_rk8n16_synthetic.err").write_text(
        "INFO - ===== Train set 0 =====\nINFO - {'accuracy': 0.8, 'macro_f1': 0.6, 'dev_accuracy': 0.9}\n"
    )
    (cb / "notes.out").write_text("not a run\n")
    return results


def by_lr(rows: list[dict]) -> dict[float | None, dict]:
    return {row["lr"]: row for row in rows}


def test_rows_of_an_old_results_tree(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match=r"notes\.out: no learning rate"):
        rows = by_lr(read_rows(old_results(tmp_path)))
    assert set(rows) == {1e-6, 5e-7, 1e-4}
    finished = rows[1e-6]
    assert finished["status"] == "legacy" and finished["purpose"] == "legacy"
    assert (finished["model"], finished["task"], finished["method"], finished["data"]) == (
        "llama1b", "copa", "zo", "original",
    )  # fmt: skip
    assert (finished["best_dev"], finished["test_at_best"]) == (0.5, 0.75)  # the last pair
    assert finished["timestamp"] is not None
    killed = rows[5e-7]
    assert killed["status"] == "incomplete" and killed.get("best_dev") is None
    assert killed["error"] == "Killed (5e-7_original.err)"
    lora = rows[1e-4]
    assert (lora["model"], lora["task"], lora["data"], lora["rank"], lora["alpha"]) == (
        "mistral7b", "cb", "synthetic", 8, 16,
    )  # fmt: skip
    assert (lora["status"], lora["metric"], lora["best_dev"], lora["test_at_best"]) == (
        "legacy",
        "accuracy",
        0.9,
        0.8,
    )


def test_job_directories_are_not_old_results(tmp_path: Path) -> None:
    job = tmp_path / "outputs" / "zo" / "original" / "lr=1e-6"
    (job / ".hydra").mkdir(parents=True)
    (job / "train.out").write_text(FINISHED)
    assert read_rows(tmp_path / "outputs") == []


def test_summary_shows_old_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = old_results(tmp_path)
    with pytest.warns(UserWarning, match="notes.out"):
        frame = load(results)
    assert sorted(frame["status"]) == ["incomplete", "legacy", "legacy"]
    assert summary_main([str(results), "--view", "best", "--format", "csv"]) == 0
    best = capsys.readouterr().out.splitlines()
    assert len(best) == 3 and best[1].startswith("Llama-3.2-1B,COPA,MeZO,original")


def test_import_results_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = old_results(tmp_path)
    assert main(["import-results", str(results), "--out", str(tmp_path / "old.csv")]) == 0
    lines = (tmp_path / "old.csv").read_text().splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("purpose,timestamp,model,task,method,data,data_id,lr")
    err = capsys.readouterr().err
    assert "3 old runs (1 incomplete, 2 legacy), 1 log files skipped" in err
    assert "warning: skipped " in err and "notes.out: no learning rate" in err
    assert main(["import-results", str(tmp_path / "nowhere")]) == 2
