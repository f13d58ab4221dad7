"""The devices of a job as a user sets them: devices_per_job, gpu_memory_gb, jobs_per_gpu=auto."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.sweep import run_sweep
from omegaconf import OmegaConf, open_dict

from zo_sweep.summary.identity import config_id, training_settings
from zo_sweep.sweep.resume import config_hash

BAD_SETTINGS = {
    "no device": (["devices_per_job=0"], "devices_per_job=0: must be >= 1"),
    "a GPU of no size": (["gpu_memory_gb=0"], "gpu_memory_gb=0.0: must be a positive number of GB"),
    "no job per GPU": (["jobs_per_gpu=0"], "jobs_per_gpu=0: use a number >= 1, or auto"),
    "a word for jobs per GPU": (["jobs_per_gpu=many"], "jobs_per_gpu=many: use a number >= 1, or auto"),
    "more devices than GPUs": (
        ["-m", "devices_per_job=1,2", "gpus=[0]"],
        "devices_per_job=2 but gpus=[0] gives the sweep only 1",
    ),
}  # fmt: skip


@pytest.mark.parametrize("arguments,message", BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys())
def test_bad_device_settings_are_one_line(tmp_path: Path, arguments: list[str], message: str):
    done = run_sweep(*arguments, f"output_root={tmp_path}", env={"CUDA_VISIBLE_DEVICES": "0"})
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"error: {message}"] or (len(lines) == 1 and message in lines[0]), lines
    assert not list(tmp_path.rglob("command.sh")), "no job may start"


def test_a_large_model_brings_its_devices_and_the_command_line_has_the_last_word(
    compose_config,
) -> None:
    def resolved(*overrides: str) -> dict:
        return OmegaConf.to_container(compose_config(*overrides), resolve=True)

    assert resolved()["devices_per_job"] == 1
    llama70b = resolved("model=llama70b")
    assert (llama70b["devices_per_job"], llama70b["gpu_memory_gb"]) == (8, 80.0)
    assert llama70b["model"]["params"] == 70_553_706_496
    assert resolved("model=llama70b", "devices_per_job=16")["devices_per_job"] == 16
    assert resolved("model=olmo2_32b", "jobs_per_gpu=auto")["jobs_per_gpu"] == "auto"


def test_a_dry_run_takes_the_device_settings(tmp_path: Path) -> None:
    done = run_sweep(
        "-m", "lr=1e-4,1e-5", "devices_per_job=2", "gpu_memory_gb=40", "jobs_per_gpu=auto",
        "dry_run=true", f"output_root={tmp_path}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 jobs: 2 dry_run" in done.stdout
    # Where jobs run is not in their folders' names.
    names = {path.parent.name for path in tmp_path.rglob("command.sh")}
    assert names == {"lr=0.0001", "lr=1e-05"}


def test_where_a_job_runs_is_not_what_it_computes(compose_config) -> None:
    """devices_per_job and the plan's figures change no result: resume and the summary
    recognise a job run on other devices, and jobs from before the model's `params`."""
    base = compose_config("task=copa")
    spread = compose_config("task=copa", "devices_per_job=4", "gpu_memory_gb=40")
    assert config_hash(base) == config_hash(spread)
    assert config_hash(base) != config_hash(compose_config("task=copa", "lr=2e-4"))
    before_params = base.copy()
    with open_dict(before_params):
        del before_params.model["params"]
    assert config_hash(before_params) == config_hash(base)
    settings = {"lr": 1e-6, "devices_per_job": 1, "model": {"name": "m", "params": 10**9}}
    older = {"lr": 1e-6, "model": {"name": "m"}}
    moved = {**settings, "devices_per_job": 8, "model": {**settings["model"], "devices_per_job": 8}}
    assert config_id(training_settings(settings)) == config_id(training_settings(older))
    assert config_id(training_settings(settings)) == config_id(training_settings(moved))
