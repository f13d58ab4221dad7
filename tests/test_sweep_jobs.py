"""What a sweep's jobs record: statuses, failures among good jobs, foreign scripts' logs."""

from __future__ import annotations

import json
from pathlib import Path

from helpers.sweep import job_results, probe_events, run_sweep, write_probe

from zo_sweep.sweep.handoff import env_value
from zo_sweep.sweep.job import JobCommand


def test_failing_job_does_not_stop_the_sweep(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    log = tmp_path / "probe.jsonl"
    done = run_sweep(
        "-m", "lr=1e-4,0.9,1e-5", f"method.script={probe}", f"output_root={tmp_path / 'out'}",
        env={"PROBE_LOG": str(log), "FAIL_AT_LR": "0.5"},
    )  # fmt: skip
    assert done.returncode == 1
    assert "3 jobs: 2 ok, 1 failed" in done.stdout
    # The failing job ran second; the third still ran.
    assert [e["lr"] for e in probe_events(log) if e["event"] == "start"] == [
        "0.0001",
        "0.9",
        "1e-05",
    ]

    results = job_results(tmp_path / "out")
    failed = results["lr=0.9"]
    assert failed["status"] == "failed" and failed["exit_code"] == 3
    assert failed["error"] == "script exited with code 3: probe: learning rate too high"
    assert failed["error_tail"] == ["probe: learning rate too high"]
    good = results["lr=0.0001"]
    assert good["status"] == "ok" and good["exit_code"] == 0
    assert good["best_dev"] == 1 - 1e-4
    assert len(good["config_hash"]) == 16 and good["job_seconds"] > 0
    assert good["command"].endswith(f"bash {probe}")
    assert good["config_hash"] != results["lr=1e-05"]["config_hash"]


def test_groups_and_hyperparameters_sweep_together(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        "-m", "task=copa,cb", "method=zo,fo_lora", "seed=0,1", f"method.script={probe}",
        f"output_root={tmp_path}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "8 jobs: 8 ok" in done.stdout
    (sweep_dir,) = tmp_path.glob("default/*")
    job_dirs = sorted(str(p.parent.relative_to(sweep_dir)) for p in sweep_dir.rglob("result.json"))
    assert job_dirs == [
        f"smollm2_135m/{task}_{method}_original/seed={seed}"
        for task in ("cb", "copa") for method in ("fo_lora", "zo") for seed in (0, 1)
    ]  # fmt: skip
    command = (sweep_dir / "smollm2_135m/cb_fo_lora_original/seed=1/command.sh").read_text()
    assert "MODE=lora" in command and "TASK_NAME=cb" in command and "SEED=1" in command
    assert "LR=0.0001" in command  # fo_lora's default learning rate


def test_foreign_script_is_read_through_mezo_log_lines(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        "-m", "lr=1e-6", "task=cb", f"method.script={probe}", f"output_root={tmp_path}",
        env={"PROBE_OUTPUT": "mezo_log"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (result_path,) = tmp_path.rglob("result.json")
    result = json.loads(result_path.read_text())
    assert result["status"] == "ok"
    assert result["metric"] == "accuracy"
    assert result["best_dev"] == 0.9 and result["test_at_best"] == 0.87
    assert result["dev_metrics"] == {"accuracy": 0.9}
    assert result["test_metrics"] == {"accuracy": 0.87}


def test_single_run_lands_in_the_run_layout(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    done = run_sweep(
        "lr=2e-5", "purpose=smoke", f"method.script={probe}", f"output_root={tmp_path}"
    )
    assert done.returncode == 0, done.stderr
    (result_path,) = tmp_path.glob("smoke/smollm2_135m/sst2_zo_original/*/result.json")
    assert json.loads(result_path.read_text())["status"] == "ok"
    assert "1 job: 1 ok" in done.stdout


def test_script_path_with_spaces_and_quotes(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "a folder's scripts")
    quoted = str(probe).replace("'", "\\'")
    done = run_sweep(
        "-m", "lr=1e-6", f"method.script='{quoted}'", f"output_root={tmp_path / 'out'}"
    )
    assert done.returncode == 0, done.stderr
    (result,) = job_results(tmp_path / "out").values()
    assert result["status"] == "ok"


def test_a_job_directory_is_never_reused(tmp_path: Path) -> None:
    probe = write_probe(tmp_path / "probe")
    run_dir = tmp_path / "fixed"
    common = [f"method.script={probe}", f"hydra.run.dir={run_dir}", f"output_root={tmp_path}"]
    assert run_sweep("lr=1e-4", *common).returncode == 0
    before = (run_dir / "result.json").read_text()
    snapshot = (run_dir / ".hydra" / "config.yaml").read_text()
    again = run_sweep("lr=2e-4", *common)
    assert again.returncode == 2
    assert (
        again.stderr.strip()
        == f"error: {run_dir} already holds jobs; nothing is overwritten, start again"
    )
    assert (run_dir / "result.json").read_text() == before
    assert (run_dir / ".hydra" / "config.yaml").read_text() == snapshot


def test_environment_values_and_quoting() -> None:
    assert [env_value(v) for v in (1e-5, 0.001, 16, True, None, ["q_proj", "v_proj"])] == [
        "1e-05", "0.001", "16", "true", "None", "q_proj,v_proj",
    ]  # fmt: skip
    command = JobCommand(
        script=Path("/scripts/it's here/run.sh"),
        env={"TASK": "/data/My Tasks/Copa"},
        cwd=Path("/w"),
    )
    assert command.shell_line() == (
        "cd /w && env 'TASK=/data/My Tasks/Copa' bash '/scripts/it'\"'\"'s here/run.sh'"
    )
