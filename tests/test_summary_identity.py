"""Never merge what differs: a configuration is every training setting of the job's config."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_summary_support import ok_result, write_job

from zo_sweep.summary import load, views
from zo_sweep.summary.identity import config_id, training_settings

LATER = "2024-06-01_09-00-00"


def test_an_extra_env_setting_makes_two_configurations_in_runs_and_best(tmp_path: Path) -> None:
    for wd, dev in [(0, 0.6), (0.02, 0.8)]:
        for lr in (1e-6, 1e-7):
            write_job(
                tmp_path / f"wd{wd}",
                lr=lr,
                extra_env={"WD": wd},
                result=ok_result(dev if lr == 1e-6 else 0.5, 0.7),
            )
    frame = load(tmp_path)
    runs = views.runs(frame)
    assert "extra_env.WD" in runs.columns
    assert sorted(runs["extra_env.WD"]) == ["0", "0", "0.02", "0.02"]
    best = views.best(frame)
    assert len(best) == 2
    assert best.set_index("extra_env.WD")["dev_mean"].to_dict() == {"0": 0.6, "0.02": 0.8}
    assert best["configs_tried"].tolist() == [2, 2] and best["seeds"].tolist() == [1, 1]
    compare = views.compare(frame)
    assert compare["extra_env.WD"].tolist() == ["0", "0.02"]
    assert [cell.mean for cell in compare["zo original"]] == [0.7, 0.7]


def test_two_datasets_under_one_purpose_are_never_merged(tmp_path: Path) -> None:
    for name, dev in [("v1", 0.6), ("v2", 0.9)]:
        data = {"name": "original", "root": f"/data/{name}"}
        write_job(tmp_path / name, data=data, result=ok_result(dev, dev))
    best = views.best(load(tmp_path))
    assert best["data.root"].tolist() == ["/data/v1", "/data/v2"]
    assert best["seeds"].tolist() == [1, 1] and best["dev_mean"].tolist() == [0.6, 0.9]


def test_only_a_rerun_of_the_same_configuration_and_seed_is_dropped(tmp_path: Path) -> None:
    write_job(tmp_path, seed=0, result=ok_result(0.5, 0.5))
    write_job(tmp_path, seed=0, timestamp=LATER, result=ok_result(0.7, 0.7))
    # Same seed and lr, but 200 steps: another configuration, kept.
    write_job(tmp_path / "long", seed=0, steps=200, timestamp=LATER, result=ok_result(0.9, 0.9))
    frame = load(tmp_path)
    assert views.dropped_reruns(frame) == 1
    best = views.best(frame).set_index("steps")
    assert best.loc[100, "dev_mean"] == 0.7 and best.loc[200, "dev_mean"] == 0.9


def test_seeds_of_one_configuration_are_averaged_not_merged_with_others(tmp_path: Path) -> None:
    for seed, dev in enumerate([0.6, 0.8]):
        write_job(tmp_path, seed=seed, result=ok_result(dev, dev))
        write_job(tmp_path / "b", seed=seed, num_eval=500, result=ok_result(0.1, 0.1))
    best = views.best(load(tmp_path)).set_index("num_eval")
    assert best.loc["1000", "dev_mean"] == pytest.approx(0.7) and best.loc["1000", "seeds"] == 2
    assert best.loc["500", "dev_mean"] == pytest.approx(0.1)


def test_where_and_how_a_job_ran_is_not_part_of_its_configuration() -> None:
    base = {"lr": 1e-6, "seed": 0, "purpose": "a", "gpus": "auto", "model": {"name": "m"}}
    moved = {**base, "seed": 3, "purpose": "b", "gpus": [0], "output_root": "/elsewhere"}
    renamed = {**base, "model": {"name": "m", "display": "Model M"}}
    assert config_id(training_settings(base)) == config_id(training_settings(moved))
    assert config_id(training_settings(base)) == config_id(training_settings(renamed))
    assert config_id(training_settings(base)) != config_id(training_settings({**base, "lr": 2e-6}))
    # One spelling per number: YAML may give 1e-06 as text or as a float.
    assert config_id(training_settings({**base, "lr": "1e-06"})) == config_id(
        training_settings(base)
    )


def test_only_a_cell_whose_every_seed_was_best_at_step_0_never_beat_zero_shot(
    tmp_path: Path,
) -> None:
    write_job(tmp_path, seed=0, result=ok_result(0.5, 0.5, best_step=0))
    write_job(tmp_path, seed=1, result=ok_result(0.6, 0.6, best_step=100))
    frame = load(tmp_path)
    assert views.best(frame).loc[0, "flag"] == "best at step 0 in 1/2 seeds"
    cell = views.compare(frame).loc[0, "zo original"]
    assert not cell.never_beat_zero_shot and cell.as_record()["never_beat_zero_shot"] is False
    assert cell.text() == "0.550 ± 0.071 (n=2, 1 at step 0)"
    assert cell.as_record()["seeds_at_step_0"] == 1

    write_job(tmp_path, seed=1, result=ok_result(0.5, 0.5, best_step=0))
    frame = load(tmp_path)
    assert views.best(frame).loc[0, "flag"] == "never beat zero-shot (2/2 seeds)"
    cell = views.compare(frame).loc[0, "zo original"]
    assert cell.never_beat_zero_shot and cell.text() == "0.500 ± 0.000 (n=2)†"
