"""resume=true: a rerun skips the jobs whose identical config already finished under the purpose."""

from __future__ import annotations

import json
import time
from pathlib import Path

from helpers.sweep import job_results, probe_events, run_sweep, start_sweep, write_probe

from zo_sweep.sweep.resume import config_hash


def test_config_hash_ignores_run_control_keys(compose_config) -> None:
    base = config_hash(compose_config("task=copa", "purpose=a", "gpus=[0]", "resume=false"))
    assert base == config_hash(
        compose_config("task=copa", "purpose=b", "gpus=auto", "resume=true", "dry_run=true")
    )
    assert base != config_hash(compose_config("task=copa", "purpose=a", "lr=2e-4"))
    assert base != config_hash(compose_config("task=copa", "purpose=a", "task.label.field=x"))


def test_resume_after_an_interrupted_sweep_runs_exactly_the_missing_jobs(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    log = tmp_path / "probe.jsonl"
    hold = tmp_path / "hold"
    hold.touch()
    sweep_args = [
        "-m", "lr=1e-4,0.9,1e-5,2e-5", "purpose=study", f"method.script={probe}",
        f"output_root={tmp_path / 'out'}",
    ]  # fmt: skip
    env = {"PROBE_LOG": str(log), "FAIL_AT_LR": "0.5"}

    # First run: lr=1e-4 finishes, lr=0.9 fails, lr=1e-5 hangs on the hold file and is
    # interrupted, lr=2e-5 never starts.
    first = start_sweep(*sweep_args, env={**env, "HOLD_FILE": str(hold), "HOLD_LR": "1e-05"})
    deadline = time.monotonic() + 60
    while sum(e["event"] == "start" for e in probe_events(log)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    first.terminate()
    first.communicate(timeout=60)
    assert first.returncode == 130
    first_results = job_results(tmp_path / "out")
    assert {name: r["status"] for name, r in first_results.items()} == {
        "lr=0.0001": "ok", "lr=0.9": "failed", "lr=1e-05": "interrupted",
    }  # fmt: skip

    # Second run with resume: the finished job is skipped, the other three run.
    hold.unlink()
    log.unlink()
    second = run_sweep(*sweep_args, "resume=true", env=env)
    assert second.returncode == 1  # lr=0.9 fails again
    assert "4 jobs: 2 ok, 1 failed, 1 skipped" in second.stdout
    assert sorted(e["lr"] for e in probe_events(log) if e["event"] == "start") == [
        "0.9",
        "1e-05",
        "2e-05",
    ]

    sweep_dirs = sorted((tmp_path / "out" / "study").iterdir())
    assert len(sweep_dirs) == 2, "a rerun lands in a new sweep folder; nothing is overwritten"
    skipped = job_results(sweep_dirs[1])["lr=0.0001"]
    assert skipped["status"] == "skipped"
    assert skipped["best_dev"] == 1 - 1e-4
    assert Path(skipped["skipped_from"]).parent.parent.parent == sweep_dirs[0]
    assert skipped["config_hash"] == first_results["lr=0.0001"]["config_hash"]


def test_resume_looks_only_under_the_same_purpose(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    common = ["-m", "lr=1e-4", f"method.script={probe}", f"output_root={tmp_path}"]
    assert run_sweep(*common, "purpose=first").returncode == 0
    done = run_sweep(*common, "purpose=second", "resume=true")
    assert done.returncode == 0
    assert "1 job: 1 ok" in done.stdout


def test_resume_and_the_summary_read_one_identity_from_a_jobs_config(tmp_path: Path) -> None:
    from zo_sweep.jobdir.config import read_config
    from zo_sweep.jobdir.identity import job_identity
    from zo_sweep.summary import load

    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        "-m", "lr=1e-4,2e-4", "seed=0,1", "tracker=mlflow", f"method.script={probe}",
        f"output_root={tmp_path}", "dry_run=true",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = load(tmp_path)
    assert len(rows) == 4 and rows["config_id"].nunique() == 2 and rows["cell_id"].nunique() == 1
    for path in rows["path"]:
        recorded = json.loads((Path(path) / "result.json").read_text())["config_hash"]
        # What resume compares is what the summary computes from the saved config.
        assert recorded == job_identity(read_config(Path(path)))
