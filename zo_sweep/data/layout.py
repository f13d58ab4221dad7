"""Where a task's files are: task folders under a data root, split files inside a task folder,
and the shipped example data.

A data root holds one folder per task, named as the task's `folder`, its name or one of its
`aliases`, ignoring case and punctuation (`BOOLQ`, `BoolQ` and `boolq` are one task's folder).
A task folder holds one file per split, named ``<prefix>_<split>.<ext>`` (the research group's
layout: ``Copa/copa_train.jsonl``, ``ArcC_MC/ARC-Challenge_test.jsonl``; the prefix is the
task's `file_prefix`, name or folder name) or plainly ``<split>.<ext>`` (``train.csv``). The
validation split may also be called dev, valid or val.
"""

from __future__ import annotations

import logging
from pathlib import Path

from zo_sweep import EXAMPLE_DATA_DIR
from zo_sweep.data.readers import READERS
from zo_sweep.data.tasks import DataError, TaskSpec, load_task_spec, normalized_name
from zo_sweep.data_identity import DATA_KINDS

log = logging.getLogger(__name__)

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


def resolve_task_dir(task: str | Path, spec: TaskSpec | None = None) -> Path:
    """A task folder, given as a path (``Data/original/BoolQ`` finds ``Data/original/BOOLQ``)
    or as a bare task name that is not a folder ("copa": its example data)."""
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
    if spec is None:
        try:
            spec = load_task_spec(path.name)
        except DataError:
            raise DataError(f"task data folder '{task}' not found") from None
    return find_task_folder(path.parent, spec, asked=path)


def find_task_folder(root: str | Path, spec: TaskSpec, asked: Path | None = None) -> Path:
    """The folder of one task under a data root, whichever of the task's spellings it has."""
    root = Path(root).expanduser()
    asked = asked or root / spec.folder
    if asked.is_dir():
        return asked
    spellings = ", ".join(dict.fromkeys(spec.spellings))
    if not root.is_dir():
        raise DataError(f"data folder not found: {asked} ({root} is not a folder)")
    wanted = {normalized_name(spelling) for spelling in spec.spellings}
    found = sorted(p for p in root.iterdir() if p.is_dir() and normalized_name(p.name) in wanted)
    if not found:
        raise DataError(
            f"data folder not found: {asked} (no folder of task {spec.name} in {root}; "
            f"looked for {spellings}, ignoring case)"
        )
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise DataError(f"{root}: several folders of task {spec.name} ({names}); keep one")
    log.info("task %s: using the data folder %s", spec.name, found[0])
    return found[0]


def split_file(task_dir: Path, split: str, spec: TaskSpec) -> Path | None:
    """The file holding one split of a task folder, or None if there is none."""
    stems = set()
    for alias in SPLIT_ALIASES[split]:
        stems.add(alias)
        for prefix in file_prefixes(spec, task_dir):
            stems.add(f"{prefix}_{alias}".lower())
    matches = sorted(
        path
        for path in task_dir.iterdir()
        if path.is_file() and path.suffix.lower() in READERS and path.stem.lower() in stems
    )
    if len(matches) > 1:
        names = ", ".join(path.name for path in matches)
        raise DataError(f"{task_dir.name}/: more than one {split} file ({names}); keep one")
    return matches[0] if matches else None


def file_prefixes(spec: TaskSpec, task_dir: Path) -> list[str]:
    """The prefixes a split file may carry: ARC's own, then the task's names and folder name."""
    prefixes = [spec.file_prefix] if spec.file_prefix else []
    return list(dict.fromkeys([*prefixes, spec.name, *spec.spellings, task_dir.name]))


def expected_names(split: str, spec: TaskSpec) -> str:
    """How a split file may be named, for error messages."""
    stems = [f"{spec.file_prefix}_{split}"] if spec.file_prefix else []
    return " or ".join(f"{stem}.*" for stem in [*stems, split])
