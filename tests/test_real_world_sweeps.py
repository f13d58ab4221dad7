"""Sweeps on the research group's own world: their data tree, their synthetic datasets, and a
script shaped like their MeZO base scripts, from the command line to the summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.real_layout import PURPOSE_DIR, SIX_TASKS, build_data_tree
from helpers.sweep import REPO_ROOT, job_results, run_sweep, write_probe

TINY_RUN = ("steps=2", "num_train=8", "num_dev=4", "num_eval=4", "eval_steps=1", "bs=4")

# A script shaped like MeZO's large_models/mezo.sh and run.py: relative `python run.py`, "$@"
# passed through, the result printed as numpy 2 prints it, then a crash writing a result file
# (after a progress bar on stderr), exit 1.
THEIR_BASE_SCRIPT = """#!/bin/bash
MODEL=${MODEL:-facebook/opt-125m}
TASK=${TASK:-SST2}
LR=${LR:-1e-5}
python run.py --model_name $MODEL --task_name $TASK --learning_rate $LR "$@"
"""
THEIR_RUN_PY = r"""
import json, sys, time
with open("argv.json", "w") as handle:
    json.dump(sys.argv[1:], handle)
for step in range(3):
    sys.stderr.write(f"\r {step * 50}%|#####     | {step}/2 [00:0{step}<00:01, 2.00it/s]")
    sys.stderr.flush()
print("===== Train set 0 =====")
print("{'accuracy': np.float64(0.61), 'dev_accuracy': np.float32(0.7)}")
sys.stderr.write("\rTraceback (most recent call last):\n")
sys.stderr.write('  File "run.py", line 9, in <module>\n')
sys.stderr.write("FileNotFoundError: [Errno 2] No such file or directory: 'result/x.json'\n")
sys.stderr.write(" 100%|##########| 2/2 [00:01<00:00, 2.00it/s]")
sys.exit(1)
"""


def all_results(root: Path) -> list[dict]:
    """Every job's result.json (job folders of different tasks may share a name)."""
    return [json.loads(path.read_text()) for path in sorted(root.rglob("result.json"))]


