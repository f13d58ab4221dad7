"""The verdict at the end of a sweep: best lr per cell, and what to change in the grid."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import yaml
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
    # A coarse grid is extended by a decade at most; with no usable neighbour, not at all.
    assert next_lr([1e-6, 0.5], 1e-6) == 1e-7
    assert next_lr([1e-6, 0.5], 1e-6, finished=[1e-6]) is None


def test_a_failed_lr_is_no_grid_step(tmp_path: Path) -> None:
    """`lr=1e-6,0.5` with 0.5 failed once said `extend it to 2e-12`."""
    write_job(tmp_path, lr=1e-6, result=ok_result(0.7, 0.69))
    write_job(tmp_path, lr=0.5, result={"status": "failed", "error": "CUDA error"})
    assert sweep_verdict(tmp_path).splitlines()[1:] == [
        "  llama1b copa zo original: lr 1e-06: dev 0.700, test 0.690 (1 seed, zero-shot dev 0.500)",
        "    warning: no finished run at lr 0.5 (1 failed)",
    ]
    write_job(tmp_path, lr=0.5, result=ok_result(0.6, 0.6))  # both ran: a decade further down
    assert sweep_verdict(tmp_path).splitlines()[2] == (
        "    warning: best lr at the edge of the grid: extend it to 1e-07"
    )


def test_lrs_that_tie_on_dev_are_no_edge_of_the_grid(tmp_path: Path) -> None:
    for lr in (1e-7, 1e-6, 1e-5):
        write_job(tmp_path, lr=lr, result=ok_result(0.7, 0.6))
    assert sweep_verdict(tmp_path).splitlines()[2:] == [
        "    warning: all 3 lrs tie on dev (0.700): the grid does not tell them apart"
    ]
    write_job(tmp_path, lr=1e-7, result=ok_result(0.6, 0.6))
    assert sweep_verdict(tmp_path).splitlines()[1:] == [
        "  llama1b copa zo original: lr 1e-06: dev 0.700, test 0.600 (1 seed, zero-shot dev 0.500)",
        "    warning: lr 1e-05 ties with it on dev",
    ]


def test_a_job_without_a_readable_config_is_no_cell(tmp_path: Path) -> None:
    """After a disk-full run the verdict printed `nan nan nan nan: no finished run`."""
    write_job(tmp_path, seed=0, result=ok_result(0.7, 0.6))
    broken = write_job(tmp_path, seed=1, result=None)
    (broken / ".hydra" / "config.yaml").write_text("")
    lines = sweep_verdict(tmp_path).splitlines()
    assert "nan" not in "\n".join(lines) and len(lines) == 3
    assert lines[2] == (
        f"  not counted: 1 job without a readable config ({broken}/.hydra/config.yaml: "
        "corrupt config file (not a mapping))"
    )


# What Hydra's Optuna sweeper leaves in each job's .hydra/hydra.yaml (search=optuna).
SEARCHED_RANGE = "hydra:\n  sweeper:\n    params:\n      lr: tag(log, interval(1e-07, 0.001))\n"


def test_the_search_names_the_lr_it_found_and_its_range_not_the_draws(tmp_path: Path) -> None:
    """After an Optuna search the verdict named an lr other than the search's best."""
    for lr in (3.3e-7, 1.2345678e-6, 4.4e-5):
        job = write_job(tmp_path, lr=lr, result=ok_result(0.7 if lr < 4e-5 else 0.6, 0.6))
        (job / ".hydra" / "hydra.yaml").write_text(SEARCHED_RANGE)
    sweep = tmp_path / "paper" / "2024-05-01_10-00-00"
    (sweep / "optimization_results.yaml").write_text(
        "name: optuna\nbest_params:\n  lr: 1.2345678e-06\nbest_value: 0.7\n"
    )
    assert sweep_verdict(sweep).splitlines()[1:] == [
        "  llama1b copa zo original: lr 1.2345678e-06: dev 0.700, test 0.600 "
        "(1 seed, zero-shot dev 0.500)",
        "    warning: lr 3.3e-07 ties with it on dev",
    ]
    (sweep / "optimization_results.yaml").write_text("best_params:\n  lr: 3.3e-07\n")
    assert sweep_verdict(sweep).splitlines()[2:] == [
        "    warning: lr 1.2345678e-06 ties with it on dev"
    ]
    job = write_job(tmp_path, lr=1.2e-7, result=ok_result(0.8, 0.6))
    (job / ".hydra" / "hydra.yaml").write_text(SEARCHED_RANGE)
    (sweep / "optimization_results.yaml").write_text("best_params:\n  lr: 1.2e-07\n")
    # A clear winner drawn near the bottom of the searched range: widen the range.
    assert sweep_verdict(sweep).splitlines()[2:] == [
        "    warning: best lr near the lower bound of the searched range (1e-07): "
        "widen hydra.sweeper.params.lr"
    ]


def test_an_optuna_sweep_ends_with_the_lr_optuna_found(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        "-m", "search=optuna", "hydra.sweeper.n_trials=3", f"method.script={probe}",
        f"output_root={tmp_path / 'out'}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found = yaml.safe_load(next((tmp_path / "out").rglob("optimization_results.yaml")).read_text())
    verdict = done.stdout[done.stdout.index("verdict") :].splitlines()
    named = verdict[1].split(": lr ")[1].split(":")[0]
    assert float(named) == found["best_params"]["lr"]


def test_resumed_jobs_count_in_the_verdict_as_in_the_best_view(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After resume=true the verdict left the skipped jobs out (2 seeds where best said 3), and
    printed nothing when every job was skipped."""
    probe = write_probe(tmp_path / "probe")
    common = ("lr=1e-4", f"method.script={probe}", f"output_root={tmp_path / 'out'}")
    first = run_sweep("-m", "seed=0", *common)
    assert first.returncode == 0, first.stderr[-2000:]
    for _ in range(2):  # seed 0 skipped, then every job skipped
        done = run_sweep("-m", "seed=0,1", "resume=true", *common)
        assert done.returncode == 0, done.stderr[-2000:]
        verdict = done.stdout[done.stdout.index("verdict") :].splitlines()
        assert verdict[1] == (
            "  smollm2_135m sst2 zo original: lr 0.0001: dev 1.000, test n/a "
            "(2 seeds, zero-shot dev n/a)"
        )
    assert "2 jobs: 2 skipped" in done.stdout
    assert main([str(tmp_path / "out"), "--view", "best", "--format", "csv"]) == 0
    best = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert best["seeds"].tolist() == [2] and best["dev_mean"].tolist() == [pytest.approx(0.9999)]


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
