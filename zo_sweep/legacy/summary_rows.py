"""Old results as summary rows: every log under a folder becomes a row or a named warning.

Two layouts are read:
- the old scripts': `results/<Model>/<Task>/<method>/<data kind>/<lr>_<tag>.out` and `.err`,
  where the data kind folder (original, synthetic, orig_n_syn, rejection_sampling, any other
  name) is the run's data identity (`data` and `data_id`);
- the first automation's: `Results_v2/<purpose>/<model>/<Task>_<method>_<dataset>_<lr>/
  <YYYYMMDD_HHMMSS>/` with `experiment_config.yaml` and `<lr>_train.out/.err` (`results_v2`).

Each run has status `legacy`, or `incomplete` when it left no closing metrics (killed,
crashed, still running; the error is the last error line of its `.err`). A log that cannot be
placed (no learning rate in its name, a folder outside the layout) is skipped with a warning
naming the file and the reason. `zo_sweep.summary` calls `read_rows` on every folder it is
given, so `python -m zo_sweep.summary results/ outputs/` shows old and new runs together.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from zo_sweep import records
from zo_sweep.legacy import old_logs, results_v2
from zo_sweep.summary.load import SummaryWarning

PURPOSE = "legacy"
LOG_SUFFIXES = (".out", ".err")
OTHER_LOG_SUFFIXES = (".log",)
# Method folders of the old layout -> zo_sweep's method.
METHOD_FOLDERS = {"zo": "zo", "mezo": "zo", "zo_lora": "zo_lora", "fo_full": "fo_full",
                  "ft": "fo_full", "fo_lora": "fo_lora", "lora": "fo_lora"}  # fmt: skip
LAYOUT = "<Model>/<Task>/<method>/<data>/<lr>_<tag>.out"
PROGRESS_MIN_FILES = 200


class OldResultsWarning(SummaryWarning):
    """A log under an old results folder that became no row (the message says which and why)."""


@dataclass
class Import:
    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "<file>: <reason>", one per log

    def tally(self) -> str:
        statuses = [row["status"] for row in self.rows]
        counts = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses)))
        return (
            f"{len(self.rows)} old runs" + (f" ({counts})" if counts else "")
            + f", {len(self.skipped)} log files skipped"
        )  # fmt: skip


def read_rows(root: Path, *, progress: bool | None = None) -> list[dict[str, Any]]:
    """One row per old run under `root`; each skipped log is an OldResultsWarning."""
    found = read_results(root, progress=progress)
    for skipped in found.skipped:
        warnings.warn(f"skipped {skipped}", OldResultsWarning, stacklevel=2)
    return found.rows


def read_results(root: Path, *, progress: bool | None = None) -> Import:
    found = Import()
    folders = list(log_folders(Path(root)))
    show = len(folders) >= PROGRESS_MIN_FILES if progress is None else progress
    for folder, files in tqdm(folders, desc="reading old results", disable=not show):
        if results_v2.CONFIG_FILE in files:
            rows, skipped = results_v2.run_rows(folder, files)
            found.rows += rows
            found.skipped += skipped
        else:
            read_folder(folder, files, found)
    return found


def log_folders(root: Path) -> list[tuple[Path, list[str]]]:
    """Every folder under root holding logs, with its file names (zo_sweep jobs left out)."""
    folders = []
    for folder, subfolders, files in os.walk(root):
        # Job directories of zo_sweep (and hidden folders) hold no old results: skip them whole.
        if records.HYDRA_DIR in subfolders:
            subfolders.clear()
            continue
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        if any(name.endswith(LOG_SUFFIXES + OTHER_LOG_SUFFIXES) for name in files):
            folders.append((Path(folder).resolve(), sorted(files)))
    return folders


def read_folder(folder: Path, files: list[str], found: Import) -> None:
    """The runs of one <Model>/<Task>/<method>/<data> folder, and its unreadable logs."""
    for name in files:
        if name.endswith(OTHER_LOG_SUFFIXES):
            found.skipped.append(f"{folder / name}: not an old run's log (.out or .err)")
    stems = sorted({name.rsplit(".", 1)[0] for name in files if name.endswith(LOG_SUFFIXES)})
    method = METHOD_FOLDERS.get(folder.parent.name.lower())
    for stem in stems:
        log = _log_path(folder, stem)
        settings = old_logs.name_fields(stem)
        if method is None:
            found.skipped.append(
                f"{log}: not in the layout {LAYOUT} (unknown method folder "
                f"{folder.parent.name!r}; known: {', '.join(METHOD_FOLDERS)})"
            )
        elif settings is None:
            found.skipped.append(f"{log}: no learning rate at the start of the file name")
        else:
            found.rows.append(run_row(folder, stem, method, settings))


def run_row(folder: Path, stem: str, method: str, settings: dict[str, Any]) -> dict[str, Any]:
    """The row of one old run: its place in the tree, its file names, and its closing metrics."""
    out, err = (folder / f"{stem}{suffix}" for suffix in LOG_SUFFIXES)
    task = old_logs.task_name(folder.parent.parent.name)
    row: dict[str, Any] = {
        "purpose": PURPOSE,
        "timestamp": old_logs.modified(out, err),
        "model": old_logs.model_name(folder.parent.parent.parent.name),
        "task": task,
        "method": method,
        "data": folder.name,
        "data_id": folder.name,
        "path": str(_log_path(folder, stem)),
        **settings,
    }
    return {**row, **old_logs.log_fields(out, err, old_logs.primary_metric(task))}


def _log_path(folder: Path, stem: str) -> Path:
    out, err = (folder / f"{stem}{suffix}" for suffix in LOG_SUFFIXES)
    return out if out.exists() else err
