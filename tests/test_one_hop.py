"""A job of the project's trainer runs it in one hop; the old env-var path trains the same run.

Before, every job ran `bash <base script>` with the settings as variables, and the base script
ran the trainer. Now a job runs `python -m zo_sweep.train --config train.yaml`; a base script
named as `method.script` still runs the old way, and so does a base script run by hand with
the variables alone. All of them must leave the same records.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from helpers.sweep import REPO_ROOT, job_results, start_sweep

from zo_sweep.summary import load
from zo_sweep.sweep.handoff import settings_environment
from zo_sweep.train.settings import SETTINGS_ENV
from zo_sweep.train.sources import load_settings

BASE_SCRIPT = REPO_ROOT / "legacy_scripts" / "mezo_finetune_original.sh"
TINY_RUN = ("steps=2", "num_train=8", "num_dev=8", "num_eval=8", "eval_steps=1", "log_steps=1")
# What differs between two runs of one job: times, memory, the machine, where it ran.
VOLATILE = {
    "wall_seconds", "load_seconds", "run_seconds", "train_seconds", "seconds_per_step",
    "peak_memory_mb", "environment", "job_seconds", "command", "config_hash",
}  # fmt: skip
# Summary columns that say where a row's job ran, or hash a config that names its script.
ROW_PLACE = {"path", "timestamp", "config_hash", "config_id", "cell_id", "settings"}


def _same_run(result: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in result.items() if key not in VOLATILE}


def _train_yaml(job_dir: Path) -> dict[str, Any]:
    settings = yaml.safe_load((job_dir / "train.yaml").read_text())
    return {key: value for key, value in settings.items() if key != "output_dir"}


def _rows(root: Path) -> dict[str, dict[str, Any]]:
    """The summary's rows by job folder name, without where and how fast each job ran."""
    frame = load(root)
    names = [Path(path).name for path in frame["path"]]
    kept = frame.drop(columns=[*ROW_PLACE, "wall_seconds", "peak_memory_mb"])
    rows = json.loads(kept.to_json(orient="records"))  # NaN as null: equal when both are
    return dict(zip(names, rows, strict=True))


def _sweep(tiny_model_dir: Path, root: Path, *extra: str) -> subprocess.Popen[str]:
    return start_sweep(
        f"model.id={tiny_model_dir}", "model.name=tiny", "task=sst2", "method=zo",
        "-m", "lr=1e-4,1e-5", "seed=0,1", *TINY_RUN, f"output_root={root}", *extra,
    )  # fmt: skip


def test_a_four_job_sweep_leaves_the_records_the_base_scripts_left(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    direct, old = tmp_path / "direct", tmp_path / "old"
    sweeps = [
        _sweep(tiny_model_dir, direct),
        _sweep(tiny_model_dir, old, f"method.script={BASE_SCRIPT}"),
    ]
    for sweep in sweeps:
        out, err = sweep.communicate(timeout=600)
        assert sweep.returncode == 0, err[-3000:]
        assert "4 jobs: 4 ok" in out
    new_results, old_results = job_results(direct), job_results(old)
    assert sorted(new_results) == ["lr=0.0001,seed=0", "lr=0.0001,seed=1", "lr=1e-05,seed=0",
                                   "lr=1e-05,seed=1"]  # fmt: skip
    for name, result in new_results.items():
        assert _same_run(result) == _same_run(old_results[name])
        assert "-m zo_sweep.train --config" in result["command"]
        assert f"bash {BASE_SCRIPT}" in old_results[name]["command"]
    new_dirs = {path.parent.name: path.parent for path in direct.rglob("train.yaml")}
    old_dirs = {path.parent.name: path.parent for path in old.rglob("train.yaml")}
    assert {name: _train_yaml(d) for name, d in new_dirs.items()} == {
        name: _train_yaml(d) for name, d in old_dirs.items()
    }
    assert _rows(direct) == _rows(old)


def test_command_sh_and_the_base_script_by_hand_rerun_a_job_as_it_ran(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    sweep = start_sweep(
        f"model.id={tiny_model_dir}", "model.name=tiny", "task=sst2", "method=zo", "lr=1e-4",
        *TINY_RUN, f"output_root={tmp_path / 'out'}", f"hydra.run.dir={tmp_path / 'job'}",
    )  # fmt: skip
    _, err = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, err[-3000:]
    job = json.loads((tmp_path / "job" / "result.json").read_text())

    # command.sh: the trainer on the job's train.yaml, writing where OUTPUT_DIR says.
    rerun = tmp_path / "rerun"
    env = {**os.environ, "OUTPUT_DIR": str(rerun)}
    subprocess.run(["bash", str(tmp_path / "job" / "command.sh")], env=env, check=True)
    assert _same_run(json.loads((rerun / "result.json").read_text())) == _same_run(
        {key: value for key, value in job.items() if key != "exit_code"}
    )

    # The base script with the old variables alone (no train.yaml): the same run again.
    settings = load_settings(["--config", str(tmp_path / "job" / "train.yaml")], {})
    by_hand = replace(settings, output_dir=str(tmp_path / "by_hand"))
    variables = settings_environment(by_hand, tmp_path / "by_hand")
    variables.pop(SETTINGS_ENV)
    done = subprocess.run(
        ["bash", str(BASE_SCRIPT)], env={**os.environ, **variables}, cwd=tmp_path,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    written = json.loads((tmp_path / "by_hand" / "result.json").read_text())
    assert _same_run(written) == _same_run(
        {key: value for key, value in job.items() if key != "exit_code"}
    )
