"""Runs of the group's first automation: `Results_v2/<purpose>/<model>/<Task>_<method>_<dataset>_<lr>/
<YYYYMMDD_HHMMSS>/`, each with the study file it ran (`experiment_config.yaml`) and
`<lr>_train.out` / `.err`. The study file says what ran (model, task, method, data, the
hyperparameters, the purpose and description); the log names and the folder say the rest.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from zo_sweep.legacy import old_logs
from zo_sweep.legacy.study import StudyError, read_study

CONFIG_FILE = "experiment_config.yaml"
LOG_SUFFIXES = (".out", ".err")
RUN_FOLDER_TIME = "%Y%m%d_%H%M%S"


def run_rows(folder: Path, files: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The rows of one run folder (one per learning rate logged there), and what was skipped."""
    config = folder / CONFIG_FILE
    try:
        study = read_study(yaml.safe_load(config.read_text(errors="replace")))
    except (StudyError, yaml.YAMLError, OSError) as err:
        problem = str(err).replace("\n", " ")
        return [], [f"{folder / name}: {CONFIG_FILE}: {problem}" for name in _logs(files)]
    rows, skipped = [], []
    for stem in sorted({name.rsplit(".", 1)[0] for name in _logs(files)}):
        settings = old_logs.name_fields(stem) or _folder_lr(folder)
        log = folder / f"{stem}.out"
        if settings is None:
            skipped.append(f"{log}: no learning rate in the file or folder name")
            continue
        out, err = log, folder / f"{stem}.err"
        row = {
            "purpose": study.purpose or folder.parent.parent.parent.name,
            "description": study.description,
            "timestamp": _folder_time(folder.name) or old_logs.modified(out, err),
            "model": old_logs.model_name(study.model),
            "task": study.task,
            "method": study.method,
            "data": study.data,
            "data_id": study.data_id or study.data,
            "path": str(out if out.exists() else err),
            **_single_values(study.hparams),
            **settings,
        }
        rows.append({**row, **old_logs.log_fields(out, err, old_logs.primary_metric(study.task))})
    return rows, skipped


def _logs(files: list[str]) -> list[str]:
    return [name for name in files if name.endswith(LOG_SUFFIXES)]


def _folder_lr(folder: Path) -> dict[str, Any] | None:
    """The learning rate at the end of `<Task>_<method>_<dataset>_<lr>`."""
    return old_logs.name_fields(folder.parent.name.rsplit("_", 1)[-1])


def _folder_time(name: str) -> str | None:
    try:
        return datetime.strptime(name, RUN_FOLDER_TIME).isoformat(timespec="seconds")
    except ValueError:
        return None


def _single_values(hparams: dict[str, list[str]]) -> dict[str, Any]:
    """The hyperparameters the study fixed to one value (a list was spread over runs)."""
    return {key: values[0] for key, values in hparams.items() if len(values) == 1}
