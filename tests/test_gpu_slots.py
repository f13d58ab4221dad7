"""The GPU slot pool: detection, exclusive slots across processes, standing aside for SLURM."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.sweep import probe_events, run_held_sweep, wait_for, write_probe

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
        hold=tmp_path / "hold", running=2,
        env={"PROBE_LOG": str(log), "SLEEP": "0.2", "CUDA_VISIBLE_DEVICES": "0,1"},  # 2 GPUs
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


def test_a_job_of_several_devices_holds_whole_gpus(tmp_path: Path) -> None:
    with gpu_slots.gpu_slot([0, 1, 2, 3], 4, tmp_path, devices_per_job=2) as pair:
        assert pair == {"CUDA_VISIBLE_DEVICES": "0,1"}
        # jobs_per_gpu is for one-device jobs: theirs go to the GPUs the pair left.
        with (
            gpu_slots.gpu_slot([0, 1, 2, 3], 4, tmp_path) as small,
            gpu_slots.gpu_slot([0, 1, 2, 3], 4, tmp_path) as other,
        ):
            assert {small["CUDA_VISIBLE_DEVICES"], other["CUDA_VISIBLE_DEVICES"]} == {"2", "3"}
            assert _takes_whole_gpus([0, 1, 2, 3], 2, tmp_path) is None  # 2 and 3 are in use
        with gpu_slots.gpu_slot([0, 1, 2, 3], 4, tmp_path, devices_per_job=2) as second:
            assert second == {"CUDA_VISIBLE_DEVICES": "2,3"}
    with gpu_slots.gpu_slot([0, 1, 2, 3], 1, tmp_path, devices_per_job=4) as everything:
        assert everything == {"CUDA_VISIBLE_DEVICES": "0,1,2,3"}


def test_a_small_job_keeps_a_larger_one_off_its_gpu(tmp_path: Path) -> None:
    with gpu_slots.gpu_slot([0, 1, 2], 4, tmp_path) as small:
        assert small == {"CUDA_VISIBLE_DEVICES": "0"}
        with gpu_slots.gpu_slot([0, 1, 2], 4, tmp_path, devices_per_job=2) as pair:
            assert pair == {"CUDA_VISIBLE_DEVICES": "1,2"}
            assert _takes_whole_gpus([0, 1, 2], 1, tmp_path) is None
            # A one-device job shares GPU 0 with the first (jobs_per_gpu=4), never 1 or 2.
            with gpu_slots.gpu_slot([0, 1, 2], 4, tmp_path) as second_small:
                assert second_small == {"CUDA_VISIBLE_DEVICES": "0"}
    # Everything released: the pair takes the first two GPUs again.
    assert _takes_whole_gpus([0, 1, 2], 2, tmp_path) == ["0", "1"]


def test_a_waiting_large_job_holds_no_gpu_while_it_waits(tmp_path: Path) -> None:
    with gpu_slots.gpu_slot([0, 1], 1, tmp_path) as small:
        assert small == {"CUDA_VISIBLE_DEVICES": "0"}
        assert _takes_whole_gpus([0, 1], 2, tmp_path) is None
        # The failed attempt let GPU 1 go: another job still gets it.
        assert _takes_whole_gpus([0, 1], 1, tmp_path) == ["1"]


def test_more_devices_than_the_pool_has_is_an_error(tmp_path: Path) -> None:
    with (
        pytest.raises(gpu_slots.NotEnoughGPUs, match=r"devices_per_job=3 but the pool has 2 GPUs"),
        gpu_slots.gpu_slot([0, 1], 1, tmp_path, devices_per_job=3),
    ):
        pass


HOLDER = """
import sys, time
from zo_sweep.sweep import gpu_slots
with gpu_slots.gpu_slot(["0", "1"], 1, sys.argv[1], devices_per_job=2) as env:
    print(env["CUDA_VISIBLE_DEVICES"], flush=True)
    time.sleep(600)
"""


def test_whole_gpus_are_held_across_processes_and_freed_when_one_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "0,1"
        assert _takes_whole_gpus([0, 1], 1, tmp_path) is None
        assert gpu_slots._take_free_slot([gpu_slots.Slot("0", 0)], tmp_path) is None
    finally:
        holder.kill()
        holder.wait()
    wait_for(lambda: _takes_whole_gpus([0, 1], 2, tmp_path) == ["0", "1"], "the GPUs' release")


def _takes_whole_gpus(gpus: list[int], count: int, folder: Path) -> list[str] | None:
    """The GPUs a job of `count` devices would get now, released at once; None if it waits."""
    taken = gpu_slots._take_whole_gpus([str(gpu) for gpu in gpus], count, folder)
    if taken is None:
        return None
    locks, devices = taken
    for lock in locks:
        lock.release()
    return devices
