"""The verdict at the end of a sweep: best lr per cell, and what to change in the grid."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from helpers.sweep import run_sweep, write_probe
from test_summary_support import ok_result, write_job

from zo_sweep.summary.cli import main
from zo_sweep.summary.verdict import next_lr, sweep_verdict


def test_best_lr_at_the_top_of_the_grid_asks_to_extend_it(tmp_path: Path) -> None:
    for lr, dev in [(1e-7, 0.55), (2e-7, 0.6), (5e-7, 0.65), (1e-6, 0.7)]:
        write_job(tmp_path, lr=lr, result=ok_result(dev, dev - 0.01))
    lines = sweep_verdict(tmp_path).splitlines()
    assert lines[0].startswith("verdict")
    assert lines[1] == (
        "  llama1b copa zo original: lr 1e-06: dev 0.700, test 0.690 (1 seed, zero-shot dev 0.500)"
    )
    assert lines[2] == "    warning: best lr at the edge of the grid: extend it to 2e-06"


def test_no_gain_and_divergence_are_warned_about(tmp_path: Path) -> None:
    write_job(tmp_path, lr=1e-6, result=ok_result(0.5, 0.5, best_step=0))
    write_job(tmp_path, lr=1e-5, result={"status": "diverged", "best_dev": 0.5})
    write_job(tmp_path, lr=1e-4, result={"status": "diverged"})
    warnings = [line.strip() for line in sweep_verdict(tmp_path).splitlines()[2:]]
    assert warnings == [
        "warning: best lr at the edge of the grid: extend it to 1e-07",
        "warning: no gain over zero-shot (1/1 seeds best at step 0)",
        "warning: diverged at lr >= 1e-05",
    ]


def test_a_best_lr_inside_the_grid_gives_no_warning(tmp_path: Path) -> None:
    for lr, dev in [(1e-7, 0.6), (1e-6, 0.8), (1e-5, 0.7)]:
        for seed in range(2):
            write_job(tmp_path, lr=lr, seed=seed, result=ok_result(dev, dev))
    lines = sweep_verdict(tmp_path).splitlines()
    assert len(lines) == 2 and "lr 1e-06" in lines[1] and "(2 seeds" in lines[1]


def test_each_cell_gets_its_own_line_and_dry_runs_none(tmp_path: Path) -> None:
    write_job(tmp_path, result=ok_result(0.6, 0.6))
    write_job(tmp_path, data="synthetic", result=ok_result(0.7, 0.7))
    write_job(tmp_path / "wd", extra_env={"WD": 0.1}, result=ok_result(0.8, 0.8))
    lines = sweep_verdict(tmp_path).splitlines()[1:]
    assert sorted(line.split(":")[0].strip() for line in lines) == [
        "llama1b copa zo original",
        "llama1b copa zo original extra_env.WD=0.1",
        "llama1b copa zo synthetic",
    ]
    assert sweep_verdict(tmp_path / "nothing") == ""
    write_job(tmp_path / "dry", result={"status": "dry_run"})
    assert sweep_verdict(tmp_path / "dry") == ""


def test_next_lr_steps_one_grid_ratio_beyond_the_edge() -> None:
    assert next_lr([1e-4, 1e-3], 1e-3) == 1e-2
    assert next_lr([1e-7, 2e-7, 5e-7], 1e-7) == 5e-8
    assert next_lr([1e-7, 2e-7, 5e-7], 2e-7) is None
    assert next_lr([1e-6], 1e-6) is None


def test_a_probe_sweep_over_an_extra_setting_ends_with_a_verdict_per_cell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        "-m", "lr=1e-4,1e-5", "+extra_env.MY_FLAG=0,0.02", f"method.script={probe}",
        f"output_root={tmp_path / 'out'}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    verdict = done.stdout[done.stdout.index("verdict") :].splitlines()
    # The probe's dev is 1 - lr: the smallest lr wins, at the edge of the grid.
    assert [line for line in verdict if line.startswith("  ")] == [
        "  smollm2_135m sst2 zo original extra_env.MY_FLAG=0: lr 1e-05: dev 1.000, test n/a "
        "(1 seed, zero-shot dev n/a)",
        "    warning: best lr at the edge of the grid: extend it to 1e-06",
        "  smollm2_135m sst2 zo original extra_env.MY_FLAG=0.02: lr 1e-05: dev 1.000, test n/a "
        "(1 seed, zero-shot dev n/a)",
        "    warning: best lr at the edge of the grid: extend it to 1e-06",
    ]
    assert main([str(tmp_path / "out"), "--view", "best", "--format", "csv"]) == 0
    best = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert best["extra_env.MY_FLAG"].tolist() == [0, 0.02] and best["configs_tried"].tolist() == [
        2,
        2,
    ]
