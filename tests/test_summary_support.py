"""Hand-built job directories for the summary tests (the layout Hydra and the job runner write).

No tests here: the summary test modules import `write_job` and `write_config`.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import yaml

from zo_sweep import records

SWEEP_TIME = "2024-05-01_10-00-00"


def job_config(**overrides: Any) -> dict[str, Any]:
    """A composed job config as Hydra saves it (unresolved interpolations included)."""
    config = {
        "purpose": "paper",
        "output_root": "outputs",
        "lr": 1e-6,
        "bs": 16,
        "steps": 100,
        "seed": 0,
        "eps": 1e-3,
        "rank": 8,
        "alpha": 16,
        "num_train": 1000,
        "num_dev": "${task.num_dev}",
        "num_eval": 1000,
        "eval_steps": "${method.eval_steps}",
        "env": {"MODEL": "${model.id}", "LR": "${lr}"},
        "model": {"name": "llama1b", "id": "meta-llama/Llama-3.2-1B", "dtype": "bfloat16"},
        "task": {"name": "copa", "folder": "Copa", "num_dev": 100, "metrics": ["accuracy"]},
        "method": {
            "name": "zo",
            "mode": "ft",
            "script": "legacy_scripts/mezo_finetune_${data.name}.sh",
            "eval_steps": 50,
        },
        "data": {"name": "original", "root": "${example_data:original}", "synthetic_task": None},
    }
    groups = {"model": "name", "task": "name", "method": "name", "data": "name"}
    for key, value in overrides.items():
        if key in groups:
            # A name picks the option; a mapping overrides keys of the group (data.root, ...).
            changes = value if isinstance(value, dict) else {groups[key]: value}
            config[key] = {**config[key], **changes}
        else:
            config[key] = value
    return config


def job_path(root: Path, config: dict[str, Any], timestamp: str = SWEEP_TIME) -> Path:
    cell = f"{config['task']['name']}_{config['method']['name']}_{config['data']['name']}"
    varied = f"lr={config['lr']},seed={config['seed']}"
    return root / config["purpose"] / timestamp / config["model"]["name"] / cell / varied


def write_config(job_dir: Path, config: dict[str, Any]) -> None:
    hydra_dir = job_dir / records.HYDRA_DIR
    hydra_dir.mkdir(parents=True, exist_ok=True)
    (hydra_dir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    overrides = [f"lr={config['lr']}", f"seed={config['seed']}"]
    (hydra_dir / "overrides.yaml").write_text(yaml.safe_dump(overrides))


def write_job(
    root: Path,
    *,
    timestamp: str = SWEEP_TIME,
    result: dict[str, Any] | None = None,
    metrics: list[dict[str, Any]] | None = None,
    stderr: str = "",
    age_s: float | None = None,
    **config_overrides: Any,
) -> Path:
    """A job directory; `result=None` leaves result.json out, `age_s` back-dates its files."""
    config = job_config(**config_overrides)
    job_dir = job_path(root, config, timestamp)
    write_config(job_dir, config)
    (job_dir / records.COMMAND_FILE).write_text("#!/bin/bash\nbash legacy_scripts/run.sh\n")
    (job_dir / records.STDOUT_FILE).write_text("step 1\n")
    (job_dir / records.STDERR_FILE).write_text(stderr)
    for record in metrics or []:
        records.append_metrics(job_dir, record)
    if result is not None:
        records.write_json_atomic(job_dir / records.RESULT_FILE, result)
    if age_s is not None:
        past = (time.time() - age_s,) * 2
        for path in job_dir.rglob("*"):
            os.utime(path, past)
    return job_dir


def ok_result(
    best_dev: float, test: float, *, best_step: int = 100, **extra: Any
) -> dict[str, Any]:
    return {
        "status": records.OK,
        "metric": "accuracy",
        "zero_shot_dev": 0.5,
        "final_dev": best_dev,
        "best_dev": best_dev,
        "best_step": best_step,
        "test_at_best": test,
        "dev_metrics": {"accuracy": best_dev},
        "test_metrics": {"accuracy": test},
        "steps_done": 100,
        "wall_seconds": 12.5,
        "peak_memory_mb": 2048.0,
        **extra,
    }


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
