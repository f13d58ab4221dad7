"""`python -m zo_sweep.summary --export tensorboard|mlflow|wandb DEST`: finished jobs into a tracker.

Replays what the job directories hold (every metrics.jsonl line, the result record, the
hyperparameters) through the same trackers the trainer feeds live (zo_sweep.train.trackers),
so any sweep can be looked at in TensorBoard, MLflow or W&B afterwards: jobs of external scripts,
and old results imported by a row source (their final numbers only). Runs are grouped by
purpose and cell and named by their job folder. A job already in DEST is not exported again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from zo_sweep import records
from zo_sweep.summary import schema
from zo_sweep.train.tracker_stores import OUTPUT_DIR_TAG, mlflow_uri, wandb_has_run
from zo_sweep.train.trackers import PACKAGES, open_tracker

KINDS = tuple(PACKAGES)
# Rows with nothing finished to show.
NOT_EXPORTED = (schema.RUNNING, schema.MISSING, schema.LOST, schema.CORRUPT, records.DRY_RUN)
PARAM_COLUMNS = ("purpose", "timestamp", *schema.CELL, *schema.HPARAMS, "seed")


def export_jobs(frame: pd.DataFrame, kind: str, dest: Path) -> int:
    """Export every finished row of `frame` not yet in `dest`; returns how many were."""
    done = _exported_paths(kind, dest)
    exported = 0
    for row in frame.to_dict("records"):
        path = str(Path(row["path"]).resolve()) if isinstance(row.get("path"), str) else None
        if row.get("status") in NOT_EXPORTED or path is None or path in done:
            continue
        if kind == "tensorboard" and (dest / group_of(row) / run_name_of(row)).exists():
            continue
        if kind == "wandb" and wandb_has_run(dest, path):
            continue
        _export_one(row, path, kind, dest)
        exported += 1
    return exported


def group_of(row: Mapping[str, Any]) -> str:
    """`<purpose>/<model>/<task>_<method>_<data>`, as the live trackers group runs."""
    cell = "_".join(str(row.get(key)) for key in ("task", "method", "data"))
    return f"{row.get('purpose')}/{row.get('model')}/{cell}"


def run_name_of(row: Mapping[str, Any]) -> str:
    """A job's folder name holds its varied keys; an old result's file name its lr and tag."""
    path = Path(str(row["path"]))
    return path.name if path.is_dir() else path.stem


def _export_one(row: Mapping[str, Any], path: str, kind: str, dest: Path) -> None:
    params = {key: _plain(row.get(key)) for key in PARAM_COLUMNS if _present(row.get(key))}
    tracker = open_tracker(
        kind, dest, group_of(row), run_name_of(row), params, tags={OUTPUT_DIR_TAG: path}
    )
    assert tracker is not None  # KINDS holds only real trackers
    job_dir = Path(path)
    if job_dir.is_dir():
        for line in records.read_metrics(job_dir):
            if isinstance(line.get("step"), int | float):
                tracker.log_metrics(int(line["step"]), line)
    tracker.log_summary(_summary(row, job_dir))
    tracker.close(str(row.get("status")))


def _summary(row: Mapping[str, Any], job_dir: Path) -> dict[str, Any]:
    """The job's own result.json, or the row's result columns for rows without one."""
    try:
        result = records.read_result(job_dir) if job_dir.is_dir() else None
    except ValueError:
        result = None
    if result:
        return result
    columns = {key: _plain(row.get(key)) for key in schema.RESULT_COLUMNS}
    return {"status": row.get("status"), **{k: v for k, v in columns.items() if _present(v)}}


def _exported_paths(kind: str, dest: Path) -> set[str]:
    """The job paths a store already holds (MLflow tags each run with its output_dir)."""
    if kind != "mlflow" or not (dest / "mlflow.db").exists():
        return set()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_uri(dest))
    experiments = [e.experiment_id for e in client.search_experiments()]
    return {tag for tag in _run_tags(client, experiments, OUTPUT_DIR_TAG) if tag}


def _run_tags(client: Any, experiment_ids: list[str], tag: str) -> Iterator[str]:
    token = None
    while experiment_ids:
        page = client.search_runs(experiment_ids, max_results=1000, page_token=token)
        yield from (run.data.tags.get(tag, "") for run in page)
        token = page.token
        if not token:
            return


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value
