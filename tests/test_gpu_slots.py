"""The GPU slot pool: detection, exclusive slots across processes, standing aside for SLURM."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from helpers.sweep import probe_events, run_held_sweep, write_probe

from zo_sweep.sweep import gpu_slots


def test_detect_gpus_reads_cuda_visible_devices() -> None:
    assert gpu_slots.detect_gpus({"CUDA_VISIBLE_DEVICES": "2,3"}) == ["2", "3"]
    assert gpu_slots.detect_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert gpu_slots.detect_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []


def test_resolve_gpus_takes_lists_as_given() -> None:
    assert gpu_slots.resolve_gpus([0, 1]) == ["0", "1"]
    assert gpu_slots.resolve_gpus("4,5") == ["4", "5"]
    assert gpu_slots.resolve_gpus([]) == []


def test_slots_are_exclusive_and_freed(tmp_path: Path) -> None:
    with (
        gpu_slots.gpu_slot([0, 1], 1, tmp_path) as first,
        gpu_slots.gpu_slot([0, 1], 1, tmp_path) as second,
    ):
        assert {first["CUDA_VISIBLE_DEVICES"], second["CUDA_VISIBLE_DEVICES"]} == {"0", "1"}
    with gpu_slots.gpu_slot([0, 1], 1, tmp_path) as again:
        assert again == {"CUDA_VISIBLE_DEVICES": "0"}


def test_jobs_per_gpu_fills_gpus_breadth_first(tmp_path: Path) -> None:
    with (
        gpu_slots.gpu_slot([0, 1], 2, tmp_path) as a,
        gpu_slots.gpu_slot([0, 1], 2, tmp_path) as b,
        gpu_slots.gpu_slot([0, 1], 2, tmp_path) as c,
    ):
        assert [a, b, c] == [{"CUDA_VISIBLE_DEVICES": gpu} for gpu in ("0", "1", "0")]


def test_cpu_and_scheduler_cases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with gpu_slots.gpu_slot("auto", 1, tmp_path) as auto_without_gpu:
        assert auto_without_gpu == {}  # nothing to place: the job runs on the CPU
    with gpu_slots.gpu_slot([], 1, tmp_path) as explicit_cpu:
        assert explicit_cpu == {"CUDA_VISIBLE_DEVICES": ""}
    monkeypatch.setenv("SLURM_JOB_ID", "123")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    with gpu_slots.gpu_slot([0, 1], 1, tmp_path) as placed:
        assert placed == {}  # SLURM chose the GPU; the pool stands aside
    assert not list(tmp_path.glob("*.lock"))


def test_concurrent_jobs_get_distinct_gpus(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    log = tmp_path / "probe.jsonl"
    # Three workers, two GPUs: two jobs run at once (held until both have started), and the
    # third waits for a free GPU.
    returncode, _, stderr = run_held_sweep(
        "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=3", "lr=1e-4,2e-4,3e-4,4e-4",
        "gpus=[0,1]", f"gpu_lock_dir={tmp_path / 'locks'}", f"method.script={probe}",
        f"output_root={tmp_path / 'out'}",
        hold=tmp_path / "hold", running=2, env={"PROBE_LOG": str(log), "SLEEP": "0.2"},
    )  # fmt: skip
    assert returncode == 0, stderr
    events = probe_events(log)
    runs = {}
    for event in events:
        runs.setdefault(event["pid"], {})[event["event"]] = event
    assert len(runs) == 4
    assert {run["start"]["cuda"] for run in runs.values()} == {"0", "1"}
    overlapping = [
        (one, other)
        for one, other in itertools.combinations(runs.values(), 2)
        if one["start"]["time"] < other["end"]["time"]
        and other["start"]["time"] < one["end"]["time"]
    ]
    assert overlapping, "jobs should have run at the same time"
    for one, other in overlapping:
        assert one["start"]["cuda"] != other["start"]["cuda"], "two running jobs shared a GPU"
    # command.sh records the GPU the job ran on.
    commands = [path.read_text() for path in (tmp_path / "out").rglob("command.sh")]
    assert all("CUDA_VISIBLE_DEVICES=0" in c or "CUDA_VISIBLE_DEVICES=1" in c for c in commands)
