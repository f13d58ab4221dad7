"""The group's first automation: study YAML files convert to sweeps, Results_v2 runs import."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from legacy_support import REPO_ROOT

from zo_sweep.legacy.cli import main
from zo_sweep.legacy.summary_rows import read_rows
from zo_sweep.summary import load
from zo_sweep.summary.cli import main as summary_main

STUDY = {
    "experiment": {
        "purpose": "synthetic_vs_original",
        "description": "MeZO on prompt-engineered synthetic Copa, v1",
    },
    "model": "meta-llama/Llama-3.2-1B",
    "task": "Copa",
    "method": "zo",
    "data": {"path": "Data_v2/synthetic/prompt_engineering/copa_mezo_v1/Copa"},
    "hyperparameters": {
        "learning_rate": ["1e-6", "5e-7"],
        "batch_size": 16,
        "steps": 20000,
        "seed": [0, 1],
        "zo_eps": "1e-3",
        "lora_rank": 8,
        "lora_alpha": 16,
        "warmup": 100,
    },
    "cuda_devices": "0,1",
}


def write_study(folder: Path, study: dict, name: str = "study.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(study))
    return path


def test_study_file_converts_to_one_sweep(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    study = write_study(tmp_path, STUDY)
    assert main(["convert", str(study), "--cwd", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    root = tmp_path / "Data_v2/synthetic/prompt_engineering/copa_mezo_v1"
    words = shlex.split(out.splitlines()[1])
    assert words[:3] == ["python", "-m", "zo_sweep"]
    assert words[3:] == [
        "model=llama1b", "task=copa", "method=zo", "data=synthetic", f"data.root={root}",
        f"{words[8].split('=')[0]}=copa_mezo_v1",  # data.tag (+data.tag until conf has it)
        "purpose=synthetic_vs_original",
        'description="MeZO on prompt-engineered synthetic Copa, v1"',
        "bs=16", "steps=20000", "eps=1e-3", "rank=8", "alpha=16", "-m", "seed=0,1",
        "lr=1e-6,5e-7",
    ]  # fmt: skip
    assert words[8].lstrip("+").startswith("data.tag=")
    assert "add 'gpus=[0,1]'" in err
    assert "hyperparameter warmup=100 has no zo_sweep setting" in err


def test_older_data_type_names_the_dataset_and_asks_for_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    study = {**STUDY, "task": "BOOLQ", "method": "fo_lora", "data": {"type": "mixed_v2"}}
    assert main(["convert", str(write_study(tmp_path, study))]) == 0
    out, err = capsys.readouterr()
    assert " task=boolq method=fo_lora data=orig_n_syn " in out
    assert "data.tag=mixed_v2" in out
    assert "add data.root=<the folder holding its boolq/>" in err


def test_a_yaml_file_that_is_no_study_is_not_convertible(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    other = write_study(tmp_path, {"model": "x", "task": "nope", "method": "zo"}, "other.yaml")
    assert main(["convert", str(bad), str(other)]) == 1
    err = capsys.readouterr().err
    assert f"not convertible: {bad}: not valid YAML" in err
    assert f"not convertible: {other}: task: unknown task 'nope'" in err
    assert err.splitlines()[-1] == "2 scripts: 0 converted, 0 with notes, 2 not convertible"


def test_converted_study_runs_and_the_summary_shows_its_dataset_and_description(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "Data_v2/synthetic/prompt_engineering/copa_mezo_v1/Copa"
    shutil.copytree(REPO_ROOT / "zo_sweep/example_data/synthetic/Copa", data)
    study = write_study(tmp_path, STUDY)
    assert main(["convert", str(study), "--cwd", str(tmp_path)]) == 0
    command = shlex.split(capsys.readouterr().out.splitlines()[1])[3:]
    outputs = tmp_path / "outputs"
    done = subprocess.run(
        [sys.executable, "-m", "zo_sweep", *command, "dry_run=true", f"output_root={outputs}",
         "hydra/hydra_logging=disabled", "hydra/job_logging=disabled"],
        capture_output=True, text=True, cwd=REPO_ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    frame = load(outputs)
    assert len(frame) == 4
    assert set(frame["description"]) == {STUDY["experiment"]["description"]}
    assert set(frame["data_id"]) == {"copa_mezo_v1"}
    assert summary_main([str(outputs), "--format", "csv"]) == 0
    assert STUDY["experiment"]["description"] in capsys.readouterr().out


FINISHED = (
    "===== Train set 0 =====\n{'accuracy': np.float64(0.71), 'dev_accuracy': np.float64(0.7)}\n"
)


def results_v2(root: Path) -> Path:
    """Results_v2/<purpose>/<model id>/<Task>_<method>_<dataset>_<lr>/<YYYYMMDD_HHMMSS>/."""
    base = root / "Results_v2" / "synthetic_vs_original" / "meta-llama" / "Llama-3.2-1B"
    study = {**STUDY, "hyperparameters": {**STUDY["hyperparameters"], "seed": 0}}
    for lr, log in (("1e-6", FINISHED), ("5e-7", "step 10\n")):
        run = base / f"Copa_zo_copa_mezo_v1_{lr}" / "20250301_101500"
        run.mkdir(parents=True)
        write_study(run, study, "experiment_config.yaml")
        (run / f"{lr}_train.out").write_text(log)
        (run / f"{lr}_train.err").write_text("torch.OutOfMemoryError: CUDA out of memory.\n")
    broken = base / "Copa_zo_copa_mezo_v1_2e-7" / "20250301_111500"
    broken.mkdir(parents=True)
    (broken / "experiment_config.yaml").write_text("task: Copa\n")
    (broken / "2e-7_train.out").write_text(FINISHED)
    return root / "Results_v2"


def test_results_v2_runs_import_with_their_study_settings(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match=r"2e-7_train.out: experiment_config.yaml: not a study"):
        rows = {row["lr"]: row for row in read_rows(results_v2(tmp_path))}
    assert set(rows) == {1e-6, 5e-7}
    done = rows[1e-6]
    assert (done["purpose"], done["model"], done["task"], done["method"]) == (
        "synthetic_vs_original", "llama1b", "copa", "zo",
    )  # fmt: skip
    assert (done["data"], done["data_id"], done["bs"], done["seed"]) == (
        "synthetic", "copa_mezo_v1", "16", "0",
    )  # fmt: skip
    assert (done["status"], done["best_dev"], done["test_at_best"]) == ("legacy", 0.7, 0.71)
    assert done["timestamp"] == "2025-03-01T10:15:00"
    assert done["description"] == STUDY["experiment"]["description"]
    assert rows[5e-7]["status"] == "incomplete"
    assert rows[5e-7]["error"] == "torch.OutOfMemoryError: CUDA out of memory. (5e-7_train.err)"


def test_study_written_as_a_preset_keeps_dataset_and_description(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    study = write_study(tmp_path, STUDY)
    args = ["convert", str(study), "--write-experiment", "copa_syn", "--conf-dir", str(tmp_path)]
    assert main([*args, "--cwd", str(tmp_path)]) == 0
    preset = yaml.safe_load((tmp_path / "experiment" / "copa_syn.yaml").read_text())
    assert preset["purpose"] == "synthetic_vs_original"
    assert preset["description"] == STUDY["experiment"]["description"]
    assert preset["data"]["tag"] == "copa_mezo_v1"
    assert preset["hydra"]["sweeper"]["params"] == {"seed": "0,1", "lr": "1e-6,5e-7"}
