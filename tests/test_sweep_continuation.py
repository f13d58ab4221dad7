"""A second attempt of a job: SLURM's requeue reclaims its directory; resume adopts a checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from zo_sweep import records
from zo_sweep.sweep import continuation
from zo_sweep.sweep.job_files import claim_job_dir


def _job(root: Path, name: str, status: str, config_hash: str = "abc") -> Path:
    job_dir = root / name
    job_dir.mkdir(parents=True)
    records.write_json_atomic(
        job_dir / records.RESULT_FILE, {"status": status, "config_hash": config_hash}
    )
    (job_dir / records.TRAJECTORY_FILE).write_bytes(name.encode())
    (job_dir / records.METRICS_FILE).write_text('{"step": 1}\n')
    return job_dir


@pytest.fixture
def array_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "41")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    monkeypatch.setenv("SLURM_JOB_ID", "44")


def test_only_the_slurm_job_that_claimed_a_directory_may_claim_it_again(
    tmp_path: Path, array_task: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    continuation.remember_slurm_job(tmp_path)
    assert (tmp_path / continuation.SLURM_JOB_FILE).read_text() == "41_3\n"
    assert continuation.is_requeued_attempt(tmp_path)
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "4")
    assert not continuation.is_requeued_attempt(tmp_path)


def test_a_requeued_attempt_keeps_the_logs_of_each_earlier_attempt(
    tmp_path: Path, array_task: None
) -> None:
    claim_job_dir(tmp_path)
    for attempt in (1, 2):
        (tmp_path / records.STDOUT_FILE).write_text(f"out {attempt}")
        (tmp_path / records.STDERR_FILE).write_text(f"err {attempt}")
        claim_job_dir(tmp_path)  # the same SLURM job, requeued
        assert not (tmp_path / records.STDERR_FILE).exists()
    assert (tmp_path / "train.out.attempt1").read_text() == "out 1"
    assert (tmp_path / "train.err.attempt2").read_text() == "err 2"


def test_outside_slurm_no_directory_is_reclaimed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_JOB_ID"):
        monkeypatch.delenv(name, raising=False)
    continuation.remember_slurm_job(tmp_path)
    assert not (tmp_path / continuation.SLURM_JOB_FILE).exists()
    assert not continuation.is_requeued_attempt(tmp_path)


def test_resume_adopts_the_checkpoint_of_the_unfinished_job_with_the_same_config(
    tmp_path: Path,
) -> None:
    purpose = tmp_path / "study"
    _job(purpose, "finished", records.OK)
    _job(purpose, "other_config", records.INTERRUPTED, config_hash="zzz")
    stopped = _job(purpose, "stopped", records.INTERRUPTED)
    new = purpose / "new"
    new.mkdir()
    assert continuation.adopt_checkpoint(purpose, "abc", new) == stopped
    assert (new / records.TRAJECTORY_FILE).read_bytes() == b"stopped"
    assert records.read_metrics(new) == [{"step": 1}]


def test_resume_adopts_a_first_order_checkpoint_folder(tmp_path: Path) -> None:
    purpose = tmp_path / "study"
    stopped = purpose / "stopped"
    (stopped / records.CHECKPOINT_DIR).mkdir(parents=True)
    records.write_json_atomic(stopped / records.RESULT_FILE, {"config_hash": "abc"})
    (stopped / records.CHECKPOINT_DIR / "__0_0.distcp").write_bytes(b"weights")
    (stopped / records.CHECKPOINT_DIR / "progress.json").write_text('{"step": 3}')
    unfinished = purpose / "unfinished"  # a checkpoint still being written: no progress.json
    (unfinished / records.CHECKPOINT_DIR).mkdir(parents=True)
    records.write_json_atomic(unfinished / records.RESULT_FILE, {"config_hash": "abc"})
    new = purpose / "new"
    new.mkdir()
    assert continuation.adopt_checkpoint(purpose, "abc", new) == stopped
    assert (new / records.CHECKPOINT_DIR / "__0_0.distcp").read_bytes() == b"weights"
    assert (new / records.CHECKPOINT_DIR / "progress.json").read_text() == '{"step": 3}'


def test_resume_without_an_unfinished_match_starts_afresh(tmp_path: Path) -> None:
    purpose = tmp_path / "study"
    _job(purpose, "finished", records.OK)
    new = purpose / "new"
    new.mkdir()
    assert continuation.adopt_checkpoint(purpose, "abc", new) is None
    assert not (new / records.TRAJECTORY_FILE).exists()
