"""`python -m zo_sweep.train` end to end: outputs, determinism, divergence, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zo_sweep import mezo_log, records
from zo_sweep.data import example_data_root
from zo_sweep.train.cli import main

SST2 = example_data_root("original") / "SST-2"


def run_env(tiny_model_dir: Path, out: Path, **overrides: str) -> dict[str, str]:
    env = {
        "MODEL": str(tiny_model_dir),
        "TASK": str(SST2),
        "TRAINER": "zo",
        "MODE": "ft",
        "LR": "1e-3",
        "BS": "4",
        "STEPS": "4",
        "EVAL_STEPS": "2",
        "LOG_STEPS": "1",
        "TRAIN": "16",
        "DEV": "8",
        "EVAL": "8",
        "OUTPUT_DIR": str(out),
    }
    env.update(overrides)
    return env


def run_main(monkeypatch, env: dict[str, str]) -> int:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return main([])


def test_env_driven_run_writes_the_contract_files(tiny_model_dir, tmp_path) -> None:
    out = tmp_path / "job"
    env = {**os.environ, **run_env(tiny_model_dir, out)}
    completed = subprocess.run(
        [sys.executable, "-m", "zo_sweep.train"], env=env, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    parsed = mezo_log.parse_closing_lines(completed.stdout.splitlines())
    assert parsed is not None and set(parsed[1]) >= {"accuracy", "dev_accuracy"}
    result = records.read_result(out)
    assert result["status"] == "ok" and result["steps_done"] == 4
    for key in (
        "zero_shot_dev",
        "best_dev",
        "best_step",
        "test_at_best",
        "final_dev",
        "wall_seconds",
        "peak_memory_mb",
        "environment",
    ):
        assert result[key] is not None, key
    assert result["environment"]["packages"]["torch"]
    steps = [line["step"] for line in records.read_metrics(out)]
    assert steps[0] == 0 and max(steps) == 4
    assert not (out / "best_state.pt").exists()


@pytest.mark.parametrize(
    ("trainer", "mode"), [("zo", "lora"), ("regular", "ft"), ("regular", "lora")]
)
def test_every_method_runs(monkeypatch, tiny_model_dir, tmp_path, trainer, mode) -> None:
    env = run_env(tiny_model_dir, tmp_path, TRAINER=trainer, MODE=mode, RANK="2", ALPHA="4")
    assert run_main(monkeypatch, env) == 0
    result = records.read_result(tmp_path)
    assert result["status"] == "ok" and result["mode"] == mode


def test_same_seed_same_metrics(monkeypatch, tiny_model_dir, tmp_path) -> None:
    results = []
    for name in ("a", "b"):
        assert run_main(monkeypatch, run_env(tiny_model_dir, tmp_path / name, LR="5e-2")) == 0
        results.append(
            [
                {k: v for k, v in line.items() if k != "seconds"}
                for line in records.read_metrics(tmp_path / name)
            ]
        )
    assert results[0] == results[1]


def test_huge_learning_rate_is_recorded_as_diverged(monkeypatch, tiny_model_dir, tmp_path) -> None:
    env = run_env(tiny_model_dir, tmp_path, TRAINER="regular", OPTIM="sgd", LR="1e30", STEPS="6")
    assert run_main(monkeypatch, env) == 0
    result = records.read_result(tmp_path)
    assert result["status"] == "diverged"
    assert result["steps_done"] < 6


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"LR": "-1"}, "LR=-1.0: must be > 0"),
        ({"LR": "inf"}, "LR=inf: must be a finite number"),
        ({"LR": "fast"}, "LR: Value 'fast' of type 'str' could not be converted to Float"),
        ({"RANK": "0", "MODE": "lora"}, "RANK=0: must be >= 1"),
        ({"TRAINER": "sgd"}, "TRAINER='sgd': use one of zo, regular"),
        ({"BS": "0"}, "BS=0: must be >= 1"),
        ({"GRAD_CKPT": "maybe"}, "GRAD_CKPT: Value 'maybe' is not a valid bool"),
        ({"MODE": "lora", "LORA_TARGETS": "no_such_proj"}, "LORA_TARGETS=['no_such_proj']"),
        ({"MODEL": "no-such-org/no-such-model"}, "model 'no-such-org/no-such-model' not found"),
    ],
)
def test_bad_input_is_one_line(
    monkeypatch, capsys, tiny_model_dir, tmp_path, overrides, message
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert run_main(monkeypatch, run_env(tiny_model_dir, tmp_path, **overrides)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1], err


def test_malformed_data_file_names_file_and_line(
    monkeypatch, capsys, tiny_model_dir, tmp_path
) -> None:
    folder = tmp_path / "SST-2"
    folder.mkdir()
    good = json.dumps({"sentence": "fine", "label": 1})
    (folder / "sst2_train.jsonl").write_text(f"{good}\n{{not json\n")
    (folder / "sst2_validation.jsonl").write_text(f"{good}\n")
    env = run_env(tiny_model_dir, tmp_path / "out", TASK=str(folder))
    assert run_main(monkeypatch, env) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "sst2_train.jsonl" in line and "line 2" in line


def test_zero_steps_is_a_zero_shot_run(monkeypatch, tiny_model_dir, tmp_path) -> None:
    (tmp_path / records.METRICS_FILE).write_text('{"step": 99, "loss": 1.0}\n')
    assert run_main(monkeypatch, run_env(tiny_model_dir, tmp_path, STEPS="0")) == 0
    result = records.read_result(tmp_path)
    assert result["steps_done"] == 0 and result["best_step"] == 0
    assert result["final_dev"] == result["best_dev"] == result["zero_shot_dev"]
    assert result["test_at_best"] == result["zero_shot_test"]
    # The stale line of an earlier run in the same folder is gone.
    assert [line["step"] for line in records.read_metrics(tmp_path)] == [0]


def test_flags_override_env_and_land_in_hparams(monkeypatch, tiny_model_dir, tmp_path) -> None:
    for key, value in run_env(tiny_model_dir, tmp_path, STEPS="2").items():
        monkeypatch.setenv(key, value)
    assert main(["--steps", "1", "--wd", "0.1", "--lr-scheduler", "linear"]) == 0
    result = records.read_result(tmp_path)
    assert result["steps_done"] == 1
    assert result["hparams"]["wd"] == 0.1 and result["hparams"]["lr_scheduler"] == "linear"
    assert result["seconds_per_step"] > 0


def test_sigterm_ends_the_run_cleanly(tiny_model_dir, tmp_path) -> None:
    """A job's timeout sends SIGTERM: the run stops with 143 and leaves no best-state file."""
    import signal
    import time

    out = tmp_path / "job"
    env = {
        **os.environ,
        **run_env(tiny_model_dir, out, STEPS="100000", EVAL_STEPS="1", LR="5e-2", LOG_STEPS="1"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "zo_sweep.train"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(records.read_metrics(out)) < 6 and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err[-2000:]
    assert err.strip().splitlines()[-1] == "terminated"
    assert not (out / "best_state.pt").exists()


def test_synthetic_base_script_tests_on_the_original_data_of_eval_root(
    tiny_model_dir, tmp_path, repo_root
) -> None:
    out = tmp_path / "job"
    synthetic = example_data_root("synthetic") / "SST-2"
    original = str(example_data_root("original"))
    settings = run_env(tiny_model_dir, out, TASK=str(synthetic), STEPS="1", EVAL_ROOT=original)
    env = {**os.environ, **settings}
    script = repo_root / "legacy_scripts" / "mezo_finetune_synthetic.sh"
    completed = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = records.read_result(out)
    assert Path(result["task_dir"]) == synthetic
    assert Path(result["test_dir"]) == example_data_root("original") / "SST-2"
    assert result["eval_split"] == "validation" and result["data_id"] == "synthetic"
