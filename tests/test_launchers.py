"""The same sweep through the other launchers: joblib workers and submitit's local executor."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers.sweep import job_results, probe_events, run_held_sweep, run_sweep, write_probe

COMPLETE_JOB_FILES = ("command.sh", "train.out", "train.err", "result.json", ".hydra/config.yaml")


def _assert_complete(root: Path, names: list[str]) -> None:
    results = job_results(root)
    assert sorted(results) == names
    assert all(result["status"] == "ok" for result in results.values())
    for result_path in root.rglob("result.json"):
        for name in COMPLETE_JOB_FILES:
            assert (result_path.parent / name).exists(), name


def test_joblib_runs_jobs_in_parallel(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    log = tmp_path / "probe.jsonl"
    returncode, _, stderr = run_held_sweep(
        "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "lr=1e-4,1e-5",
        f"method.script={probe}", f"output_root={tmp_path / 'out'}",
        hold=tmp_path / "hold", running=2, env={"PROBE_LOG": str(log)},
    )  # fmt: skip
    assert returncode == 0, stderr
    _assert_complete(tmp_path / "out", ["lr=0.0001", "lr=1e-05"])
    events = probe_events(log)
    share = os.environ.get("OMP_NUM_THREADS") or str(max(1, (os.cpu_count() or 1) // 2))
    assert {e["threads"] for e in events} == {share}, "parallel CPU jobs split the cores"


def test_submitit_local_runs_a_two_job_sweep(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        "-m", "hydra/launcher=submitit_local", "lr=1e-4,1e-5", f"method.script={probe}",
        f"output_root={tmp_path / 'out'}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 jobs: 2 ok" in done.stdout
    _assert_complete(tmp_path / "out", ["lr=0.0001", "lr=1e-05"])


def test_slurm_preset_composes_with_overrides() -> None:
    done = run_sweep(
        "hydra/launcher=slurm", "hydra.launcher.partition=gpu", "hydra.launcher.mem_gb=32",
        "--cfg", "hydra",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for line in ("partition: gpu", "mem_gb: 32", "gpus_per_node: 1", "array_parallelism: 16"):
        assert line in done.stdout
    assert "hydra_plugins.zo_sweep_launchers.slurm.SweepSlurmLauncher" in done.stdout


def test_slurm_cpu_preset_asks_for_no_gpu() -> None:
    done = run_sweep("hydra/launcher=slurm_cpu", "--cfg", "hydra")
    assert done.returncode == 0, done.stderr
    assert "gpus_per_node: null" in done.stdout
    assert "SweepSlurmLauncher" in done.stdout


def test_a_jobs_slurm_request_follows_its_devices() -> None:
    from zo_sweep.sweep.slurm_jobs import node_request

    gpus = {"gpus_per_node": 1, "node_gpus": 4, "cpus_per_task": 8}
    assert node_request(1, gpus) == {"nodes": 1, "gpus_per_node": 1, "cpus_per_task": 8}
    assert node_request(4, gpus) == {"nodes": 1, "gpus_per_node": 4, "cpus_per_task": 32}
    assert node_request(8, gpus) == {"nodes": 2, "gpus_per_node": 4, "cpus_per_task": 32}
    assert node_request(6, gpus) == {"nodes": 2, "gpus_per_node": 3, "cpus_per_task": 24}
    with pytest.raises(ValueError, match="use devices_per_job=4 or 6$"):
        node_request(5, gpus)
    one_node = {**gpus, "node_gpus": None}
    assert node_request(8, one_node) == {"nodes": 1, "gpus_per_node": 8, "cpus_per_task": 64}
    cpu = {"gpus_per_node": None, "cpus_per_task": 4}  # slurm_cpu: the ranks' cores, no GPU
    assert node_request(2, cpu) == {"nodes": 1, "gpus_per_node": None, "cpus_per_task": 8}
