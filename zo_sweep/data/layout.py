"""Where a task's files are: split files inside a task folder, and the shipped example data.

A task folder holds one file per split, named either ``<prefix>_<split>.<ext>`` (the research
group's layout: ``Copa/copa_train.jsonl``, ``ArcC_MC/ARC-Challenge_test.jsonl``) or plainly
``<split>.<ext>`` (``train.csv``). The validation split may also be called dev, valid or val.
"""

from __future__ import annotations

import logging
from pathlib import Path

import zo_sweep
from zo_sweep.data.readers import READERS
from zo_sweep.data.tasks import DataError, TaskSpec, load_task_spec

log = logging.getLogger(__name__)

EXAMPLE_DATA_DIR = Path(zo_sweep.__file__).resolve().parent / "example_data"
DATA_KINDS = ("original", "synthetic")
SPLIT_ALIASES = {
    "train": ("train",),
    "validation": ("validation", "dev", "valid", "val"),
    "test": ("test",),
}


def example_data_root(kind: str = "original") -> Path:
    """The folder of shipped example task folders (Copa/, CB/, ...) for original or synthetic."""
    if kind not in DATA_KINDS:
        raise DataError(f"unknown example data kind '{kind}' (known: {', '.join(DATA_KINDS)})")
    return EXAMPLE_DATA_DIR / kind


def resolve_task_dir(task: str | Path) -> Path:
    """A task folder; a bare task name ("copa") that is not a folder means its example data."""
    path = Path(task).expanduser()
    if path.is_dir():
        return path
    if len(path.parts) == 1:
        try:
            folder = load_task_spec(path.name).folder
        except DataError:
            pass
        else:
            log.info("'%s' is not a folder: using the example data of task %s", task, path.name)
            return example_data_root("original") / folder
    raise DataError(f"task data folder '{task}' not found")


def split_file(task_dir: Path, split: str, spec: TaskSpec) -> Path | None:
    """The file holding one split of a task folder, or None if there is none."""
    stems = set()
    for alias in SPLIT_ALIASES[split]:
        stems.add(alias)
        if spec.file_prefix:
            stems.add(f"{spec.file_prefix}_{alias}".lower())
    matches = sorted(
        path
        for path in task_dir.iterdir()
        if path.is_file() and path.suffix.lower() in READERS and path.stem.lower() in stems
    )
    if len(matches) > 1:
        names = ", ".join(path.name for path in matches)
        raise DataError(f"{task_dir.name}/: more than one {split} file ({names}); keep one")
    return matches[0] if matches else None


def expected_names(split: str, spec: TaskSpec) -> str:
    """How a split file may be named, for error messages."""
    stems = [f"{spec.file_prefix}_{split}"] if spec.file_prefix else []
    return " or ".join(f"{stem}.*" for stem in [*stems, split])
