"""Faults around a job: a full disk, an error inside the job runner, an interrupted sweep, a
script that removes its folder or writes a malformed result, undecodable data; and what a job
leaves for people: readable records, a safe command.sh. Every job keeps its account: the tally
counts it, with its status and reason."""

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
from helpers.in_process import run_app
from helpers.sweep import job_results, probe_events, run_sweep, start_sweep, write_probe
from omegaconf import OmegaConf

from zo_sweep import records
from zo_sweep.data import DataError, load_splits
from zo_sweep.summary.cli import main as summary_main
from zo_sweep.sweep import job, status
from zo_sweep.sweep.job_result import collect_result
from zo_sweep.sweep.process import ProcessOutcome

FILLS_THE_DISK = """#!/usr/bin/env bash
# A training run whose checkpoint fills the disk; it exits 0 without a result.
head -c 64M /dev/zero > "$OUTPUT_DIR/checkpoint.bin" 2>/dev/null
exit 0
"""


# A training run that leaves no room for another folder: it takes every file the disk has.
TAKES_EVERY_FILE = """#!/usr/bin/env bash
i=0; while touch "$OUTPUT_DIR/f$i" 2>/dev/null; do i=$((i+1)); done
echo '{"status": "ok", "best_dev": 0.5}' > "$OUTPUT_DIR/result.json"
"""
REMOVES_ITS_FOLDER = """#!/usr/bin/env bash
rm -rf "$OUTPUT_DIR"
"""
LEAVES_A_FILE_FOR_ITS_FOLDER = """#!/usr/bin/env bash
rm -rf "$OUTPUT_DIR" && touch "$OUTPUT_DIR"
"""
MALFORMED_RESULTS = {
    "not JSON": (
        """echo '{"status": "ok", "best_dev": 0.9' > $OUTPUT_DIR/result.json""",
        "malformed (Expecting ',' delimiter: line 2 column 1",
    ),
    "an unknown status": (
        """echo '{"status": "weird", "best_dev": 0.9}' > $OUTPUT_DIR/result.json""",
        "malformed (status 'weird', none of ok, failed, diverged,",
    ),
    "no status": (
        """echo '{"best_dev": 0.9}' > $OUTPUT_DIR/result.json""",
        "the script's result.json is malformed (no status)",
    ),
    "a folder": (
        """mkdir $OUTPUT_DIR/result.json; exit 3""",
        "script exited with code 3; the script's result.json is malformed (Is a directory)",
    ),
}


