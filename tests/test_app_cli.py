"""The app as a user meets it: --help, --cfg job, dry runs and the command each job records."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from helpers.sweep import job_results, probe_events, run_sweep, write_probe


def test_help_lists_groups_and_run_control() -> None:
    done = run_sweep("--help")
    assert done.returncode == 0, done.stderr
    for word in (
        "method: fo_full, fo_lora, zo, zo_lora",
        "dry_run=true",
        "resume=true",
        "search=optuna",
    ):
        assert word in done.stdout


def test_help_lists_only_options_a_user_may_pick() -> None:
    done = run_sweep("--help")
    assert done.returncode == 0, done.stderr
    groups = done.stdout.split("== Config groups ==")[1].split("== Config ==")[0]
    options = {
        line.split(": ")[0]: line.split(": ")[1].split(", ")
        for line in groups.splitlines()
        if ": " in line and not line.startswith("Choose")
    }
    assert options["tracker"] == ["mlflow", "none", "tensorboard", "wandb"]
    hidden = [f"{group}={name}" for group, names in options.items() for name in names]
    assert [option for option in hidden if "=_" in option] == []


def test_cfg_job_shows_the_trainer_settings() -> None:
    done = run_sweep("--cfg", "job", "--resolve", "method=fo_lora", "task=copa", "lr=3e-4")
    assert done.returncode == 0, done.stderr
    assert "lr: 0.0003" in done.stdout
    assert "  mode: lora" in done.stdout
    assert "legacy_scripts/fo_lora_finetune_original.sh" in done.stdout


def test_dry_run_writes_job_folders_and_runs_nothing(tmp_path: Path) -> None:
    # A space and a quote in the output path: command.sh must still be a valid command.
    root = tmp_path / "out dir's"
    probe = write_probe(tmp_path / "probe")
    log = tmp_path / "probe.jsonl"
    done = run_sweep(
        "model=llama1b", "task=copa", "method=zo", "-m", "lr=1e-6,5e-7",
        f"method.script={probe}", f"output_root='{_escaped(root)}'", "dry_run=true",
        env={"PROBE_LOG": str(log)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 jobs: 2 dry_run" in done.stdout
    assert not log.exists(), "a dry run must not start the script"

    job_dirs = sorted(root.glob("default/*/llama1b/copa_zo_original/*"))
    assert [job_dir.name for job_dir in job_dirs] == ["lr=1e-06", "lr=5e-07"]
    for job_dir in job_dirs:
        assert (job_dir / ".hydra" / "config.yaml").exists()
        result = json.loads((job_dir / "result.json").read_text())
        assert result["status"] == "dry_run"
        assert result["command"] not in done.stdout  # in command.sh, not on the console
        assert any(line.startswith(f"{job_dir.name} ") for line in done.stdout.splitlines())
        command = (job_dir / "command.sh").read_text().splitlines()[-1]
        assert "MODEL=meta-llama/Llama-3.2-1B" in command and "TASK_NAME=copa" in command

    # The recorded command reproduces the job by hand, beside the job's own record.
    subprocess.run(
        ["bash", str(job_dirs[0] / "command.sh")],
        env={**os.environ, "PROBE_LOG": str(log)},
        check=True,
        timeout=60,
    )
    assert [event["lr"] for event in probe_events(log)] == ["1e-06", "1e-06"]
    results = job_results(root)
    assert results[job_dirs[0].name]["status"] == "dry_run"
    (rerun,) = [name for name in results if name.startswith(f"{job_dirs[0].name}.rerun-")]
    assert results[rerun]["status"] == "ok"


def _escaped(path: Path) -> str:
    """A path inside a single-quoted Hydra override value."""
    return str(path).replace("\\", "\\\\").replace("'", "\\'")


def test_experiment_preset_holds_its_grid(tmp_path: Path) -> None:
    done = run_sweep("-m", "experiment=copa_baselines", "dry_run=true", f"output_root={tmp_path}")
    assert done.returncode == 0, done.stderr
    assert "9 jobs: 9 dry_run" in done.stdout
    (sweep_dir,) = (tmp_path / "copa_baselines").iterdir()
    jobs = sorted(str(p.parent.relative_to(sweep_dir)) for p in sweep_dir.rglob("command.sh"))
    assert jobs == [
        f"smollm2_135m/copa_{method}_original/seed={seed}"
        for method in ("fo_full", "fo_lora", "zo") for seed in (0, 1, 2)
    ]  # fmt: skip