def summary(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "zo_sweep.summary", *args, "--format", "json"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_data_tree(tmp_path_factory.mktemp("group"))


def test_synthetic_runs_train_on_their_dataset_and_test_on_eval_root(
    tree: Path, tmp_path: Path, tiny_model_dir: Path
) -> None:
    done = run_sweep(
        f"model.id={tiny_model_dir}", "model.name=tiny", "method=fo_lora", "data=synthetic",
        f"data.root={tree / 'Data/synthetic/mezo'}", f"data.eval_root={tree / 'Data/original'}",
        "-m", "task=copa,rte", *TINY_RUN, f"output_root={tmp_path}", timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    for path in tmp_path.rglob("result.json"):
        result = json.loads(path.read_text())
        # Only the task varies, and it names the cell's folder: the job's own is `job<n>`.
        assert path.parent.name.startswith("job")
        assert result["status"] == "ok" and result["data_id"] == "synthetic/mezo"
        assert result["test_dir"] == str(tree / "Data/original" / result["test_dir"].split("/")[-1])
        assert Path(result["task_dir"]).parent == tree / "Data/synthetic/mezo"


def test_a_synthetic_folder_with_a_train_file_only_needs_eval_root(
    tree: Path, tmp_path: Path
) -> None:
    done = run_sweep(
        f"method.script={write_probe(tmp_path)}", "data=synthetic", "task=rte",
        f"data.root={tree / 'Data/synthetic/mezo'}", f"output_root={tmp_path}",
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .endswith("set data.eval_root (env EVAL_ROOT) to the folder of the original task folders")
    )


def test_eval_split_test_on_unlabeled_test_files_is_refused_before_any_job(
    tree: Path, tmp_path: Path
) -> None:
    done = run_sweep(
        f"method.script={write_probe(tmp_path)}", "task=cb", "task.eval_split=test",
        f"data.root={tree / 'Data/original'}", f"output_root={tmp_path}",
    )  # fmt: skip
    assert done.returncode == 2
    assert "CB/cb_test.jsonl has no labels" in done.stderr
    assert not list(tmp_path.rglob("result.json"))


def test_two_synthetic_datasets_under_one_purpose_are_two_rows_of_best(
    tree: Path, tmp_path: Path
) -> None:
    roots = ",".join(str(tree / PURPOSE_DIR / name) for name in ("copa_mezo_v1", "copa_mezo_v2"))
    done = run_sweep(
        f"method.script={write_probe(tmp_path)}", "task=copa", "data=synthetic",
        f"data.eval_root={tree / 'Data/original'}", "purpose=datasets", "-m",
        f"data.root={roots}", "lr=1e-6,2e-6", f"output_root={tmp_path}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "4 jobs: 4 ok" in done.stdout
    names = sorted(job_results(tmp_path))
    assert [name.split(",")[0] for name in names] == [
        "data=synthetic%2Fprompt_engineering%2Fcopa_mezo_v1",
    ] * 2 + ["data=synthetic%2Fprompt_engineering%2Fcopa_mezo_v2"] * 2
    best = json.loads(summary(str(tmp_path), "--view", "best"))
    assert sorted(row["data_id"] for row in best) == [
        "synthetic/prompt_engineering/copa_mezo_v1",
        "synthetic/prompt_engineering/copa_mezo_v2",
    ]
    runs = json.loads(summary(str(tmp_path), "--view", "runs"))
    assert {row["data_id"] for row in runs} == {row["data_id"] for row in best}


def test_their_own_script_through_method_cwd_and_args_shows_its_metrics(tmp_path: Path) -> None:
    mezo = tmp_path / "MeZO" / "large_models"
    mezo.mkdir(parents=True)
    (mezo / "mezo.sh").write_text(THEIR_BASE_SCRIPT)
    (mezo / "run.py").write_text(THEIR_RUN_PY)
    out = tmp_path / "outputs"
    done = run_sweep(
        "method.script=mezo.sh", f"method.cwd={mezo}", "method.args=[--fp16,False]",
        "task=copa", "purpose=theirs", f"output_root={out}", "-m", "lr=1e-6",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((mezo / "argv.json").read_text())[-2:] == ["--fp16", "False"]
    [(name, result)] = job_results(out).items()
    assert result["status"] == "ok" and result["exit_code"] == 1
    assert result["test_at_best"] == 0.61 and result["best_dev"] == pytest.approx(0.7)
    assert result["error"] == (
        "script exited with code 1 after its result: FileNotFoundError: [Errno 2] No such "
        "file or directory: 'result/x.json'"
    )
    command = next(out.rglob("command.sh")).read_text()
    assert f"cd {mezo}" in command and "mezo.sh --fp16 False" in command
    for view in ("runs", "best"):
        [row] = json.loads(summary(str(out), "--view", view))
        assert row.get("test_at_best", row.get("test_mean")) == 0.61


def test_a_sweep_over_all_six_tasks_of_their_data_tree_is_all_ok(
    tree: Path, tmp_path: Path, tiny_model_dir: Path
) -> None:
    done = run_sweep(
        f"model.id={tiny_model_dir}", "model.name=tiny", "method=zo",
        f"data.root={tree / 'Data/original'}", "-m", f"task={','.join(SIX_TASKS)}",
        "steps=1", "num_train=4", "num_dev=2", "num_eval=2", "eval_steps=1", "bs=2",
        f"output_root={tmp_path}", timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "6 jobs: 6 ok" in done.stdout
    results = all_results(tmp_path)
    assert sorted(result["task"] for result in results) == sorted(SIX_TASKS)
    for result in results:
        assert result["status"] == "ok" and result["exit_code"] == 0
        assert result["eval_split"] == "validation" and result["data_id"] == "original"
        assert result["test_file"].endswith("_validation.jsonl")
        assert 0.0 <= result["test_at_best"] <= 1.0
    boolq = next(result for result in results if result["task"] == "boolq")
    assert Path(boolq["task_dir"]).name == "BoolQ" and Path(boolq["test_dir"]).name == "BOOLQ"
