"""Writing task folders from the Hugging Face hub: ``python -m zo_sweep.data export``.

The conversion (`write_task_folder`) takes in-memory datasets and needs no network; the hub
call (`load_hub_splits`) is a thin wrapper that reads the dataset named in the task's YAML
(``hub: {path, name}``). `datasets` is an optional extra (``pip install zo_sweep[hub]``).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tqdm import tqdm

from zo_sweep.data.layout import SPLIT_ALIASES
from zo_sweep.data.tasks import DataError, RecordError, TaskSpec

log = logging.getLogger(__name__)


def export_task(spec: TaskSpec, out_root: str | Path) -> Path:
    """Download a task from the hub and write its folder under ``out_root``."""
    return write_task_folder(spec, load_hub_splits(spec), out_root)


def load_hub_splits(spec: TaskSpec) -> dict[str, Any]:
    """The task's hub dataset as {split name: datasets.Dataset}; one-line DataError offline."""
    if not spec.hub.get("path"):
        raise DataError(
            f"task {spec.name} names no hub dataset ('hub: {{path, name}}' in its YAML)"
        )
    try:
        import datasets
    except ImportError:
        raise DataError(
            "exporting needs the 'datasets' package: pip install 'zo_sweep[hub]'"
        ) from None
    source = _hub_source(spec)
    # The hub client logs every retry on its own handler; the one-line error below is enough.
    datasets.logging.set_verbosity_error()
    import huggingface_hub

    huggingface_hub.logging.set_verbosity_error()
    try:
        loaded = datasets.load_dataset(spec.hub["path"], spec.hub.get("name"))
    except Exception as err:  # offline, unknown name, hub errors: all reported the same way
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise DataError(f"cannot load {source} from the Hugging Face hub: {first_line}") from None
    return dict(loaded)


def write_task_folder(
    spec: TaskSpec, splits: Mapping[str, Iterable[Mapping[str, Any]]], out_root: str | Path
) -> Path:
    """Write ``<out_root>/<folder>/<prefix>_<split>.jsonl`` for each labeled split.

    ``splits`` maps split names (train, validation, test) to a `datasets.Dataset` or any
    iterable of records. Every record is checked against the task before anything is written.
    """
    folder = Path(out_root) / spec.folder
    checked = {}
    for split, records in splits.items():
        if split not in SPLIT_ALIASES:
            log.info("%s: skipping split '%s' (not train, validation or test)", spec.name, split)
            continue
        rows = [dict(record) for record in records]
        if all(spec.is_unlabeled(row) for row in rows):
            log.info("%s: skipping split '%s' (no labels)", spec.name, split)
            continue
        _check_records(spec, split, rows)
        checked[split] = rows
    if "train" not in checked:
        raise DataError(f"{spec.name}: the hub dataset has no labeled train split")
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in checked.items():
        _write_jsonl(
            folder / f"{spec.file_prefix or ''}{'_' if spec.file_prefix else ''}{split}.jsonl", rows
        )
    return folder


def _check_records(spec: TaskSpec, split: str, rows: list[dict[str, Any]]) -> None:
    for number, row in enumerate(rows, start=1):
        try:
            spec.make_example(row)
        except RecordError as err:
            raise DataError(f"{_hub_source(spec)} {split} row {number}: {err}") from None


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in tqdm(rows, desc=path.name, unit="rec", leave=False):
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)  # a reader never sees a half-written file
    log.info("wrote %s (%d records)", path, len(rows))


def _hub_source(spec: TaskSpec) -> str:
    return " ".join(str(part) for part in (spec.hub.get("path"), spec.hub.get("name")) if part)