def _tmpfs(mount_point: Path, options: str) -> Iterator[Path]:
    """A small file system (tmpfs) at mount_point, where the system lets this user mount one."""
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root and mount rights)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB disk."""
    yield from _tmpfs(tmp_path / "small_disk", "size=512k")


@pytest.fixture
def disk_of_few_files(tmp_path: Path) -> Iterator[Path]:
    """A disk with room for 200 files and folders."""
    yield from _tmpfs(tmp_path / "few_files", "size=512k,nr_inodes=200")


def test_a_full_disk_fails_jobs_and_the_sweep_still_tallies(
    tmp_path: Path, small_disk: Path
) -> None:
    script = tmp_path / "fills_the_disk.sh"
    script.write_text(FILLS_THE_DISK)
    done = run_sweep(
        "-m", "lr=1e-6,2e-6,3e-6", f"method.script={script}", f"output_root={small_disk}"
    )
    assert done.returncode == 1
    assert "3 jobs: 3 failed" in done.stdout  # as the jobs told the sweep; no result.json says
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stdout.count("No space left on device") >= 3  # the log says why


def test_a_disk_full_when_a_jobs_folder_is_made_ends_the_sweep_with_its_tally(
    tmp_path: Path, disk_of_few_files: Path
) -> None:
    script = tmp_path / "takes_every_file.sh"
    script.write_text(TAKES_EVERY_FILE)
    done = run_sweep(
        "-m", "seed=0,1,2", f"method.script={script}", f"output_root={disk_of_few_files}"
    )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert line.startswith("error: cannot create ") and line.endswith(
        "seed=1: No space left on device; the sweep starts no further job"
    )
    assert "3 jobs: 2 failed, 1 not started" in done.stdout


def test_a_jobs_folder_that_cannot_be_made_fails_that_job_and_the_sweep_ends_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_mkdir = os.mkdir

    def disk_full_at_the_second_job(path: object, *args: object, **kwargs: object) -> None:
        if Path(str(path)).name == "seed=1":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_mkdir(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "mkdir", disk_full_at_the_second_job)
    probe = write_probe(tmp_path / "probe")
    done = run_app(
        "-m", "seed=0,1,2", f"method.script={probe}", f"output_root={tmp_path / 'out'}"
    )  # fmt: skip
    assert done.exit_code == 1, done.stderr
    assert done.stderr_lines == [
        f"error: cannot create {_job_dir(tmp_path / 'out', 'seed=1')}: No space left on "
        "device; the sweep starts no further job"
    ]
    assert "3 jobs: 1 ok, 1 failed, 1 not started" in done.stdout


def _job_dir(root: Path, name: str) -> Path:
    (sweep_dir,) = (root / "default").iterdir()
    return sweep_dir / "smollm2_135m" / "sst2_zo_original" / name


def test_a_script_that_removes_its_folder_fails_its_job_which_is_still_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "removes_its_folder.sh"
    script.write_text(REMOVES_ITS_FOLDER)
    done = run_sweep("-m", "seed=0,1", f"method.script={script}", f"output_root={tmp_path / 'out'}")
    assert done.returncode == 1
    assert "2 jobs: 2 failed" in done.stdout
    results = job_results(tmp_path / "out")
    assert sorted(results) == ["seed=0", "seed=1"]
    for result in results.values():
        assert (result["status"], result["error"]) == ("failed", job.VANISHED)
    # The job's record is whole again: the summary lists both jobs among the failures.
    assert summary_main([str(tmp_path / "out"), "--purpose", "all", "--view", "failures"]) == 0
    assert capsys.readouterr().out.count(job.VANISHED) == 2


def test_the_tally_counts_a_job_whose_folder_is_gone_as_it_returned(tmp_path: Path) -> None:
    script = tmp_path / "leaves_a_file.sh"
    script.write_text(LEAVES_A_FILE_FOR_ITS_FOLDER)
    done = run_sweep("-m", "seed=0,1", f"method.script={script}", f"output_root={tmp_path}")
    assert done.returncode == 1
    assert "2 jobs: 2 failed" in done.stdout  # no folder says so: the jobs' returns do
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize("writes,error", MALFORMED_RESULTS.values(), ids=MALFORMED_RESULTS.keys())
def test_a_malformed_result_of_the_script_is_kept_beside_the_record(
    tmp_path: Path, writes: str, error: str
) -> None:
    script = tmp_path / "writes_a_malformed_result.sh"
    script.write_text(f"#!/usr/bin/env bash\n{writes}\n")
    done = run_sweep("-m", "seed=0", f"method.script={script}", f"output_root={tmp_path}")
    assert done.returncode == 1
    (result_path,) = tmp_path.rglob("result.json")
    result = json.loads(result_path.read_text())
    assert result["status"] == "failed" and error in result["error"], result["error"]
    assert result["error"].endswith("kept as result.script.json")
    assert (result_path.parent / "result.script.json").exists()


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


def test_a_job_the_interrupted_sweep_recorded_stays_interrupted(tmp_path: Path) -> None:
    # The sweep, stopped by SIGTERM, records its running jobs; their scripts end just after.
    status.mark_unfinished_interrupted(_started_job(tmp_path))
    result = collect_result(OmegaConf.create({}), tmp_path / "job", ProcessOutcome(-15, False))
    assert (result["status"], result["exit_code"]) == ("interrupted", -15)
    assert result["error"] == "the sweep was interrupted while this job ran"


def _started_job(root: Path) -> Path:
    (root / "job").mkdir()
    (root / "job" / "command.sh").write_text("# a running job\n")
    return root


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
