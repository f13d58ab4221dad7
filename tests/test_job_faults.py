"""Faults around a job: a full disk, an error inside the job runner, an interrupted sweep,
undecodable data; and what a job leaves for people: readable records, a safe command.sh."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.sweep import job_results, probe_events, run_sweep, start_sweep, write_probe
from omegaconf import OmegaConf

from zo_sweep import records
from zo_sweep.data import DataError, load_splits
from zo_sweep.sweep import job

FILLS_THE_DISK = """#!/usr/bin/env bash
# A training run whose checkpoint fills the disk; it exits 0 without a result.
head -c 64M /dev/zero > "$OUTPUT_DIR/checkpoint.bin" 2>/dev/null
exit 0
"""


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB file system (tmpfs), where the system lets this user mount one."""
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root and mount rights)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_fails_jobs_and_the_sweep_still_tallies(
    tmp_path: Path, small_disk: Path
) -> None:
    script = tmp_path / "fills_the_disk.sh"
    script.write_text(FILLS_THE_DISK)
    done = run_sweep(
        "-m", "lr=1e-6,2e-6,3e-6", f"method.script={script}", f"output_root={small_disk}"
    )
    assert done.returncode == 1
    assert "3 jobs: 3 no_result" in done.stdout
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stdout.count("No space left on device") >= 3  # the log says why


def test_a_job_that_cannot_write_its_snapshot_is_failed_with_the_os_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(cfg: object, job_dir: Path) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(job, "write_snapshot", disk_full)
    objective = job.run_job(OmegaConf.create({}), tmp_path / "job")
    assert objective == job.NO_OBJECTIVE
    result = records.read_result(tmp_path / "job")
    assert result["status"] == "failed"
    assert result["error"] == "OSError: [Errno 28] No space left on device"


def test_an_error_inside_the_job_runner_fails_only_that_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(cfg: object, job_dir: Path, settings: object) -> None:
        raise RuntimeError("something\nunexpected")

    monkeypatch.setattr(job, "build_command", broken)
    monkeypatch.setattr(job, "validate_job_config", lambda cfg, job_dir: None)
    assert job.run_job(OmegaConf.create({}), tmp_path / "job") == job.NO_OBJECTIVE
    result = records.read_result(tmp_path / "job")
    assert (result["status"], result["error"]) == ("failed", "RuntimeError: something unexpected")


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_records_are_written_with_the_umask_mode(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        records.write_json_atomic(tmp_path / "result.json", {"status": "ok"})
    finally:
        os.umask(previous)
    mode = stat.S_IMODE((tmp_path / "result.json").stat().st_mode)
    assert mode == 0o666 & ~umask
    assert [path.name for path in tmp_path.iterdir()] == ["result.json"]


def test_running_command_sh_by_hand_keeps_the_jobs_record(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep("-m", "lr=1e-4", f"method.script={probe}", f"output_root={tmp_path / 'out'}")
    assert done.returncode == 0, done.stderr
    (job_dir,) = [path.parent for path in (tmp_path / "out").rglob("command.sh")]
    before = (job_dir / "result.json").read_text()
    assert "config_hash" in json.loads(before)

    chosen = tmp_path / "chosen"
    chosen.mkdir()
    by_hand = {**os.environ, "OUTPUT_DIR": str(chosen)}
    subprocess.run(["bash", str(job_dir / "command.sh")], env=by_hand, check=True, timeout=60)
    assert json.loads((chosen / "result.json").read_text())["status"] == "ok"

    unset = {key: value for key, value in os.environ.items() if key != "OUTPUT_DIR"}
    rerun = subprocess.run(
        ["bash", str(job_dir / "command.sh")], env=unset, check=True, timeout=60, text=True,
        capture_output=True,
    )  # fmt: skip
    (sibling,) = job_dir.parent.glob(f"{job_dir.name}.rerun-*")
    assert f"writing to {sibling}" in rerun.stderr
    assert json.loads((sibling / "result.json").read_text())["status"] == "ok"
    assert (job_dir / "result.json").read_text() == before


def test_an_interrupted_sweep_counts_the_jobs_that_never_started(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    log = tmp_path / "probe.jsonl"
    sweep = start_sweep(
        "-m", "lr=1e-4,2e-4,3e-4", f"method.script={probe}", f"output_root={tmp_path}",
        env={"PROBE_LOG": str(log), "SLEEP": "60"},
    )  # fmt: skip
    while not probe_events(log):
        assert sweep.poll() is None, sweep.communicate()
        time.sleep(0.1)
    sweep.send_signal(signal.SIGTERM)
    _, stderr = sweep.communicate(timeout=60)
    assert sweep.returncode == 130
    assert "interrupted; 3 jobs: 1 interrupted, 2 not started" in stderr
    assert [result["status"] for result in job_results(tmp_path).values()] == ["interrupted"]


def test_a_data_file_of_random_bytes_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "SST-2"
    folder.mkdir()
    (folder / "sst2_train.jsonl").write_bytes(bytes(range(128, 256)) * 20)
    (folder / "sst2_validation.jsonl").write_text('{"sentence": "fine", "label": 1}\n')
    with pytest.raises(DataError) as caught:
        load_splits(folder, num_train=4, num_dev=1, num_eval=1)
    assert str(caught.value) == "SST-2/sst2_train.jsonl: not UTF-8 text (byte 0)"
