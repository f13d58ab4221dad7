"""Old results as summary rows: results/<Model>/<Task>/<method>/<data>/<lr>_<tag>.out and .err.

The old scripts redirected each run's stdout and stderr to `<lr>_<tag>.out` / `.err`; MeZO's
run.py ends a run with `===== Train set N =====` and a dict of metrics (test metrics plain,
dev metrics prefixed `dev_`). Each .out/.err pair becomes one row of the summary's schema
(zo_sweep.summary.schema) with status `legacy`, or `incomplete` when the run left no such
pair (killed, crashed, still running). `zo_sweep.summary` calls `read_rows` on every folder it
is given, so `python -m zo_sweep.summary results/ outputs/` shows old and new runs together.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from zo_sweep import records
from zo_sweep.data.tasks import DataError, load_task_spec, primary_metric
from zo_sweep.legacy import zo_config

LEGACY = "legacy"
INCOMPLETE = "incomplete"
PURPOSE = "legacy"
LOG_SUFFIXES = (".out", ".err")
# <lr>_<tag>, e.g. 1e-6_original; an optional rk<rank>n<alpha> part names LoRA runs.
LOG_STEM = re.compile(r"^(?P<lr>[0-9.]+(?:e-?[0-9]+)?)(?:_(?P<tag>.*))?$", re.IGNORECASE)
LORA_TAG = re.compile(r"rk(?P<rank>\d+)n(?P<alpha>\d+)")
OLD_METHOD_FOLDERS = ("zo", "zo_lora", "fo_full", "fo_lora")
PROGRESS_MIN_FILES = 200


def read_rows(root: Path, *, progress: bool | None = None) -> list[dict[str, Any]]:
    """One row per old run found under `root` (nothing for folders of another layout)."""
    runs = sorted(find_old_runs(Path(root)))
    show = len(runs) >= PROGRESS_MIN_FILES if progress is None else progress
    return [
        run_row(folder, stem)
        for folder, stem in tqdm(runs, desc="reading old results", unit="run", disable=not show)
    ]


def find_old_runs(root: Path) -> Iterator[tuple[Path, str]]:
    """(folder, file stem) of every <method>/<data>/<lr>_<tag>.out|.err under root."""
    data_kinds = zo_config.data_kinds()
    for folder, subfolders, files in os.walk(root):
        # Job directories of zo_sweep (and hidden folders) hold no old results: skip them whole.
        if records.HYDRA_DIR in subfolders:
            subfolders.clear()
            continue
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        path = Path(folder).resolve()
        if path.name not in data_kinds or path.parent.name not in OLD_METHOD_FOLDERS:
            continue
        stems = {
            name[: -len(suffix)]
            for name in files
            for suffix in LOG_SUFFIXES
            if name.endswith(suffix)
        }
        for stem in stems:
            yield path, stem


def run_row(folder: Path, stem: str) -> dict[str, Any]:
    """The row of one old run: its place in the tree, its file names, and its closing metrics."""
    data, method, task_folder, model_folder = (
        folder.name,
        folder.parent.name,
        folder.parent.parent.name,
        folder.parent.parent.parent.name,
    )
    logs = [folder / f"{stem}{suffix}" for suffix in LOG_SUFFIXES]
    row: dict[str, Any] = {
        "purpose": PURPOSE,
        "timestamp": _modified(logs),
        "model": model_name(model_folder),
        "task": task_name(task_folder),
        "method": method,
        "data": data,
        "path": str(next((log for log in logs if log.exists()), logs[0])),
        **name_fields(stem),
    }
    if row.get("lr") is None:
        return {**row, "status": INCOMPLETE, "error": f"{stem}: no learning rate in the file name"}
    return {**row, **log_fields(logs, primary_metric(row["task"]))}


def name_fields(stem: str) -> dict[str, Any]:
    """lr (and rank and alpha, from an rk<r>n<a> part) read from a log's file name."""
    match = LOG_STEM.match(stem)
    if not match:
        return {"lr": None}
    fields: dict[str, Any] = {"lr": float(match.group("lr"))}
    lora = LORA_TAG.search(match.group("tag") or "")
    if lora:
        fields.update(rank=int(lora.group("rank")), alpha=int(lora.group("alpha")))
    return fields


def log_fields(logs: list[Path], primary: str) -> dict[str, Any]:
    """Metrics from MeZO's closing lines in the .out or .err file, else status incomplete."""
    for log in logs:
        try:
            with open(log, errors="replace") as handle:
                found = records.parse_mezo_log(handle)
        except OSError:
            continue
        if found is not None:
            return metric_fields(found[1], primary)
    return {
        "status": INCOMPLETE,
        "error": f"no '===== Train set N =====' summary in {logs[0].name} or {logs[1].name}"
        f"{_last_error_line(logs[1])}",
    }


def metric_fields(metrics: dict[str, Any], primary: str) -> dict[str, Any]:
    fields = records.mezo_metric_fields(metrics, primary)
    return {"status": LEGACY, **{key: fields[key] for key in SUMMARY_METRIC_KEYS}}


SUMMARY_METRIC_KEYS = ("metric", "best_dev", "final_dev", "test_at_best")


def model_name(folder: str) -> str:
    """zo_sweep's model name for an old model folder (Llama-3.2-1B -> llama1b), else the folder."""
    by_folder = {
        Path(model_id).name: name for model_id, name in zo_config.model_names_by_id().items()
    }
    return by_folder.get(folder, folder)


def task_name(folder: str) -> str:
    try:
        return load_task_spec(folder).name
    except DataError:
        return folder


def _modified(logs: list[Path]) -> str | None:
    times = [log.stat().st_mtime for log in logs if log.exists()]
    return datetime.fromtimestamp(max(times)).isoformat(timespec="seconds") if times else None


def _last_error_line(err: Path, max_bytes: int = 8192) -> str:
    lines = [line.strip() for line in (records.read_tail(err, max_bytes) or "").splitlines()]
    last = next((line for line in reversed(lines) if line), "")
    return f"; last line of {err.name}: {last}" if last else ""
