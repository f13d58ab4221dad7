"""The devices of a job as a user sets them: devices_per_job, gpu_memory_gb, jobs_per_gpu=auto."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from helpers.model_shapes import LLAMA_3_70B, model_folder
from helpers.sweep import probe_events, run_held_sweep, run_sweep, write_probe
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


def test_a_job_that_cannot_fit_its_gpus_is_refused_before_any_starts(tmp_path: Path) -> None:
    """Llama-3-70B's architecture, built on the meta device from its config.json alone."""
    model = model_folder(tmp_path, "Meta-Llama-3-70B", LLAMA_3_70B)
    llama = (f"model.id={model}", "model.name=llama70b", "devices_per_job=4", "gpu_memory_gb=80")
    out = f"output_root={tmp_path / 'out'}"
    done = run_sweep("-m", "method=zo,fo_full", *llama, out)
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert re.fullmatch(
        r"error: job method=fo_full: llama70b fo_full: \d+ GB over 4 GPUs of 80 GB "
        r"\(\d+ GB each\); use devices_per_job=\d+(, or .*)?",
        line,
    ), line
    # A single run is refused the same way; the same job on the CPU is not planned for a GPU.
    single = run_sweep("method=fo_full", *llama, out)
    assert single.returncode == 2 and single.stderr.startswith("error: llama70b fo_full: ")
    assert not list((tmp_path / "out").rglob("command.sh")), "no job may start"
    on_cpu = run_sweep("-m", "method=fo_full", *llama, "device=cpu", "dry_run=true", out)
    assert on_cpu.returncode == 0, on_cpu.stderr
    # A dry run shows every job's plan, then refuses with the same line.
    dry = run_sweep("-m", "method=zo,fo_full", *llama, "dry_run=true", out)
    assert dry.returncode == 2
    assert "llama70b zo (inference memory): " in dry.stdout and "fits 80 GB GPUs" in dry.stdout
    assert "does not fit 80 GB GPUs" in dry.stdout
    (refusal,) = dry.stderr.strip().splitlines()
    assert refusal == line.replace("error: job method=fo_full: ", "error: ")


FAKE_NVIDIA_SMI = """#!/bin/sh
# One GPU of {mib} MiB, as nvidia-smi lists it.
case "$*" in
  *memory.total*) echo {mib} ;;
  *) echo 0 ;;
esac
"""


def test_jobs_per_gpu_auto_shares_a_gpu_among_as_many_jobs_as_their_plan_fits(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    # A GPU of 3000 MiB, and jobs planned at 1.1 GB each (mostly a CUDA context): two fit.
    fake = tmp_path / "bin" / "nvidia-smi"
    fake.parent.mkdir()
    fake.write_text(FAKE_NVIDIA_SMI.format(mib=3000))
    fake.chmod(0o755)
    log = tmp_path / "probe.jsonl"
    env = {"PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}", "PROBE_LOG": str(log)}
    returncode, _, stderr = run_held_sweep(
        "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=3", "lr=1e-4,2e-4,3e-4",
        f"model.id={tiny_model_dir}", "model.name=tiny", "jobs_per_gpu=auto",
        f"gpu_lock_dir={tmp_path / 'locks'}", f"method.script={write_probe(tmp_path / 'probe')}",
        f"output_root={tmp_path / 'out'}",
        hold=tmp_path / "hold", running=2, env={**env, "SLEEP": "0.5"},
    )  # fmt: skip
    assert returncode == 0, stderr
    events = probe_events(log)
    starts = sorted(event["time"] for event in events if event["event"] == "start")
    ends = sorted(event["time"] for event in events if event["event"] == "end")
    assert {event["cuda"] for event in events} == {"0"}
    assert starts[1] < ends[0], "two jobs shared the GPU"
    assert starts[2] >= ends[0], "the third waited for a place on it"
